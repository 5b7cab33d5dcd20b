package authserver

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// tokenResponse is RFC 6749 §5.1's successful response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// tokenHandler serves POST /api/ext/auth/token (RFC 6749 §3.2, OAuth 2.1 §3.2).
func (s *Server) tokenHandler() http.Handler {
	return s.endpoint(PathToken, web.CORS(web.Methods(http.HandlerFunc(s.token), http.MethodPost)))
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, oerr := web.ParseForm(r)
	if oerr != nil {
		s.tokenError(w, r, "", oerr)
		return
	}
	grant := form.Get("grant_type")
	redeem, served := tokenGrants[grant]
	if grant == "" {
		s.tokenError(w, r, "", oauth.ErrInvalidRequest("grant_type is required"))
		return
	}
	if !served || !oauth.IsSupportedGrant(grant) { // RFC 6749 §5.2 unsupported_grant_type
		s.tokenError(w, r, "", oauth.ErrUnsupportedGrantType("grant_type must be %s", strings.Join(oauth.SupportedGrants(), " or ")))
		return
	}
	// The client and the code or refresh token presented are read together (one
	// BatchGetItem), then checked in the order of the RFC: the client first.
	var codeHash, refreshHash []byte
	switch grant {
	case oauth.GrantAuthorizationCode:
		if code := form.Get("code"); wellFormed(code, oauth.PrefixCode) {
			codeHash = oauth.HashSecret(code)
		}
	case oauth.GrantRefreshToken:
		if token := form.Get("refresh_token"); wellFormed(token, oauth.PrefixRefreshToken) {
			refreshHash = oauth.HashSecret(token)
		}
	}
	client, read, oerr := s.authenticateClientWith(ctx, r, form, codeHash, refreshHash)
	if oerr != nil {
		s.tokenError(w, r, claimedClientID(r, form), oerr)
		return
	}
	obs.SetClientID(ctx, client.ID)
	if !slices.Contains(client.GrantTypes, grant) {
		s.tokenError(w, r, client.ID, oauth.ErrUnauthorizedClient("client is not registered for the %s grant", grant))
		return
	}
	resp, oerr := redeem(s, ctx, client, form, read)
	if oerr != nil {
		s.tokenError(w, r, client.ID, oerr)
		return
	}
	s.log().InfoContext(ctx, "token issued", "outcome", "issued", "grant_type", grant)
	s.Metrics.Count(ctx, obs.TokensIssued, obs.Grant(grant))
	web.NoStore(w) // RFC 6749 §5.1
	web.JSON(w, http.StatusOK, resp)
}

// grantHandler redeems one grant type for a client that authenticated and registered that
// grant; read holds the code or refresh token read with the client.
type grantHandler func(s *Server, ctx context.Context, client store.Client, form url.Values, read store.TokenRead) (tokenResponse, *oauth.Error)

// wellFormed reports whether a presented code or refresh token can be one Authbridge issued
// (its prefix, at most 128 characters): only those are looked up.
func wellFormed(secret, prefix string) bool {
	return strings.HasPrefix(secret, prefix) && len(secret) <= 128
}

// tokenGrants is the token endpoint's dispatch: the handler of each grant type in
// oauth.SupportedGrants, the list registration and metadata follow (a test keeps the two
// in step). A grant type is added to that list and here, with its handler.
var tokenGrants = map[string]grantHandler{
	oauth.GrantAuthorizationCode: (*Server).exchangeCode,
	oauth.GrantRefreshToken:      (*Server).refresh,
}

func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, clientID string, e *oauth.Error) {
	level := s.log().InfoContext
	if e.Status >= 500 {
		level = s.log().ErrorContext
	}
	level(r.Context(), "token request refused", "client_id", clientID, "outcome", e.Code, "reason", e.Description)
	web.OAuthError(w, e) // a 503 carries Retry-After
}

