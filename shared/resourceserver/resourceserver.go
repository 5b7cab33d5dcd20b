// Package resourceserver lets an MCP server that runs elsewhere — at its own URL, on another
// host than Authbridge ("companion mode") — accept Authbridge's access tokens itself.
//
// A Verifier checks a bearer token and returns the caller's Identity, in one of two ways:
//
//   - NewJWKSVerifier verifies the RFC 9068 JWT locally against Authbridge's JWKS
//     ({issuer}/.well-known/jwks.json, fetched over HTTP(S), cached, refreshed when a token
//     names an unknown key, at most once per MinRefreshInterval). The rules are those of
//     Authbridge's own Lambda authorizer (package tokens): typ at+jwt, ES256 only, iss exact,
//     aud the configured resource, exp and nbf with a small leeway. No call per request.
//   - NewIntrospectionVerifier asks Authbridge (RFC 7662, {issuer}/api/ext/auth/introspect)
//     with resource-server credentials, per request: a revoked grant is refused at once.
//
// Middleware protects any net/http handler (an MCP Go SDK StreamableHTTPHandler included): it
// answers 401 with the RFC 9728 resource_metadata challenge MCP clients discover from, 403
// insufficient_scope naming Config.Scopes, and hands the Identity to the handler (through
// the request context, and to MCP SDK tools as RequestExtra.TokenInfo). TokenVerifier and
// BearerOptions plug a Verifier into the SDK's own auth.RequireBearerToken instead.
//
// Imports: the standard library; Authbridge's shared/tokens (the verification code, which
// also holds the KMS minter, so the AWS SDK's KMS client types and smithy-go are compiled in,
// though nothing here calls AWS or reads AWS configuration) and github.com/go-json-experiment/json
// through it; shared/oauth (golang.org/x/net/idna); and the MCP Go SDK's auth package
// (github.com/modelcontextprotocol/go-sdk/auth, with its oauthex and golang.org/x/oauth2).
package resourceserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/tokens"
)

// Defaults of Config.
const (
	// DefaultLeeway is the clock skew tolerated on exp and nbf, as Authbridge's authorizer
	// tolerates by default (CLOCK_LEEWAY); at most tokens.MaxLeeway (60 s).
	DefaultLeeway = 30 * time.Second
	// DefaultTimeout bounds one JWKS fetch or introspection call.
	DefaultTimeout = 5 * time.Second
	// MaxResponseBytes bounds a JWKS or introspection response body.
	MaxResponseBytes = 64 << 10
)

// Authbridge's endpoints, below the issuer (its server metadata advertises them as jwks_uri and
// introspection_endpoint).
const (
	PathJWKS       = "/.well-known/jwks.json"
	PathIntrospect = "/api/ext/auth/introspect"
)

// Config describes the protected resource and the Authbridge that issues its tokens.
type Config struct {
	// Issuer is Authbridge's issuer, byte for byte as its metadata and tokens carry it
	// (https://auth.example.com, or a stage URL such as https://…/Prod).
	Issuer string
	// Resource is this MCP endpoint's URL as listed in Authbridge's PROTECTED_RESOURCES
	// (RFC 8707): tokens must carry it as aud. It is compared in its canonical form
	// (lower-case scheme and host, no default port, no trailing slash).
	Resource string
	// Scopes every request needs (Authbridge's REQUIRED_SCOPES, e.g. mcp:tools); a token
	// without one of them gets 403 insufficient_scope. Empty: none.
	Scopes []string
	// Leeway is the clock skew tolerated on exp and nbf: DefaultLeeway when 0, at most 60 s.
	Leeway time.Duration
	// HTTPClient makes the JWKS and introspection calls; nil: http.DefaultClient. Each call
	// is bounded by Timeout anyway.
	HTTPClient *http.Client
	// Timeout bounds one JWKS fetch or introspection call: DefaultTimeout when 0.
	Timeout time.Duration
	// Logger receives refusals (reason only, never the token) and JWKS refreshes; nil: none.
	Logger *slog.Logger
}

// config is a checked Config.
type config struct {
	Config
	prmURL string
}

