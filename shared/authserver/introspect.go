package authserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/web"
)

// IntrospectionResponse is RFC 7662 §2.2's answer. An inactive token is exactly
// {"active":false}: every other member is omitted (§2.2: the server SHOULD NOT include
// anything else, so a caller learns nothing about a token it may not see).
type IntrospectionResponse struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	NotBefore int64  `json:"nbf,omitempty"`
	JTI       string `json:"jti,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Email     string `json:"email,omitempty"`
	OrgID     string `json:"org_id,omitempty"`
}

// activeResponse is the RFC 7662 §2.2 answer for a verified access token.
func activeResponse(c tokens.AccessClaims) IntrospectionResponse {
	return IntrospectionResponse{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, Subject: c.Subject, Audience: c.Audience,
		Issuer: c.Issuer, ExpiresAt: c.ExpiresAt, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore, JTI: c.JTI,
		TokenType: "Bearer", Email: c.Email, OrgID: c.OrgID,
	}
}

// introspectHandler serves POST /api/ext/auth/introspect (RFC 7662) for resource servers on
// other hosts (companion mode). Server to server: no CORS.
func (s *Server) introspectHandler() http.Handler {
	verifier := tokens.NewVerifier(s.Keys, s.Config.Issuer, s.Config.ClockLeeway).WithClock(s.now)
	return s.endpoint(PathIntrospect, web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.introspect(w, r, verifier)
	}), http.MethodPost))
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request, verifier *tokens.Verifier) {
	ctx := r.Context()
	// RFC 7662 §2.1: the endpoint MUST require authorization; resource servers authenticate
	// with their own credentials, never an MCP client's (RFC 7662 §4: no token scanning).
	rs, oerr := s.authenticateResourceServer(ctx, r)
	if oerr != nil {
		s.introspectError(w, r, oerr)
		return
	}
	obs.SetClientID(ctx, rs.ID)
	form, oerr := web.ParseForm(r)
	if oerr != nil {
		s.introspectError(w, r, oerr)
		return
	}
	token := form.Get("token")
	if token == "" { // RFC 7662 §2.1: token is REQUIRED
		s.introspectError(w, r, oauth.ErrInvalidRequest("token is required"))
		return
	}
	// RFC 7662 §2.1: token_type_hint is only a hint; every token is looked at as an access
	// token, the only kind whose activity a resource server may ask about. Refresh tokens
	// and codes (opaque, not JWTs) are inactive to it.
	claims, err := verifier.Verify(token, rs.Resource)
	if err != nil {
		// RFC 7662 §2.2: expired, invalid, unknown, or issued for another resource (RFC 8707,
		// RFC 9068 §4: aud is the caller's own resource) are all just inactive.
		s.inactive(w, r, verifyReason(err))
		return
	}
	if claims.FamilyID != "" {
		// RFC 7662 §2.2 "revoked": the grant the token was issued under (its refresh-token
		// family) was revoked at /revoke or by replay detection (OAuth 2.0 Security BCP §4.14.2).
		revoked, err := s.Store.GrantRevoked(ctx, claims.FamilyID)
		if err != nil {
			s.introspectError(w, r, s.unavailable(ctx, err))
			return
		}
		if revoked {
			s.inactive(w, r, "grant_revoked")
			return
		}
	}
	s.log().InfoContext(ctx, "token introspected", "outcome", "active")
	web.NoStore(w) // RFC 7662 §4: responses are not cached by intermediaries
	web.JSON(w, http.StatusOK, activeResponse(claims))
}

// inactive answers {"active":false} (RFC 7662 §2.2) and logs why, never the token.
func (s *Server) inactive(w http.ResponseWriter, r *http.Request, reason string) {
	s.log().InfoContext(r.Context(), "token introspected", "outcome", "inactive", "reason", reason)
	web.NoStore(w)
	web.JSON(w, http.StatusOK, IntrospectionResponse{Active: false})
}

func (s *Server) introspectError(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	level := s.log().InfoContext
	if e.Status >= 500 {
		level = s.log().ErrorContext
	}
	// The claimed id is logged only when shaped like a resource server's: a secret sent as
	// the id never reaches the logs.
	claimed, _ := oauth.ParseClientCredentials(r.Header.Get("Authorization"), nil)
	if !oauth.IsResourceServerID(claimed.ClientID) {
		claimed.ClientID = ""
	}
	level(r.Context(), "introspection refused", "client_id", claimed.ClientID, "outcome", e.Code, "reason", e.Description)
	web.OAuthError(w, e) // invalid_client: 401 with WWW-Authenticate: Basic (RFC 7662 §2.3, RFC 6749 §5.2)
}

// authenticateResourceServer identifies the caller by HTTP Basic credentials of a resource
// server (RFC 7662 §2.1, RFC 6749 §2.3.1): id and secret issued by
// infra/cmd/introspection-credentials, the secret compared by its SHA-256 in constant time.
// Credentials whose resource is no longer configured are refused.
func (s *Server) authenticateResourceServer(ctx context.Context, r *http.Request) (store.ResourceServer, *oauth.Error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return store.ResourceServer{}, oauth.ErrInvalidClient("resource server credentials are required (HTTP Basic)")
	}
	creds, oerr := oauth.ParseClientCredentials(header, nil)
	if oerr != nil {
		return store.ResourceServer{}, oauth.ErrInvalidClient("%s", oerr.Description)
	}
	// An MCP client's id (or anything else) is no resource server: refused before any lookup.
	if !oauth.IsResourceServerID(creds.ClientID) {
		return store.ResourceServer{}, oauth.ErrInvalidClient("unknown resource server")
	}
	rs, err := s.Store.GetResourceServer(ctx, creds.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return store.ResourceServer{}, oauth.ErrInvalidClient("unknown resource server")
	} else if err != nil {
		return store.ResourceServer{}, s.unavailable(ctx, err)
	}
	if subtle.ConstantTimeCompare(oauth.HashSecret(creds.Secret), rs.SecretHash) != 1 {
		return store.ResourceServer{}, oauth.ErrInvalidClient("resource server authentication failed")
	}
	if !slices.Contains(s.Config.Resources, rs.Resource) {
		return store.ResourceServer{}, oauth.ErrInvalidClient("the credentials' resource is no longer a protected resource")
	}
	return rs, nil
}

// verifyReason names a verification failure for the log (the tokens.Err* sentinels).
func verifyReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{tokens.ErrExpired, "expired"}, {tokens.ErrNotYetValid, "not_yet_valid"}, {tokens.ErrAudience, "wrong_audience"},
		{tokens.ErrIssuer, "wrong_issuer"}, {tokens.ErrUnknownKey, "unknown_key"}, {tokens.ErrSignature, "bad_signature"},
		{tokens.ErrAlgorithm, "bad_algorithm"}, {tokens.ErrType, "not_an_access_token"},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "malformed"
}

// ResourceServerCredentials are a resource server's introspection credentials as issued:
// the secret is shown once, and only its SHA-256 is stored.
type ResourceServerCredentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Resource     string `json:"resource"`
}

// ErrNotProtected: credentials were asked for a resource that is not one of
// PROTECTED_RESOURCES.
var ErrNotProtected = errors.New("authserver: the resource is not one of PROTECTED_RESOURCES")

// IssueResourceServerCredentials creates introspection credentials bound to resource, which
// must designate one of the configured protected resources (compared in canonical form,
// oauth.CanonicalResource); the credentials name it in that form. The operator command
// infra/cmd/introspection-credentials calls it; nothing on the API does (RFC 7662 §2.1
// leaves the resource server's authorization to the server: here, the operator).
func IssueResourceServerCredentials(ctx context.Context, st *store.Store, resources oauth.Resources, resource string) (ResourceServerCredentials, error) {
	canonical, ok := resources.Match(resource)
	if !ok {
		return ResourceServerCredentials{}, fmt.Errorf("%w: %q (configured: %s)", ErrNotProtected, resource, strings.Join(resources, ", "))
	}
	creds := ResourceServerCredentials{
		ClientID:     oauth.NewOpaque(oauth.PrefixResourceServerID),
		ClientSecret: oauth.NewOpaque(oauth.PrefixResourceServerSecret),
		Resource:     canonical,
	}
	err := st.PutResourceServer(ctx, store.ResourceServer{ID: creds.ClientID, SecretHash: oauth.HashSecret(creds.ClientSecret), Resource: canonical})
	if err != nil {
		return ResourceServerCredentials{}, err
	}
	return creds, nil
}