// authenticateClientWith identifies the client by the method it registered (RFC 6749 §2.3,
// RFC 7591 §2 token_endpoint_auth_method; secrets compared in constant time) and reads, in
// the same request to DynamoDB, the code or refresh token whose hash is given (nil: none;
// then it is one GetItem).
func (s *Server) authenticateClientWith(ctx context.Context, r *http.Request, form url.Values, codeHash, refreshHash []byte) (store.Client, store.TokenRead, *oauth.Error) {
	creds, oerr := oauth.ParseClientCredentials(r.Header.Get("Authorization"), form)
	if oerr != nil {
		return store.Client{}, store.TokenRead{}, oerr
	}
	if store.IsDocumentClientID(creds.ClientID) {
		return s.authenticateDocumentClient(ctx, creds, codeHash, refreshHash)
	}
	var read store.TokenRead
	var err error
	if codeHash == nil && refreshHash == nil {
		read.Client, read.ClientErr = s.Store.GetClient(ctx, creds.ClientID)
		if !errors.Is(read.ClientErr, store.ErrNotFound) && !errors.Is(read.ClientErr, store.ErrInvalid) {
			err, read.ClientErr = read.ClientErr, nil
		}
	} else {
		read, err = s.Store.ReadForToken(ctx, creds.ClientID, codeHash, refreshHash)
	}
	if err != nil {
		return store.Client{}, store.TokenRead{}, s.unavailable(ctx, err)
	}
	if read.ClientErr != nil { // ErrNotFound, or ErrInvalid: an id no client can have
		return store.Client{}, store.TokenRead{}, oauth.ErrInvalidClient("unknown client")
	}
	if oerr := oauth.Authenticate(creds, read.Client.TokenEndpointAuthMethod, read.Client.SecretHash); oerr != nil {
		return store.Client{}, store.TokenRead{}, oerr
	}
	return read.Client, read, nil
}