func (c Config) check() (config, error) {
	iu, err := url.Parse(c.Issuer)
	if c.Issuer == "" || err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" ||
		iu.RawQuery != "" || iu.Fragment != "" || strings.HasSuffix(c.Issuer, "/") {
		// RFC 8414 §2: the issuer is an http(s) URL without query or fragment.
		return config{}, fmt.Errorf("resourceserver: Issuer %q must be an absolute http(s) URL without query, fragment or trailing slash", c.Issuer)
	}
	res, ok := oauth.CanonicalResource(c.Resource)
	if !ok {
		return config{}, fmt.Errorf("resourceserver: Resource %q must be an absolute http(s) URL without fragment (RFC 8707 §2)", c.Resource)
	}
	c.Resource = res
	if scope, ok := oauth.ParseScope(strings.Join(c.Scopes, " ")); !ok {
		return config{}, fmt.Errorf("resourceserver: Scopes %q are not scope tokens (RFC 6749 §3.3)", c.Scopes)
	} else {
		c.Scopes = scope
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.Leeway < 0 || c.Leeway > tokens.MaxLeeway {
		return config{}, fmt.Errorf("resourceserver: Leeway %s must be between 0 and %s", c.Leeway, tokens.MaxLeeway)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	prm, err := ResourceMetadataURL(c.Issuer, c.Resource)
	if err != nil {
		return config{}, err
	}
	return config{Config: c, prmURL: prm}, nil
}

// ResourceMetadataURL is where Authbridge serves the RFC 9728 metadata of resource, the URL
// the 401 challenge names (RFC 9728 §5.1), computed by the code Authbridge serves it with
// (oauth.ResourceMetadataPath): {issuer}/.well-known/oauth-protected-resource followed by
//   - /<host[:port]><path> of the canonical resource for a resource on another origin
//     (http://127.0.0.1:5310/mcp → …/oauth-protected-resource/127.0.0.1:5310/mcp);
//   - the resource's path below the issuer's for a resource on the issuer's own origin
//     (https://auth.example.com/mcp → …/oauth-protected-resource/mcp).
//
// The well-known path goes after the whole issuer, stage prefix included (docs/decisions.md).
func ResourceMetadataURL(issuer, resource string) (string, error) {
	if iu, err := url.Parse(issuer); err != nil || iu.Host == "" {
		return "", fmt.Errorf("resourceserver: Issuer %q is not an absolute URL", issuer)
	}
	res, ok := oauth.CanonicalResource(resource)
	if !ok {
		return "", fmt.Errorf("resourceserver: Resource %q must be an absolute http(s) URL without fragment (RFC 8707 §2)", resource)
	}
	return issuer + oauth.ResourceMetadataPath(issuer, res), nil
}

// Identity is the verified caller: the claims of an access token Authbridge issued for this
// resource (RFC 9068 §2.2), or of its introspection (RFC 7662 §2.2).
type Identity struct {
	Subject   string    // sub: the WorkOS user id
	Email     string    // email, when known
	OrgID     string    // org_id: the organization chosen at sign-in, when any
	SessionID string    // sid, when known
	ClientID  string    // client_id: the MCP client the token was issued to
	Scopes    []string  // scope, split
	Audience  string    // aud: this resource
	JTI       string    // jti, when given
	ExpiresAt time.Time // exp
}

// HasScopes reports whether every scope of required was granted.
func (id Identity) HasScopes(required ...string) bool {
	for _, s := range required {
		if !slices.Contains(id.Scopes, s) {
			return false
		}
	}
	return true
}

// Verifier checks a bearer token for the configured resource. A refused token gives an error
// wrapping ErrInvalidToken; any other error means the token could not be checked (JWKS or
// introspection endpoint unreachable) and says nothing about the token.
type Verifier interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

// ErrInvalidToken: the token is not (or no longer) valid for this resource — RFC 6750 §3.1
// invalid_token. The wrapped detail is for logs, not for the client.
var ErrInvalidToken = errors.New("resourceserver: invalid token")

// refused wraps the reason a token was refused.
func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

type identityKey struct{}

// IdentityFromContext returns the Identity Middleware put in the request context.
func IdentityFromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id (tests of handlers behind Middleware).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}
