package authserver

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// CallbackHandler serves GET /api/ext/auth/callback, where WorkOS returns the browser.
func (s *Server) CallbackHandler() http.Handler {
	return web.Methods(http.HandlerFunc(s.callback), http.MethodGet)
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
	// The browser that finishes sign-in must be the one that started it (login CSRF).
	cookie, cerr := r.Cookie(browserCookie)
	if cerr != nil || subtle.ConstantTimeCompare(oauth.HashSecret(cookie.Value), pending.BrowserHash) != 1 {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("this sign-in was started in another browser"))
		return
	}
	redirect := func(e *oauth.Error) {
		s.log().InfoContext(ctx, "authorization failed", "route", PathCallback, "client_id", req.ClientID, "outcome", e.Code)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, errorRedirect(req.RedirectURI, e, req.State, s.Config.Issuer), http.StatusFound)
	}
	if upstreamErr := q.Get("error"); upstreamErr != "" {
		if upstreamErr == "access_denied" {
			redirect(oauth.ErrAccessDenied("sign-in was cancelled"))
		} else {
			redirect(oauth.ErrServerError("sign-in failed at the identity provider"))
		}
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 512 {
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
		redirect(oauth.ErrAccessDenied("sign-in was not accepted"))
		return
	} else if err != nil {
		s.log().ErrorContext(ctx, "workos authenticate failed", "route", PathCallback, "client_id", req.ClientID, "outcome", "upstream_error", "error", err.Error())
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
		s.log().ErrorContext(ctx, "code could not be stored", "route", PathCallback, "client_id", req.ClientID, "outcome", "server_error", "error", err.Error())
		redirect(oauth.ErrTemporarilyUnavailable("the sign-in could not be saved"))
		return
	}
	s.log().InfoContext(ctx, "authorization completed", "route", PathCallback, "client_id", req.ClientID, "outcome", "code_issued")
	w.Header().Set("Cache-Control", "no-store")
	// RFC 9207: iss in the authorization response.
	http.Redirect(w, r, clientRedirect(req.RedirectURI, url.Values{"code": {authCode}}, req.State, s.Config.Issuer), http.StatusFound)
}