// authenticateDocumentClient is authenticateClientWith for a client identified by a Client
// ID Metadata Document (MCP authorization 2026-07-28): the document, fetched or cached, says
// what the client may do; the code or refresh token is read alone (the client has no item).
func (s *Server) authenticateDocumentClient(ctx context.Context, creds oauth.ClientCredentials, codeHash, refreshHash []byte) (store.Client, store.TokenRead, *oauth.Error) {
	found, err := s.lookupClient(ctx, creds.ClientID, false)
	var unknown *unknownClientError
	var unreachable *documentUnreachable
	switch {
	case errors.As(err, &unknown):
		return store.Client{}, store.TokenRead{}, oauth.ErrInvalidClient(unknown.reason)
	case errors.As(err, &unreachable):
		// The client's host is down, not the client refused: it may retry (RFC 6749 §5.2
		// has no code for this; MCP clients retry temporarily_unavailable).
		return store.Client{}, store.TokenRead{}, s.unavailable(ctx, err)
	case err != nil:
		return store.Client{}, store.TokenRead{}, s.unavailable(ctx, err)
	}
	if oerr := oauth.Authenticate(creds, found.TokenEndpointAuthMethod, nil); oerr != nil {
		return store.Client{}, store.TokenRead{}, oerr
	}
	var read store.TokenRead
	if codeHash != nil || refreshHash != nil {
		// "" reads no client item (ReadForToken reports it invalid in ClientErr, cleared below).
		read, err = s.Store.ReadForToken(ctx, "", codeHash, refreshHash)
		if err != nil {
			return store.Client{}, store.TokenRead{}, s.unavailable(ctx, err)
		}
	}
	read.Client, read.ClientErr = found.Client, nil
	return found.Client, read, nil
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).
// Every binding is checked before the code is marked used, so a rejected request writes
// nothing; a replayed code revokes what it issued (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
func (s *Server) exchangeCode(ctx context.Context, client store.Client, form url.Values, read store.TokenRead) (tokenResponse, *oauth.Error) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		return tokenResponse{}, oauth.ErrInvalidRequest("code is required")
	case verifier == "":
		return tokenResponse{}, oauth.ErrInvalidRequest("code_verifier is required (PKCE)")
	case !oauth.ValidCodeVerifier(verifier):
		return tokenResponse{}, oauth.ErrInvalidRequest("code_verifier must be 43-128 characters of A-Z, a-z, 0-9 and -._~ (RFC 7636 section 4.1)")
	case !wellFormed(code, oauth.PrefixCode):
		return tokenResponse{}, oauth.ErrInvalidGrant("code is invalid")
	}
	codeHash := oauth.HashSecret(code)
	stored, err := read.Code, read.CodeErr // read with the client
	if !read.CodeRead {
		stored, err = s.Store.GetCode(ctx, codeHash)
	}
	if errors.Is(err, store.ErrNotFound) {
		return tokenResponse{}, oauth.ErrInvalidGrant("code is invalid or expired")
	} else if err != nil {
		return tokenResponse{}, s.unavailable(ctx, err)
	}
	req := stored.Request
	if !stored.UsedAt.IsZero() {
		s.revokeReplayed(ctx, oauth.GrantAuthorizationCode, stored.FamilyID)
		return tokenResponse{}, oauth.ErrInvalidGrant("code was already used")
	}
	if subtle.ConstantTimeCompare([]byte(req.ClientID), []byte(client.ID)) != 1 {
		return tokenResponse{}, oauth.ErrInvalidGrant("code was issued to another client")
	}
	if redirectURI != req.RedirectURI { // RFC 6749 §4.1.3: identical to the authorization request's
		return tokenResponse{}, oauth.ErrInvalidGrant("redirect_uri does not match the authorization request")
	}
	if !oauth.VerifyS256(verifier, req.CodeChallenge) { // RFC 7636 §4.6
		return tokenResponse{}, oauth.ErrInvalidGrant("code_verifier does not match the code_challenge")
	}
	if res := form.Get("resource"); res != "" { // RFC 8707 §2.2: the same resource
		if canon, ok := oauth.CanonicalResource(res); !ok || canon != req.Resource {
			return tokenResponse{}, oauth.ErrInvalidTarget("resource does not match the authorization request")
		}
	}
	// The person's WorkOS refresh token, sealed under the code at the callback, goes on to the
	// family sealed under its first refresh token (docs/decisions.md "Refresh follows the
	// WorkOS session"). A code stored before WorkOS tokens were kept has none.
	workosRefresh, opened := openUpstream(code, stored.FamilyID, stored.SealedUpstream)
	if len(stored.SealedUpstream) > 0 && !opened {
		return tokenResponse{}, oauth.ErrInvalidGrant("code is invalid")
	}

	// The access token is signed before anything is written: when KMS fails, the code stays
	// unused and the client can retry it. The code is then spent and the grant written in one
	// transaction, so neither happens without the other (nothing half-written).
	access, expiresIn, oerr := s.mint(ctx, client.ID, req.Scope, req.Resource, stored.FamilyID, stored.User)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: expiresIn, Scope: req.Scope}
	// A client's first token keeps its registration (RFC 7591 leaves lifetime to the server:
	// an unused one expires): marked in the same transaction.
	firstUseOf := ""
	if !client.ExpiresAt.IsZero() {
		firstUseOf = client.ID
	}
	if slices.Contains(client.GrantTypes, oauth.GrantRefreshToken) {
		now := s.now()
		refresh := oauth.NewOpaque(oauth.PrefixRefreshToken)
		family := store.Family{ID: stored.FamilyID, ClientID: client.ID, ExpiresAt: now.Add(s.Config.RefreshTokenTTL)}
		rt := store.RefreshToken{FamilyID: family.ID, ClientID: client.ID, Scope: req.Scope, Resource: req.Resource,
			User: stored.User, IssuedAt: now, ExpiresAt: family.ExpiresAt, SealedUpstream: sealUpstream(refresh, family.ID, workosRefresh)}
		_, err = s.Store.RedeemCodeIssuingFamily(ctx, codeHash, family, oauth.HashSecret(refresh), rt, firstUseOf)
		resp.RefreshToken = refresh
	} else if firstUseOf != "" {
		_, err = s.Store.RedeemCodeFirstUse(ctx, codeHash, firstUseOf)
	} else {
		_, err = s.Store.RedeemCode(ctx, codeHash)
	}
	switch {
	case errors.Is(err, store.ErrConsumed):
		s.revokeReplayed(ctx, oauth.GrantAuthorizationCode, stored.FamilyID)
		return tokenResponse{}, oauth.ErrInvalidGrant("code was already used")
	case errors.Is(err, store.ErrNotFound):
		return tokenResponse{}, oauth.ErrInvalidGrant("code is invalid or expired")
	case errors.Is(err, store.ErrExists):
		// A replay of this code revoked the family while this exchange was in flight.
		return tokenResponse{}, oauth.ErrInvalidGrant("code was already used")
	case errors.Is(err, store.ErrClientGone):
		return tokenResponse{}, oauth.ErrInvalidClient("unknown client")
	case err != nil:
		return tokenResponse{}, s.unavailable(ctx, err)
	}
	return resp, nil
}

