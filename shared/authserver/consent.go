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
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, errorRedirect(req.RedirectURI, oauth.ErrAccessDenied("the person denied the request"), req.State, s.Config.Issuer), http.StatusSeeOther)
		return
	}
	if err := s.Store.PutConsent(ctx, browserHash, req.ClientID, s.now().Add(s.Config.ConsentTTL)); err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	s.log().InfoContext(ctx, "consent approved", "outcome", "approved")
	s.startUpstream(w, r, req, browserHash, http.StatusSeeOther)
}
