package authserver

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// callbackHandler serves GET /api/ext/auth/callback, where WorkOS returns the browser.
func (s *Server) callbackHandler() http.Handler {
	return s.endpoint(PathCallback, web.Methods(http.HandlerFunc(s.callback), http.MethodGet))
}

func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" || len(q["state"]) > 1 || len(state) > 256 {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("the sign-in response has no valid state"))
		return
	}
	// The state is checked exactly and used once (MCP security best practices).
	pending, err := s.Store.ConsumeUpstreamState(ctx, oauth.HashSecret(state))
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("this sign-in has expired or was already completed"))
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	req := pending.Request
	obs.SetClientID(ctx, req.ClientID)
	// The browser that finishes sign-in must be the one that started it (login CSRF).
	cookie, cerr := r.Cookie(browserCookie)
	if cerr != nil || subtle.ConstantTimeCompare(oauth.HashSecret(cookie.Value), pending.BrowserHash) != 1 {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("this sign-in was started in another browser"))
		return
	}
	redirect := func(e *oauth.Error) {
		s.log().InfoContext(ctx, "authorization failed", "outcome", e.Code, "reason", e.Description)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, errorRedirect(req.RedirectURI, e, req.State, s.Config.Issuer), http.StatusFound)
	}
	if upstreamErr := q.Get("error"); upstreamErr != "" {
		if upstreamErr == "access_denied" {
			s.Metrics.Count(ctx, obs.AuthorizationsDenied, obs.Reason(obs.ReasonUpstreamDenied))
			redirect(oauth.ErrAccessDenied("sign-in was cancelled"))
		} else {
			s.log().WarnContext(ctx, "workos returned an error", "outcome", "upstream_error", "reason", upstreamErrorCode(upstreamErr))
			s.Metrics.Count(ctx, obs.WorkOSErrors)
			redirect(oauth.ErrServerError("sign-in failed at the identity provider"))
		}
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 512 {
		s.Metrics.Count(ctx, obs.WorkOSErrors)
		redirect(oauth.ErrServerError("the identity provider returned no code"))
		return
	}
	verifier, err := openVerifier(state, pending.SealedVerifier)
	if err != nil {
		redirect(oauth.ErrServerError("the sign-in could not be completed"))
		return
	}
	id, err := s.SignIn.Authenticate(ctx, code, verifier, web.ClientIP(r), r.UserAgent())
	if errors.Is(err, upstream.ErrRejected) {
		// err names WorkOS's status and error code only (upstream keeps WorkOS's text out).
		s.log().InfoContext(ctx, "workos refused the sign-in", "outcome", "upstream_rejected", "error", err.Error())
		s.Metrics.Count(ctx, obs.AuthorizationsDenied, obs.Reason(obs.ReasonUpstreamRejected))
		redirect(oauth.ErrAccessDenied("sign-in was not accepted"))
		return
	} else if err != nil {
		s.log().ErrorContext(ctx, "workos authenticate failed", "outcome", "upstream_error", "error", err.Error())
		s.Metrics.Count(ctx, obs.WorkOSErrors)
		redirect(oauth.ErrTemporarilyUnavailable("the identity provider is unavailable"))
		return
	}

	authCode := oauth.NewOpaque(oauth.PrefixCode)
	err = s.Store.PutCode(ctx, oauth.HashSecret(authCode), store.Code{
		Request: req,
		User: store.User{ID: id.UserID, Email: id.Email, FirstName: id.FirstName, LastName: id.LastName,
			OrganizationID: id.OrganizationID, SessionID: id.SessionID},
		FamilyID:  oauth.NewOpaque("abf_"),
		ExpiresAt: s.now().Add(s.Config.CodeTTL),
	})
	if err != nil {
		s.log().ErrorContext(ctx, "code could not be stored", "outcome", "temporarily_unavailable", "error", err.Error())
		redirect(oauth.ErrTemporarilyUnavailable("the sign-in could not be saved"))
		return
	}
	s.log().InfoContext(ctx, "authorization completed", "outcome", "code_issued")
	s.Metrics.Count(ctx, obs.AuthorizationsCompleted)
	w.Header().Set("Cache-Control", "no-store")
	// RFC 9207: iss in the authorization response.
	http.Redirect(w, r, clientRedirect(req.RedirectURI, url.Values{"code": {authCode}}, req.State, s.Config.Issuer), http.StatusFound)
}

// upstreamErrorCode is the error code WorkOS put in the callback URL, fit for a log line: the
// URL comes from the browser, so anything but a short error-code word is logged as "other".
func upstreamErrorCode(code string) string {
	if code == "" || len(code) > 64 {
		return "other"
	}
	for _, c := range code {
		if (c < 'a' || c > 'z') && c != '_' {
			return "other"
		}
	}
	return code
}