// refresh rotates a refresh token (OAuth 2.1 §4.3.1: public clients' refresh tokens MUST
// rotate). Presenting a token that was already rotated, outside a short grace window for
// retries, revokes its whole family (OAuth 2.0 Security BCP §4.14.2). Within the window the
// same client gets the token's successor again (refreshSuccessor), so a client racing itself
// (parallel refreshes, a retry after a lost response) keeps one valid grant.
func (s *Server) refresh(ctx context.Context, client store.Client, form url.Values, read store.TokenRead) (tokenResponse, *oauth.Error) {
	presented := form.Get("refresh_token")
	if presented == "" {
		return tokenResponse{}, oauth.ErrInvalidRequest("refresh_token is required")
	}
	if !wellFormed(presented, oauth.PrefixRefreshToken) {
		return tokenResponse{}, oauth.ErrInvalidGrant("refresh token is invalid")
	}
	oldHash := oauth.HashSecret(presented)
	rt, err := read.Refresh, read.RefreshErr // read with the client
	if !read.RefreshRead {
		rt, err = s.Store.GetRefreshToken(ctx, oldHash)
	}
	if errors.Is(err, store.ErrNotFound) {
		return tokenResponse{}, oauth.ErrInvalidGrant("refresh token is invalid or expired")
	} else if err != nil {
		return tokenResponse{}, s.unavailable(ctx, err)
	}
	if subtle.ConstantTimeCompare([]byte(rt.ClientID), []byte(client.ID)) != 1 { // RFC 6749 §6
		return tokenResponse{}, oauth.ErrInvalidGrant("refresh token was issued to another client")
	}
	if !rt.RotatedAt.IsZero() && !s.withinReuseGrace(rt) {
		s.revokeReplayed(ctx, oauth.GrantRefreshToken, rt.FamilyID)
		return tokenResponse{}, oauth.ErrInvalidGrant("refresh token was already used")
	}
	// RFC 6749 §6: the scope may narrow, never widen.
	granted, _ := oauth.ParseScope(rt.Scope)
	scope := granted
	if raw := form.Get("scope"); raw != "" {
		requested, ok := oauth.ParseScope(raw)
		if !ok || !requested.SubsetOf(granted) {
			return tokenResponse{}, oauth.ErrInvalidScope("scope may not exceed the original grant")
		}
		scope = requested
	}
	if res := form.Get("resource"); res != "" { // RFC 8707 §2.2: the resource stays the same
		if canon, ok := oauth.CanonicalResource(res); !ok || canon != rt.Resource {
			return tokenResponse{}, oauth.ErrInvalidTarget("resource does not match the grant")
		}
	}
	if !rt.RotatedAt.IsZero() {
		// A repeated use within the grace window: the successor again, nothing written.
		next, oerr := s.refreshSuccessor(ctx, presented, rt)
		if oerr != nil {
			return tokenResponse{}, oerr
		}
		s.log().InfoContext(ctx, "rotated refresh token used again within the grace window: its successor returned", "outcome", "reused_within_grace")
		return s.refreshResponse(ctx, client, rt, scope, next)
	}

	// The grant lives only as long as the person's WorkOS session: one WorkOS refresh, whose
	// rotated token travels on with the successor (docs/decisions.md "Refresh follows the
	// WorkOS session"). A family issued before WorkOS tokens were kept has none: not asked.
	user, workosNext := rt.User, ""
	if len(rt.SealedUpstream) > 0 {
		var raced *tokenResponse
		var ferr *oauth.Error
		user, workosNext, raced, ferr = s.followSession(ctx, client, presented, oldHash, rt, scope)
		if ferr != nil {
			return tokenResponse{}, ferr
		}
		if raced != nil {
			return *raced, nil
		}
	}

	access, expiresIn, oerr := s.mint(ctx, client.ID, scope.String(), rt.Resource, rt.FamilyID, user)
	if oerr != nil {
		s.keepUpstream(ctx, oldHash, presented, rt.FamilyID, workosNext)
		return tokenResponse{}, oerr
	}
	next := oauth.NewOpaque(oauth.PrefixRefreshToken)
	// RFC 6749 §6: "the refresh token scope MUST be identical to that of the refresh token
	// included by the client in the request": only the access token is narrowed.
	nextRT := rt
	nextRT.IssuedAt, nextRT.RotatedAt, nextRT.SealedSuccessor = s.now(), time.Time{}, nil
	nextRT.SealedForPredecessor = sealSuccessor(presented, rt.FamilyID, next)
	nextRT.User, nextRT.SealedUpstream = user, sealUpstream(next, rt.FamilyID, workosNext)
	for attempt := 0; ; attempt++ {
		rotateErr := s.Store.RotateRefreshToken(ctx, oldHash, oauth.HashSecret(next), nextRT)
		switch {
		case rotateErr == nil:
			return tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: expiresIn, RefreshToken: next, Scope: scope.String()}, nil
		case errors.Is(rotateErr, store.ErrRevoked):
			return tokenResponse{}, oauth.ErrInvalidGrant("refresh token was revoked")
		case errors.Is(rotateErr, store.ErrNotFound):
			return tokenResponse{}, oauth.ErrInvalidGrant("refresh token is invalid or expired")
		case !errors.Is(rotateErr, store.ErrConsumed) && !errors.Is(rotateErr, store.ErrContended):
			s.keepUpstream(ctx, oldHash, presented, rt.FamilyID, workosNext)
			return tokenResponse{}, s.unavailable(ctx, rotateErr)
		}
		// Lost a race with another use of the same token (ErrConsumed), or a concurrent
		// transaction kept this one from committing (ErrContended): read the token again.
		// Rotated by the other request: its successor is this request's answer too, within
		// the grace window (the race is that window's reason); never a revocation here.
		again, err := s.Store.GetRefreshToken(ctx, oldHash)
		if errors.Is(err, store.ErrNotFound) {
			return tokenResponse{}, oauth.ErrInvalidGrant("refresh token is invalid or expired")
		} else if err != nil {
			return tokenResponse{}, s.unavailable(ctx, err)
		}
		if !again.RotatedAt.IsZero() {
			if !s.withinReuseGrace(again) { // REFRESH_REUSE_GRACE=0: no grace, even for a race
				s.revokeReplayed(ctx, oauth.GrantRefreshToken, rt.FamilyID)
				return tokenResponse{}, oauth.ErrInvalidGrant("refresh token was already used")
			}
			winner, oerr := s.refreshSuccessor(ctx, presented, again)
			if oerr != nil {
				return tokenResponse{}, oerr
			}
			return tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: expiresIn, RefreshToken: winner, Scope: scope.String()}, nil
		}
		if attempt == maxRotationAttempts-1 {
			return tokenResponse{}, s.unavailable(ctx, rotateErr)
		}
	}
}

