package authserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/web"
)

// pendingTTL bounds a consent request and the upstream state (MCP security best practices:
// about 10 minutes).
const pendingTTL = 10 * time.Minute

// authorizeHandler serves GET /api/ext/auth/authorize (RFC 6749 §4.1.1, OAuth 2.1 §4.1).
func (s *Server) authorizeHandler() http.Handler {
	return s.endpoint(PathAuthorize, web.Methods(http.HandlerFunc(s.authorize), http.MethodGet))
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, oerr, show := oauth.ParseAuthorizeQuery(r.URL.Query())
	if oerr != nil && show {
		s.errorPage(w, r, http.StatusBadRequest, oerr)
		return
	}
	if req.ClientID == "" {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("client_id is required"))
		return
	}
	client, err := s.Store.GetClient(ctx, req.ClientID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) { // ErrInvalid: an id no client can have
		// Never redirect for an unknown client (RFC 6749 §4.1.2.1).
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("unknown client_id"))
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	obs.SetClientID(ctx, client.ID)
	registered := oauth.RegisteredClient{ID: client.ID, RedirectURIs: client.RedirectURIs, GrantTypes: client.GrantTypes, Scope: client.Scope}
	redirectURI, oerr2 := oauth.RedirectTarget(req, registered)
	if oerr2 != nil {
		// Never redirect to an unvalidated redirect_uri (OAuth 2.1 §4.1.2.1).
		s.errorPage(w, r, http.StatusBadRequest, oerr2)
		return
	}
	if oerr != nil { // a repeated parameter other than client_id / redirect_uri
		http.Redirect(w, r, errorRedirect(redirectURI, oerr, req.State, s.Config.Issuer), http.StatusFound)
		return
	}
	valid, oerr := s.Config.Policy().Validate(req, registered, redirectURI)
	if oerr != nil {
		s.log().InfoContext(ctx, "authorization refused", "outcome", oerr.Code, "reason", oerr.Description)
		http.Redirect(w, r, errorRedirect(redirectURI, oerr, req.State, s.Config.Issuer), http.StatusFound)
		return
	}
	pending := store.AuthRequest{
		ClientID: valid.ClientID, RedirectURI: valid.RedirectURI, CodeChallenge: valid.CodeChallenge,
		Scope: valid.Scope.String(), Resource: valid.Resource, State: valid.State,
	}

	browser, fresh := browserID(r)
	browserHash := oauth.HashSecret(browser)
	if !fresh {
		approved, err := s.Store.HasConsent(ctx, browserHash, client.ID)
		if err != nil {
			s.unavailablePage(w, r, err)
			return
		}
		if approved {
			if s.startUpstream(w, r, pending, browserHash, http.StatusFound) {
				s.Metrics.Count(ctx, obs.AuthorizationsStarted)
			}
			return
		}
	}

	// MCP authorization (confused deputy): ask the person before forwarding to WorkOS.
	requestID, csrf := oauth.NewOpaque("abr_"), oauth.NewOpaque("abx_")
	err = s.Store.PutConsentRequest(ctx, oauth.HashSecret(requestID), store.ConsentRequest{
		Request: pending, CSRFHash: oauth.HashSecret(csrf), BrowserHash: browserHash, ExpiresAt: s.now().Add(pendingTTL),
	})
	if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	setBrowserCookie(w, browser, s.Config.ConsentTTL)
	page := web.ConsentPage{
		ClientName:    client.Name,
		ClientID:      client.ID,
		RedirectHost:  redirectHost(redirectURI),
		LoopbackOnly:  allLoopback(client.RedirectURIs),
		Resource:      valid.Resource,
		FormAction:    s.Config.Endpoint(PathConsent),
		RequestID:     requestID,
		CSRFToken:     csrf,
		UnverifiedApp: true,
	}
	for _, sc := range valid.Scope {
		page.Scopes = append(page.Scopes, web.ScopeLine{Name: sc, Description: describeScope(sc)})
	}
	s.log().InfoContext(ctx, "consent requested", "outcome", "consent_page")
	s.Metrics.Count(ctx, obs.AuthorizationsStarted)
	web.RenderConsent(w, page)
}

// startUpstream sends the browser to WorkOS with a fresh state (≥ 128 random bits, bound to
// this request server-side, single use, 10 minutes) and PKCE toward WorkOS. It reports
// whether the browser was sent (else an error page was served).
func (s *Server) startUpstream(w http.ResponseWriter, r *http.Request, req store.AuthRequest, browserHash []byte, status int) bool {
	ctx := r.Context()
	state := oauth.NewOpaque("abs_")
	verifier := oauth.NewOpaque("")
	target, err := s.SignIn.AuthorizationURL(state, oauth.S256Challenge(verifier))
	if err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	err = s.Store.PutUpstreamState(ctx, oauth.HashSecret(state), store.UpstreamState{
		Request: req, SealedVerifier: sealVerifier(state, verifier), BrowserHash: browserHash, ExpiresAt: s.now().Add(pendingTTL),
	})
	if err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	s.log().InfoContext(ctx, "sign-in started", "outcome", "upstream_redirect")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, status)
	return true
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, e *oauth.Error) {
	s.log().InfoContext(r.Context(), "request refused", "outcome", e.Code, "reason", e.Description)
	web.RenderError(w, status, web.ErrorPage{Title: "This sign-in request can't continue", Message: e.Description, Code: e.Code})
}

func (s *Server) unavailablePage(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.log().WarnContext(r.Context(), "request timed out", "outcome", "temporarily_unavailable")
	} else {
		s.log().ErrorContext(r.Context(), "dependency failed", "outcome", "temporarily_unavailable", "error", err.Error())
	}
	web.RenderError(w, http.StatusServiceUnavailable, web.ErrorPage{
		Title: "Sign-in is temporarily unavailable", Message: "Please try again in a moment.", Code: "temporarily_unavailable",
	})
}

func redirectHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.Host != "" {
		return u.Host
	}
	return u.Scheme + ":" // private-use scheme without authority
}

func allLoopback(uris []string) bool {
	for _, raw := range uris {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || !oauth.IsLoopbackHost(u.Hostname()) {
			return false
		}
	}
	return len(uris) > 0
}
