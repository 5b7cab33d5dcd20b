package authserver

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// noBrowser stands for a request without the browser cookie: no state is bound to it (a
// SHA-256 of all zero bits is not expected to occur), so such a callback is refused like one
// from another browser, and an unknown state still gets its own answer.
var noBrowser = make([]byte, 32)

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
	// The browser that finishes sign-in must be the one that started it (login CSRF,
	// RFC 6749 §10.12), and a callback refused for that must not spend the state.
	browserHash := noBrowser
	if cookie, err := r.Cookie(browserCookie); err == nil && cookie.Value != "" {
		browserHash = oauth.HashSecret(cookie.Value)
	}
	// The state is checked exactly and used once (MCP security best practices); the
	// browser binding is part of the consuming write's condition.
	pending, err := s.Store.ConsumeUpstreamState(ctx, oauth.HashSecret(state), browserHash)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("this sign-in has expired or was already completed"))
		return
	} else if errors.Is(err, store.ErrOtherBrowser) {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("this sign-in was started in another browser"))
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	if pending.ForConnectedApps {
		id, e := s.upstreamIdentity(r, state, pending)
		if e != nil {
			status := http.StatusBadRequest
			if e.Code == "temporarily_unavailable" {
				status = http.StatusServiceUnavailable
			}
			web.RenderError(w, status, web.ErrorPage{Title: "Sign-in to connected apps failed", Message: e.Description, Code: e.Code})
			return
		}
		s.openConnectedApps(w, r, id)
		return
	}
	req := pending.Request
	obs.SetClientID(ctx, req.ClientID)
	id, e := s.upstreamIdentity(r, state, pending)
	if e != nil && e.Code == "temporarily_unavailable" {
		// WorkOS unreachable: the person may try again at once (the client still waits).
		s.retryPage(w, s.authorizationRetryURL(req))
		return
	} else if e != nil {
		s.log().InfoContext(ctx, "authorization failed", "outcome", e.Code, "reason", e.Description)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, errorRedirect(req.RedirectURI, e, req.State, s.Config.Issuer), http.StatusFound)
		return
	}

	user := store.User{ID: id.UserID, Email: id.Email, FirstName: id.FirstName, LastName: id.LastName,
		OrganizationID: id.OrganizationID, SessionID: id.SessionID}

	switch {
	case pending.ConsentApproved:
		// The person approved this request in this browser just before signing in: the
		// consent is now known to be theirs (MCP authorization: consent per person).
		if !s.rememberConsent(w, r, browserHash, req, user.ID, pending.Remembered, pending.RedirectApproved) {
			return
		}
	case pending.Remembered.UserID != "" && pending.Remembered.UserID == user.ID:
		// The consent page was skipped for a consent this very person gave; unless they
		// revoked the app on the connected-apps page since, which asks them again.
		revokedAt, err := s.Store.AppRevokedAt(ctx, user.ID, req.ClientID)
		if err != nil {
			s.unavailablePage(w, r, err)
			return
		}
		if !revokedAt.IsZero() && !pending.Remembered.GrantedAt.After(revokedAt) {
			s.askConsentAfterSignIn(w, r, browserHash, req, user, id.RefreshToken)
			return
		}
	default:
		// Another person than the one who consented in this browser: no code without their
		// own consent, asked here now that they are known (MCP authorization).
		s.askConsentAfterSignIn(w, r, browserHash, req, user, id.RefreshToken)
		return
	}
	s.issueCode(w, r, req, user, id.RefreshToken, http.StatusFound)
}

