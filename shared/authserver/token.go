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
	client, oerr := s.authenticateClient(ctx, r, form)
	if oerr != nil {
		s.tokenError(w, r, claimedClientID(r, form), oerr)
		return
	}
	obs.SetClientID(ctx, client.ID)
	if !slices.Contains(client.GrantTypes, grant) {
		s.tokenError(w, r, client.ID, oauth.ErrUnauthorizedClient("client is not registered for the %s grant", grant))
		return
	}
	resp, oerr := redeem(s, ctx, client, form)
	if oerr != nil {
		s.tokenError(w, r, client.ID, oerr)
		return
	}
	s.log().InfoContext(ctx, "token issued", "outcome", "issued", "grant_type", grant)
	s.Metrics.Count(ctx, obs.TokensIssued, obs.Grant(grant))
	web.NoStore(w) // RFC 6749 §5.1
	web.JSON(w, http.StatusOK, resp)
}

// grantHandler redeems one grant type for a client that authenticated and registered that grant.
type grantHandler func(s *Server, ctx context.Context, client store.Client, form url.Values) (tokenResponse, *oauth.Error)

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
	web.OAuthError(w, e)
}

// authenticateClient identifies the client by the method it registered (RFC 6749 §2.3,
// RFC 7591 §2 token_endpoint_auth_method); secrets are compared in constant time.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (store.Client, *oauth.Error) {
	creds, oerr := oauth.ParseClientCredentials(r.Header.Get("Authorization"), form)
	if oerr != nil {
		return store.Client{}, oerr
	}
	client, err := s.Store.GetClient(ctx, creds.ClientID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) { // ErrInvalid: an id no client can have
		return store.Client{}, oauth.ErrInvalidClient("unknown client")
	} else if err != nil {
		return store.Client{}, s.unavailable(ctx, err)
	}
	if oerr := oauth.Authenticate(creds, client.TokenEndpointAuthMethod, client.SecretHash); oerr != nil {
		return store.Client{}, oerr
	}
	return client, nil
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).
// Every binding is checked before the code is marked used, so a rejected request writes
// nothing; a replayed code revokes what it issued (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
func (s *Server) exchangeCode(ctx context.Context, client store.Client, form url.Values) (tokenResponse, *oauth.Error) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		return tokenResponse{}, oauth.ErrInvalidRequest("code is required")
	case verifier == "":
		return tokenResponse{}, oauth.ErrInvalidRequest("code_verifier is required (PKCE)")
	case !oauth.ValidCodeVerifier(verifier):
		return tokenResponse{}, oauth.ErrInvalidRequest("code_verifier must be 43-128 characters of A-Z, a-z, 0-9 and -._~ (RFC 7636 section 4.1)")
	case !strings.HasPrefix(code, oauth.PrefixCode) || len(code) > 128:
		return tokenResponse{}, oauth.ErrInvalidGrant("code is invalid")
	}
	codeHash := oauth.HashSecret(code)
	stored, err := s.Store.GetCode(ctx, codeHash)
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

	if _, err := s.Store.RedeemCode(ctx, codeHash); errors.Is(err, store.ErrConsumed) {
		s.revokeReplayed(ctx, oauth.GrantAuthorizationCode, stored.FamilyID)
		return tokenResponse{}, oauth.ErrInvalidGrant("code was already used")
	} else if errors.Is(err, store.ErrNotFound) {
		return tokenResponse{}, oauth.ErrInvalidGrant("code is invalid or expired")
	} else if err != nil {
		return tokenResponse{}, s.unavailable(ctx, err)
	}

	access, expiresIn, oerr := s.mint(ctx, client.ID, req.Scope, req.Resource, stored.FamilyID, stored.User)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: expiresIn, Scope: req.Scope}
	if slices.Contains(client.GrantTypes, oauth.GrantRefreshToken) {
		now := s.now()
		refresh := oauth.NewOpaque(oauth.PrefixRefreshToken)
		family := store.Family{ID: stored.FamilyID, ClientID: client.ID, ExpiresAt: now.Add(s.Config.RefreshTokenTTL)}
		rt := store.RefreshToken{FamilyID: family.ID, ClientID: client.ID, Scope: req.Scope, Resource: req.Resource,
			User: stored.User, IssuedAt: now, ExpiresAt: family.ExpiresAt}
		if err := s.Store.IssueFamily(ctx, family, oauth.HashSecret(refresh), rt); errors.Is(err, store.ErrExists) {
			// A replay of this code revoked the family while this exchange was in flight.
			return tokenResponse{}, oauth.ErrInvalidGrant("code was already used")
		} else if err != nil {
			return tokenResponse{}, s.unavailable(ctx, err)
		}
		resp.RefreshToken = refresh
	}
	if !client.ExpiresAt.IsZero() {
		// The registration is in use now: it no longer expires (RFC 7591 leaves lifetime to the server).
		if err := s.Store.MarkClientUsed(ctx, client.ID); err != nil {
			s.log().WarnContext(ctx, "client could not be marked used", "outcome", "client_not_marked_used", "error", err.Error())
		}
	}
	return resp, nil
}

// refresh rotates a refresh token (OAuth 2.1 §4.3.1: public clients' refresh tokens MUST
// rotate). Presenting a token that was already rotated, outside a short grace window for
// retries, revokes its whole family (OAuth 2.0 Security BCP §4.14.2). Within the window the
// same client gets the token's successor again (refreshSuccessor), so a client racing itself
// (parallel refreshes, a retry after a lost response) keeps one valid grant.
func (s *Server) refresh(ctx context.Context, client store.Client, form url.Values) (tokenResponse, *oauth.Error) {
	presented := form.Get("refresh_token")
	if presented == "" {
		return tokenResponse{}, oauth.ErrInvalidRequest("refresh_token is required")
	}
	if !strings.HasPrefix(presented, oauth.PrefixRefreshToken) || len(presented) > 128 {
		return tokenResponse{}, oauth.ErrInvalidGrant("refresh token is invalid")
	}
	oldHash := oauth.HashSecret(presented)
	rt, err := s.Store.GetRefreshToken(ctx, oldHash)
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

	access, expiresIn, oerr := s.mint(ctx, client.ID, scope.String(), rt.Resource, rt.FamilyID, rt.User)
	if oerr != nil {
		return tokenResponse{}, oerr
	}
	next := oauth.NewOpaque(oauth.PrefixRefreshToken)
	// RFC 6749 §6: "the refresh token scope MUST be identical to that of the refresh token
	// included by the client in the request": only the access token is narrowed.
	nextRT := rt
	nextRT.IssuedAt, nextRT.RotatedAt, nextRT.SealedSuccessor = s.now(), time.Time{}, nil
	nextRT.SealedForPredecessor = sealSuccessor(presented, rt.FamilyID, next)
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
	aead := successorAEAD(presented)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(successor), []byte(familyID))
}

// openSuccessor reverses sealSuccessor; false when sealed is missing or was not sealed for
// presented and familyID.
func openSuccessor(presented, familyID string, sealed []byte) (string, bool) {
	aead := successorAEAD(presented)
	if len(sealed) < aead.NonceSize() {
		return "", false
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(familyID))
	return string(plain), err == nil
}

// successorAEAD derives the key with HKDF-SHA-256 from the token's 256 random bits, with its
// own label: a key that differs from the SHA-256 hash the table is keyed by.
func successorAEAD(presented string) cipher.AEAD {
	key, _ := hkdf.Key(sha256.New, []byte(presented), nil, "authbridge refresh token successor", 32) // 32 bytes never fails
	block, _ := aes.NewCipher(key)                                                                   // a 32-byte key never fails
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
