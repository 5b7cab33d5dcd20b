package authserver

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/web"
)

// consentHandler serves POST /api/ext/auth/consent, the consent page's form. The request
// id and CSRF token in the form must match the pending request stored for this browser's
// cookie (MCP security best practices: CSRF protection on the consent page).
func (s *Server) consentHandler() http.Handler {
	return s.endpoint(PathConsent, web.Methods(http.HandlerFunc(s.consent), http.MethodPost))
}

func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, oerr := web.ParseForm(r)
	if oerr != nil {
		s.errorPage(w, r, http.StatusBadRequest, oerr)
		return
	}
	requestID, csrf, decision := form.Get("request_id"), form.Get("csrf_token"), form.Get("decision")
	if requestID == "" || csrf == "" || (decision != "approve" && decision != "deny") {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("the consent form is incomplete"))
		return
	}
	cookie, err := r.Cookie(browserCookie)
	if err != nil {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("this browser did not start the request (cookies must be enabled)"))
		return
	}
	browserHash := oauth.HashSecret(cookie.Value)

	pending, err := s.Store.GetConsentRequest(ctx, oauth.HashSecret(requestID))
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("this consent request has expired or was already answered"))
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	obs.SetClientID(ctx, pending.Request.ClientID)
	sameBrowser := subtle.ConstantTimeCompare(pending.BrowserHash, browserHash) == 1
	sameToken := subtle.ConstantTimeCompare(pending.CSRFHash, oauth.HashSecret(csrf)) == 1
	if !sameBrowser || !sameToken {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("the consent form did not come from this browser's request"))
		return
	}
	// Single use: a second submission of the same form finds nothing.
	if err := s.Store.DeleteConsentRequest(ctx, oauth.HashSecret(requestID)); errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("this consent request was already answered"))
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}

	req := pending.Request
	if decision == "deny" {
		s.log().InfoContext(ctx, "consent denied", "outcome", "access_denied")
		s.Metrics.Count(ctx, obs.AuthorizationsDenied, obs.Reason(obs.ReasonConsentDenied))
		denied := oauth.ErrAccessDenied("the person denied the request")
		// RFC 9700 §4.11.2: back to the client only at a redirect URI someone approved, or
		// (after sign-in) that the remembered consent was given for.
		if !pending.RedirectApproved && pending.SignedIn.ID == "" {
			web.RenderError(w, http.StatusForbidden, web.ErrorPage{
				Title: "Access denied", Message: "You denied the request. Nothing was shared with the application; you can close this window.",
				Code: denied.Code, ClientName: s.clientName(r, req.ClientID),
			})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, errorRedirect(req.RedirectURI, denied, req.State, s.Config.Issuer), http.StatusSeeOther)
		return
	}
	s.log().InfoContext(ctx, "consent approved", "outcome", "approved")
	if pending.SignedIn.ID != "" {
		// Asked after sign-in: the person is known, so the consent is recorded for them and
		// the code issued without a second round trip to WorkOS.
		if !s.rememberConsent(w, r, browserHash, req, pending.SignedIn.ID, pending.Remembered, pending.RedirectApproved) {
			return
		}
		// Their WorkOS refresh token was sealed under this request's id (askConsent).
		workosRefresh, _ := openUpstream(requestID, req.ClientID, pending.SealedUpstream)
		s.issueCode(w, r, req, pending.SignedIn, workosRefresh, http.StatusSeeOther)
		return
	}
	// Asked before sign-in: the consent is recorded at the callback, for whoever signs in.
	upstream := store.UpstreamState{Request: req, BrowserHash: browserHash, ConsentApproved: true,
		Remembered: pending.Remembered, RedirectApproved: pending.RedirectApproved}
	s.startUpstream(w, r, upstream, http.StatusSeeOther)
}

// rememberConsent records, once the person is known and has approved, that userID approved
// req's client, resource and scopes in this browser (adding to what they had approved
// before), so the next request within them skips the page (MCP authorization: consent per
// person, client, resource and scopes); and that a signed-in person approved this client
// with this redirect URI, so its later errors may be redirected there (RFC 9700 §4.11.2).
// It reports whether it could (else an error page was served).
func (s *Server) rememberConsent(w http.ResponseWriter, r *http.Request, browserHash []byte, req store.AuthRequest, userID string, before store.Consent, redirectApproved bool) bool {
	ctx := r.Context()
	scope := req.Scope
	if before.UserID == userID {
		scope = unionScope(before.Scope, req.Scope)
	}
	err := s.Store.PutConsent(ctx, browserHash, req.ClientID, req.Resource, store.Consent{
		UserID: userID, Scope: scope, GrantedAt: s.now(), ExpiresAt: s.now().Add(s.Config.ConsentTTL),
	})
	if err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	if redirectApproved {
		return true
	}
	if err := s.Store.ApproveRedirectURI(ctx, req.ClientID, approvedForm(req.RedirectURI)); errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("the application is no longer registered"))
		return false
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	return true
}

// clientName is the client's name for a page, or "" when it cannot be read.
func (s *Server) clientName(r *http.Request, clientID string) string {
	client, err := s.lookupClient(r.Context(), clientID, false)
	if err != nil {
		return ""
	}
	return client.Name
}