// followSession refreshes the person's WorkOS session with the WorkOS refresh token sealed
// on rt (opened with presented) and returns the person as WorkOS now sees them and WorkOS's
// new refresh token. WorkOS refusing (the session ended, the user or the membership removed)
// revokes the family: invalid_grant. WorkOS unreachable: temporarily_unavailable, nothing
// written, and the same refresh token works once WorkOS answers again. A refusal caused by
// a concurrent refresh of the same token, which spent the WorkOS token first, is answered
// with that refresh's successor (raced) within the grace window, as in refresh.
func (s *Server) followSession(ctx context.Context, client store.Client, presented string, oldHash []byte, rt store.RefreshToken, scope oauth.Scope) (user store.User, workosNext string, raced *tokenResponse, oerr *oauth.Error) {
	workosRefresh, ok := openUpstream(presented, rt.FamilyID, rt.SealedUpstream)
	if !ok {
		s.endFamily(ctx, rt.FamilyID, "upstream_unreadable", "the WorkOS refresh token of the grant could not be opened")
		return user, "", nil, oauth.ErrInvalidGrant("the sign-in behind this refresh token could not be verified: sign in again")
	}
	id, err := s.SignIn.Refresh(ctx, workosRefresh, rt.User.OrganizationID)
	switch {
	case errors.Is(err, upstream.ErrSessionEnded):
		// A grant already revoked (a webhook, the operator, the client) needs no wait for a
		// concurrent rotation: refused at once. One read, on the refusal path only.
		if revoked, rerr := s.Store.FamilyRevoked(ctx, rt.FamilyID); rerr == nil && revoked {
			return user, "", nil, oauth.ErrInvalidGrant("refresh token was revoked")
		}
		if resp, handled, oerr := s.concurrentRotation(ctx, client, presented, oldHash, scope); handled {
			return user, "", resp, oerr
		}
		// err names WorkOS's status and error code only (upstream keeps WorkOS's text out).
		s.endFamily(ctx, rt.FamilyID, "upstream_session_ended", err.Error())
		return user, "", nil, oauth.ErrInvalidGrant("the WorkOS session behind this grant has ended (signed out, revoked, or the user or membership removed): sign in again")
	case err != nil:
		s.log().ErrorContext(ctx, "workos refresh failed", "outcome", "upstream_error", "error", err.Error())
		s.Metrics.Count(ctx, obs.WorkOSErrors)
		return user, "", nil, oauth.ErrTemporarilyUnavailable("the identity provider is unavailable, try again")
	case id.UserID != rt.User.ID:
		s.endFamily(ctx, rt.FamilyID, "upstream_other_user", "WorkOS answered for another user")
		return user, "", nil, oauth.ErrInvalidGrant("the WorkOS session behind this grant belongs to someone else: sign in again")
	}
	user = rt.User
	user.OrganizationID = id.OrganizationID // WorkOS's answer: the session's organization now
	if id.SessionID != "" {
		user.SessionID = id.SessionID
	}
	return user, id.RefreshToken, nil, nil
}

