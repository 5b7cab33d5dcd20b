package resourceserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// identityExtra is the auth.TokenInfo.Extra key holding the caller's Identity.
const identityExtra = "authbridge.identity"

// TokenVerifier adapts v to the MCP Go SDK's bearer middleware:
//
//	auth.RequireBearerToken(resourceserver.TokenVerifier(v), resourceserver.BearerOptions(cfg))
//
// A refused token unwraps to auth.ErrInvalidToken (401); a token that could not be checked is
// another error (the SDK answers 500). The TokenInfo carries the Identity
// (IdentityFromTokenInfo), the scopes, exp and sub as UserID (the SDK binds sessions to it).
// Unlike Middleware, the SDK's challenges carry no error code, and its 403 no
// insufficient_scope.
func TokenVerifier(v Verifier) auth.TokenVerifier {
	return func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		id, err := v.Verify(ctx, token)
		if errors.Is(err, ErrInvalidToken) {
			return nil, auth.ErrInvalidToken // the detail stays here: the SDK writes it to the client
		}
		if err != nil {
			return nil, fmt.Errorf("the access token could not be checked: %w", err)
		}
		return tokenInfo(id), nil
	}
}

// BearerOptions are the SDK bearer middleware's options for cfg: the RFC 9728 metadata URL for
// its 401 challenge (ResourceMetadataURL), cfg.Scopes and the clock skew. It panics when cfg
// is invalid, like Middleware.
func BearerOptions(cfg Config) *auth.RequireBearerTokenOptions {
	c, err := cfg.check()
	if err != nil {
		panic(err)
	}
	return &auth.RequireBearerTokenOptions{ResourceMetadataURL: c.prmURL, Scopes: c.Scopes, ClockSkew: c.Leeway}
}

// IdentityFromTokenInfo returns the Identity that TokenVerifier or Middleware put in the SDK's
// TokenInfo (a tool reads it from req.Extra.TokenInfo).
func IdentityFromTokenInfo(ti *auth.TokenInfo) (Identity, bool) {
	if ti == nil {
		return Identity{}, false
	}
	id, ok := ti.Extra[identityExtra].(Identity)
	return id, ok
}

func tokenInfo(id Identity) *auth.TokenInfo {
	return &auth.TokenInfo{Scopes: id.Scopes, Expiration: id.ExpiresAt, UserID: id.Subject, Extra: map[string]any{identityExtra: id}}
}