// upstreamIdentity completes the WorkOS sign-in whose state the callback consumed: the
// person's identity, or the OAuth error to answer with (logged and counted here).
func (s *Server) upstreamIdentity(r *http.Request, state string, pending store.UpstreamState) (upstream.Identity, *oauth.Error) {
	ctx := r.Context()
	q := r.URL.Query()
	if upstreamErr := q.Get("error"); upstreamErr != "" {
		if upstreamErr == "access_denied" {
			s.Metrics.Count(ctx, obs.AuthorizationsDenied, obs.Reason(obs.ReasonUpstreamDenied))
			return upstream.Identity{}, oauth.ErrAccessDenied("sign-in was cancelled")
		}
		s.log().WarnContext(ctx, "workos returned an error", "outcome", "upstream_error", "reason", upstreamErrorCode(upstreamErr))
		s.Metrics.Count(ctx, obs.WorkOSErrors)
		return upstream.Identity{}, oauth.ErrServerError("sign-in failed at the identity provider")
	}
	code := q.Get("code")
	if code == "" || len(code) > 512 {
		s.Metrics.Count(ctx, obs.WorkOSErrors)
		return upstream.Identity{}, oauth.ErrServerError("the identity provider returned no code")
	}
	verifier, err := openVerifier(state, pending.SealedVerifier)
	if err != nil {
		return upstream.Identity{}, oauth.ErrServerError("the sign-in could not be completed")
	}
	id, err := s.SignIn.Authenticate(ctx, code, verifier, web.ClientIP(r), r.UserAgent())
	if errors.Is(err, upstream.ErrRejected) {
		// err names WorkOS's status and error code only (upstream keeps WorkOS's text out).
		s.log().InfoContext(ctx, "workos refused the sign-in", "outcome", "upstream_rejected", "error", err.Error())
		s.Metrics.Count(ctx, obs.AuthorizationsDenied, obs.Reason(obs.ReasonUpstreamRejected))
		return upstream.Identity{}, oauth.ErrAccessDenied("sign-in was not accepted")
	} else if err != nil {
		s.log().ErrorContext(ctx, "workos authenticate failed", "outcome", "upstream_error", "error", err.Error())
		s.Metrics.Count(ctx, obs.WorkOSErrors)
		return upstream.Identity{}, oauth.ErrTemporarilyUnavailable("the identity provider is unavailable")
	}
	return id, nil
}

// askConsentAfterSignIn shows the consent page to a signed-in person whose consent is not
// on record; approving it issues the code (consent endpoint).
func (s *Server) askConsentAfterSignIn(w http.ResponseWriter, r *http.Request, browserHash []byte, req store.AuthRequest, user store.User, workosRefresh string) {
	client, err := s.lookupClient(r.Context(), req.ClientID, false)
	var unknown *unknownClientError
	var unreachable *documentUnreachable
	if errors.As(err, &unknown) || errors.As(err, &unreachable) {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("the application is no longer registered: "+err.Error()))
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	// The redirect URI was approved: the consent page is skipped only for approved ones.
	consent := store.ConsentRequest{Request: req, BrowserHash: browserHash, RedirectApproved: true, SignedIn: user}
	if s.askConsent(w, r, client, consent, workosRefresh) {
		s.log().InfoContext(r.Context(), "consent requested after sign-in", "outcome", "consent_page")
	}
}

// issueCode stores an authorization code for the signed-in person and sends the browser
// back to the client with it (RFC 6749 §4.1.2, RFC 9207 iss). The person's WorkOS refresh
// token goes on the code sealed under the code itself, the family id bound
// (docs/decisions.md "Refresh follows the WorkOS session").
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req store.AuthRequest, user store.User, workosRefresh string, status int) {
	ctx := r.Context()
	authCode, familyID := oauth.NewOpaque(oauth.PrefixCode), oauth.NewOpaque("abf_")
	err := s.Store.PutCode(ctx, oauth.HashSecret(authCode), store.Code{
		Request:        req,
		User:           user,
		FamilyID:       familyID,
		ExpiresAt:      s.now().Add(s.Config.CodeTTL),
		SealedUpstream: sealUpstream(authCode, familyID, workosRefresh),
	})
	if err != nil {
		// Nothing was issued; the person may try again at once (the client still waits).
		s.log().ErrorContext(ctx, "code could not be stored", "outcome", "temporarily_unavailable", "error", err.Error())
		s.retryPage(w, s.authorizationRetryURL(req))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.log().InfoContext(ctx, "authorization completed", "outcome", "code_issued")
	s.Metrics.Count(ctx, obs.AuthorizationsCompleted)
	http.Redirect(w, r, clientRedirect(req.RedirectURI, url.Values{"code": {authCode}}, req.State, s.Config.Issuer), status)
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