// keepUpstream saves WorkOS's rotated refresh token on the presented refresh token when the
// refresh could not finish after WorkOS answered (KMS or DynamoDB failed): WorkOS has spent
// the token the grant held, so without this the client's retry would find the WorkOS session
// "ended" and lose the grant. Best effort, on its own short deadline (the request's may have
// run out); a failure is logged: the grant then ends at its next refresh.
func (s *Server) keepUpstream(ctx context.Context, oldHash []byte, presented, familyID, workosNext string) {
	if workosNext == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keepUpstreamTimeout)
	defer cancel()
	switch err := s.Store.KeepUpstream(ctx, oldHash, sealUpstream(presented, familyID, workosNext)); {
	case err == nil:
		s.log().InfoContext(ctx, "refresh failed after WorkOS rotated its token: the new WorkOS token kept for the retry", "outcome", "upstream_kept")
	case errors.Is(err, store.ErrConsumed), errors.Is(err, store.ErrNotFound):
	default:
		s.log().ErrorContext(ctx, "refresh failed after WorkOS rotated its token, which could not be kept: the grant ends at its next refresh", "outcome", "upstream_lost", "error", err.Error())
	}
}

// keepUpstreamTimeout bounds keepUpstream's write, past the request's own deadline.
const keepUpstreamTimeout = 2 * time.Second

// endFamily revokes a family whose WorkOS session has ended. reason is fit for the logs (no
// secret): it is logged, the family id is not.
func (s *Server) endFamily(ctx context.Context, familyID, outcome, reason string) {
	if err := s.Store.RevokeFamily(ctx, familyID); err != nil {
		// The WorkOS token is spent or unusable: the family cannot refresh again anyway.
		s.log().ErrorContext(ctx, "workos session ended: token family could not be revoked", "outcome", "revoke_failed", "reason", reason, "error", err.Error())
		return
	}
	s.log().InfoContext(ctx, "workos session ended: token family revoked", "outcome", outcome, "reason", reason)
	s.Metrics.Count(ctx, obs.GrantsRevoked, obs.Cause(obs.CauseUpstreamSession))
}

// concurrentRotation waits briefly for a concurrent refresh of the same token (the one whose
// WorkOS refresh spent the WorkOS token) to finish its rotation. Rotated within the grace
// window: its successor is this request's answer (handled). Not rotated in time, or rotated
// outside the window: not handled, the caller treats WorkOS's refusal as the session's end.
func (s *Server) concurrentRotation(ctx context.Context, client store.Client, presented string, oldHash []byte, scope oauth.Scope) (*tokenResponse, bool, *oauth.Error) {
	deadline := time.Now().Add(concurrentRotationWait)
	for {
		again, err := s.Store.GetRefreshToken(ctx, oldHash)
		if err != nil {
			return nil, false, nil
		}
		if !again.RotatedAt.IsZero() {
			if !s.withinReuseGrace(again) {
				return nil, false, nil
			}
			next, oerr := s.refreshSuccessor(ctx, presented, again)
			if oerr != nil {
				return nil, true, oerr
			}
			resp, oerr := s.refreshResponse(ctx, client, again, scope, next)
			if oerr != nil {
				return nil, true, oerr
			}
			return &resp, true, nil
		}
		if !time.Now().Before(deadline) || s.Config.RefreshReuseGrace <= 0 {
			return nil, false, nil
		}
		select {
		case <-ctx.Done():
			return nil, false, nil
		case <-time.After(concurrentRotationPoll):
		}
	}
}

