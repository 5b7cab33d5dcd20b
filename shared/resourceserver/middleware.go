package resourceserver

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/authbridge/authbridge/shared/oauth"
)

// Middleware protects next with v: a request passes with one valid Bearer token for
// cfg.Resource that carries every scope of cfg.Scopes, and next finds the caller with
// IdentityFromContext — or, for an MCP Go SDK handler, as RequestExtra.TokenInfo in its tools
// (IdentityFromTokenInfo). Otherwise it answers, with the RFC 9728 resource_metadata that MCP
// clients discover Authbridge from:
//
//   - 401 Bearer resource_metadata="…" when no Bearer credentials were sent (RFC 6750 §3.1:
//     no error code then);
//   - 401 Bearer error="invalid_token" when the token was refused;
//   - 400 Bearer error="invalid_request" for several Authorization headers or a malformed
//     Bearer value (RFC 6750 §3.1);
//   - 403 Bearer error="insufficient_scope", scope="…" naming cfg.Scopes;
//   - 503 when the token could not be checked (JWKS or introspection unreachable).
//
// Middleware panics when cfg is invalid; build v from the same cfg first, which reports that
// as an error.
func Middleware(v Verifier, cfg Config) func(http.Handler) http.Handler {
	c, err := cfg.check()
	if err != nil {
		panic(err)
	}
	return func(next http.Handler) http.Handler {
		// The SDK's bearer middleware is only a bridge here: it hands tools the identity this
		// middleware has verified (never a token it parses itself).
		bridged := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
			id, ok := IdentityFromContext(ctx)
			if !ok {
				return nil, auth.ErrInvalidToken
			}
			return tokenInfo(id), nil
		}, &auth.RequireBearerTokenOptions{ClockSkew: c.Leeway})(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.serve(w, r, v, bridged)
		})
	}
}

func (c config) serve(w http.ResponseWriter, r *http.Request, v Verifier, next http.Handler) {
	ctx := r.Context()
	token, err := oauth.BearerToken(r.Header.Values("Authorization"))
	switch {
	case errors.Is(err, oauth.ErrNoCredentials), errors.Is(err, oauth.ErrNotBearer):
		// RFC 6750 §3.1: a request without authentication information (or with another
		// scheme) gets no error code; RFC 9728 §5.1: resource_metadata for discovery.
		c.Logger.DebugContext(ctx, "resourceserver: no bearer token", "reason", err.Error())
		c.refuse(w, http.StatusUnauthorized, `Bearer resource_metadata="`+quoted(c.prmURL)+`"`)
		return
	case err != nil:
		// RFC 6750 §3.1 invalid_request: several credentials or a malformed one (400).
		c.Logger.InfoContext(ctx, "resourceserver: request refused", "outcome", "invalid_request", "reason", err.Error())
		c.refuse(w, http.StatusBadRequest, `Bearer error="invalid_request", resource_metadata="`+quoted(c.prmURL)+`"`)
		return
	}
	id, err := v.Verify(ctx, token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		// RFC 6750 §3.1 invalid_token: expired, revoked, for another resource, malformed.
		c.Logger.InfoContext(ctx, "resourceserver: request refused", "outcome", "invalid_token", "reason", err.Error())
		c.refuse(w, http.StatusUnauthorized, `Bearer error="invalid_token", resource_metadata="`+quoted(c.prmURL)+`"`)
		return
	case err != nil:
		// Not the token's fault: no invalid_token, or the client would throw away a good one.
		c.Logger.ErrorContext(ctx, "resourceserver: token could not be checked", "outcome", "unavailable", "error", err.Error())
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the access token could not be checked; try again", http.StatusServiceUnavailable)
		return
	}
	// RFC 6750 §3.1 insufficient_scope with the scopes the request needs (MCP: step-up).
	if !id.HasScopes(c.Scopes...) {
		c.Logger.InfoContext(ctx, "resourceserver: request refused", "outcome", "insufficient_scope",
			"sub", id.Subject, "client_id", id.ClientID, "scope", strings.Join(id.Scopes, " "))
		c.refuse(w, http.StatusForbidden, `Bearer error="insufficient_scope", scope="`+quoted(strings.Join(c.Scopes, " "))+`", resource_metadata="`+quoted(c.prmURL)+`"`)
		return
	}
	next.ServeHTTP(w, r.WithContext(WithIdentity(ctx, id)))
}

func (c config) refuse(w http.ResponseWriter, status int, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
}

// quoted escapes a value for an RFC 9110 §5.6.4 quoted-string.
func quoted(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