// concurrentRotationWait bounds how long a refresh refused by WorkOS waits for a concurrent
// refresh of the same token to rotate it; only refusals wait.
const (
	concurrentRotationWait = time.Second
	concurrentRotationPoll = 100 * time.Millisecond
)

// maxRotationAttempts bounds the rotations one refresh request tries while concurrent
// transactions that did not rotate the token keep cancelling its own.
const maxRotationAttempts = 3

// withinReuseGrace reports whether a rotated token is presented again within
// REFRESH_REUSE_GRACE of its rotation (0 turns the grace off). Rotation times are whole
// seconds, so the window is at most one second shorter than configured.
func (s *Server) withinReuseGrace(rt store.RefreshToken) bool {
	grace := s.Config.RefreshReuseGrace
	return grace > 0 && s.now().Sub(rt.RotatedAt) <= grace
}

// maxSuccessorHops bounds how far refreshSuccessor follows a chain of rotations.
const maxSuccessorHops = 4

// refreshSuccessor returns the live token that replaced presented (rotated within the grace
// window, already checked, and of the authenticated client): its sealed successor, opened
// with presented itself, or, when another request of the client rotated that successor too,
// the successor's successor, and so on (every link of that chain was rotated after
// presented, so within the same window). Nothing is written; the family must not be
// revoked. A token rotated before successors were sealed has none: refused, not revoked.
func (s *Server) refreshSuccessor(ctx context.Context, presented string, rt store.RefreshToken) (string, *oauth.Error) {
	revoked, err := s.Store.FamilyRevoked(ctx, rt.FamilyID)
	if err != nil {
		return "", s.unavailable(ctx, err)
	}
	if revoked { // OAuth 2.0 Security BCP §4.14.2: a revoked grant gives nothing, in the window or not
		return "", oauth.ErrInvalidGrant("refresh token was revoked")
	}
	token, link := presented, rt
	for range maxSuccessorHops {
		next, ok := openSuccessor(token, link.FamilyID, link.SealedSuccessor)
		if !ok {
			return "", oauth.ErrInvalidGrant("refresh token was already used")
		}
		nextRT, err := s.Store.GetRefreshToken(ctx, oauth.HashSecret(next))
		if errors.Is(err, store.ErrNotFound) {
			return "", oauth.ErrInvalidGrant("refresh token was already used")
		} else if err != nil {
			return "", s.unavailable(ctx, err)
		}
		if nextRT.FamilyID != rt.FamilyID || nextRT.ClientID != rt.ClientID {
			return "", oauth.ErrInvalidGrant("refresh token was already used")
		}
		if nextRT.RotatedAt.IsZero() {
			return next, nil
		}
		token, link = next, nextRT
	}
	return "", oauth.ErrInvalidGrant("refresh token was already used")
}

// refreshResponse answers a repeated use within the grace window: the successor refresh
// token and a freshly minted access token for the scope of this request.
func (s *Server) refreshResponse(ctx context.Context, client store.Client, rt store.RefreshToken, scope oauth.Scope, next string) (tokenResponse, *oauth.Error) {
	access, expiresIn, oerr := s.mint(ctx, client.ID, scope.String(), rt.Resource, rt.FamilyID, rt.User)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	return tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: expiresIn, RefreshToken: next, Scope: scope.String()}, nil
}

// sealSuccessor encrypts the refresh token that replaces presented (AES-256-GCM) under a key
// derived from presented's plaintext, so only a holder of presented can recover it: the
// table, which keeps only SHA-256 hashes of refresh tokens, reveals nothing. The family id
// is bound as additional data.
func sealSuccessor(presented, familyID, successor string) []byte {
	return sealFor(presented, labelSuccessor, familyID, successor)
}

// openSuccessor reverses sealSuccessor; false when sealed is missing or was not sealed for
// presented and familyID.
func openSuccessor(presented, familyID string, sealed []byte) (string, bool) {
	return openWith(presented, labelSuccessor, familyID, sealed)
}

// sealUpstream encrypts the person's WorkOS refresh token for the holder of secret (the
// authorization code, the consent request id, or the Authbridge refresh token it travels
// with), as sealSuccessor does, with its own key label; bound is the additional data (the
// family id, or the consent request's client id). Nothing to seal gives nil.
func sealUpstream(secret, bound, workosRefresh string) []byte {
	if workosRefresh == "" {
		return nil
	}
	return sealFor(secret, labelUpstream, bound, workosRefresh)
}

// openUpstream reverses sealUpstream; false when sealed is missing or was not sealed for
// secret and bound.
func openUpstream(secret, bound string, sealed []byte) (string, bool) {
	return openWith(secret, labelUpstream, bound, sealed)
}

// The HKDF labels of the sealed values: one key per secret and purpose.
const (
	labelSuccessor = "authbridge refresh token successor"
	labelUpstream  = "authbridge workos refresh token"
)

// sealFor encrypts plain (AES-256-GCM, random nonce first) under the key derived from secret
// with label, binding ad.
func sealFor(secret, label, ad, plain string) []byte {
	aead := secretAEAD(secret, label)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(plain), []byte(ad))
}

// openWith reverses sealFor; false when sealed is missing or was sealed otherwise.
func openWith(secret, label, ad string, sealed []byte) (string, bool) {
	aead := secretAEAD(secret, label)
	if len(sealed) < aead.NonceSize() {
		return "", false
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(ad))
	return string(plain), err == nil
}

// secretAEAD derives the key with HKDF-SHA-256 from the secret's 256 random bits, with its
// own label: a key that differs from the SHA-256 hash the table is keyed by.
func secretAEAD(secret, label string) cipher.AEAD {
	key, _ := hkdf.Key(sha256.New, []byte(secret), nil, label, 32) // 32 bytes never fails
	block, _ := aes.NewCipher(key)                                 // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return aead
}

// mint signs an access token for the grant familyID (the code's refresh-token family, set
// whether or not the client gets a refresh token): the token carries it as "fam", so that
// introspection (RFC 7662) can answer inactive once the grant is revoked (docs/decisions.md).
func (s *Server) mint(ctx context.Context, clientID, scope, resource, familyID string, u store.User) (string, int64, *oauth.Error) {
	token, claims, err := s.Minter.Mint(ctx, tokens.AccessClaims{
		Subject: u.ID, Audience: resource, ClientID: clientID, Scope: scope,
		Email: u.Email, OrgID: u.OrganizationID, SessionID: u.SessionID, FamilyID: familyID,
	})
	if err != nil {
		return "", 0, s.unavailable(ctx, err)
	}
	return token, claims.ExpiresAt - claims.IssuedAt, nil
}

// revokeReplayed revokes the token family of a replayed authorization code or refresh token
// (grant says which).
func (s *Server) revokeReplayed(ctx context.Context, grant, familyID string) {
	if grant == oauth.GrantAuthorizationCode {
		s.Metrics.Count(ctx, obs.CodeReplay)
	} else {
		s.Metrics.Count(ctx, obs.RefreshTokenReuse)
	}
	if err := s.Store.RevokeFamily(ctx, familyID); err != nil {
		s.log().ErrorContext(ctx, "replay detected: token family could not be revoked", "outcome", "revoke_failed", "grant_type", grant, "error", err.Error())
		return
	}
	s.log().WarnContext(ctx, "replay detected: token family revoked", "outcome", "family_revoked", "grant_type", grant)
}

// claimedClientID is the client id a request that failed client authentication names (in its
// Basic credentials or its form), for the log line: only a value shaped like Authbridge's
// client ids is kept, so a secret sent in the wrong field never reaches the logs.
func claimedClientID(r *http.Request, form url.Values) string {
	creds, _ := oauth.ParseClientCredentials(r.Header.Get("Authorization"), form)
	id := creds.ClientID
	if id == "" {
		id = form.Get("client_id")
	}
	rest, ok := strings.CutPrefix(id, oauth.PrefixClientID)
	if !ok || len(rest) != 43 {
		return ""
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return id
}

func (s *Server) unavailable(ctx context.Context, err error) *oauth.Error {
	s.log().ErrorContext(ctx, "dependency failed", "outcome", "temporarily_unavailable", "error", err.Error())
	return oauth.ErrTemporarilyUnavailable("the server could not complete the request, try again")
}
