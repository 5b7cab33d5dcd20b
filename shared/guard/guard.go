// Package guard holds the rules that put Authbridge's access tokens in front of the MCP
// routes: the API Gateway REQUEST authorizer (Authorizer), the route → protected resource
// mapping, RFC 6750 bearer parsing, the WWW-Authenticate challenges, and the identity the
// authorizer hands to the MCP function through the request context.
//
// The authorizer verifies tokens locally (tokens.Verifier over keys fetched from KMS once
// per cold start): no KMS or DynamoDB call per request, and a warm cache of verified tokens
// makes a repeated token cost microseconds.
package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/tokens"
)

// Leeway is the default clock skew tolerated on exp and nbf, by the authorizer and by the
// MCP function's second look at exp (config CLOCK_LEEWAY; at most 60 s: docs/decisions.md).
const Leeway = 30 * time.Second

// Keys of the authorizer context (API Gateway passes them to the MCP function in
// requestContext.authorizer, next to principalId; values arrive as strings).
const (
	CtxSubject   = "sub"
	CtxEmail     = "email"
	CtxOrgID     = "org_id"
	CtxClientID  = "client_id"
	CtxScope     = "scope"
	CtxJTI       = "jti"
	CtxExpiresAt = "exp"
	CtxAudience  = "aud"
)

// Identity is the verified caller of a protected route: the claims of the access token the
// authorizer accepted (RFC 9068 §2.2).
type Identity struct {
	Subject   string      // WorkOS user id
	Email     string      // may be empty
	OrgID     string      // may be empty
	ClientID  string      // the MCP client the token was issued to
	Scope     oauth.Scope // granted scopes
	JTI       string
	ExpiresAt time.Time
	Audience  string // the protected resource the token is for
}

// identityFromClaims is the identity of verified claims.
func identityFromClaims(c tokens.AccessClaims) Identity {
	id, _ := identityAndScope(c)
	return id
}

// identityAndScope is identityFromClaims and the granted scope as its context value
// (id.Scope.String()).
func identityAndScope(c tokens.AccessClaims) (Identity, string) {
	scope, str := parseScope(c.Scope)
	return Identity{
		Subject: c.Subject, Email: c.Email, OrgID: c.OrgID, ClientID: c.ClientID, Scope: scope,
		JTI: c.JTI, ExpiresAt: time.Unix(c.ExpiresAt, 0), Audience: c.Audience,
	}, str
}

// parseScope is oauth.ParseScope(raw), with an invalid scope taken as none, and the result's
// String(), in one allocation: the scope's tokens are substrings of raw, and so is the string
// when raw is already canonical (tokens separated by single spaces, none repeated), as the
// token endpoint issues it.
func parseScope(raw string) (oauth.Scope, string) {
	n := 0
	canonical := true
	for tok, rest, more := "", raw, true; more; {
		tok, rest, more = strings.Cut(rest, " ")
		if tok == "" {
			canonical = false
			continue
		}
		for i := 0; i < len(tok); i++ {
			// scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3)
			if c := tok[i]; c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
				return nil, ""
			}
		}
		n++
	}
	if n == 0 {
		return nil, ""
	}
	out := make(oauth.Scope, 0, n)
	for tok, rest, more := "", raw, true; more; {
		tok, rest, more = strings.Cut(rest, " ")
		if tok != "" && !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	if !canonical || len(out) != n {
		return out, out.String()
	}
	return out, raw
}

// HasScopes reports whether every scope in required was granted.
func (id Identity) HasScopes(required oauth.Scope) bool { return required.SubsetOf(id.Scope) }

// authorizerContext is the context of an Allow: strings and numbers only (API Gateway
// refuses null, arrays and objects in an authorizer context).
func (id Identity) authorizerContext() map[string]any {
	return id.context(id.Scope.String(), id.Audience)
}

// context is authorizerContext with the scope's string and the audience (a string) given.
func (id Identity) context(scope string, audience any) map[string]any {
	return map[string]any{
		CtxSubject:   id.Subject,
		CtxEmail:     id.Email,
		CtxOrgID:     id.OrgID,
		CtxClientID:  id.ClientID,
		CtxScope:     scope,
		CtxJTI:       id.JTI,
		CtxExpiresAt: id.ExpiresAt.Unix(),
		CtxAudience:  audience,
	}
}

// ErrNoIdentity means the request context carries no usable authorizer identity.
var ErrNoIdentity = errors.New("guard: no authorizer identity in the request context")

// IdentityFromAuthorizer reads the identity that the authorizer put in the request context
// (API Gateway's requestContext.authorizer). API Gateway delivers context values as strings;
// numbers are accepted too. Only the presence and shape of the values is checked here: the
// caller checks audience and expiry against its own configuration and clock.
func IdentityFromAuthorizer(m map[string]any) (Identity, error) {
	if len(m) == 0 {
		return Identity{}, ErrNoIdentity
	}
	str := func(k string) string {
		switch v := m[k].(type) {
		case string:
			return v
		default:
			return ""
		}
	}
	id := Identity{
		Subject: str(CtxSubject), Email: str(CtxEmail), OrgID: str(CtxOrgID), ClientID: str(CtxClientID),
		JTI: str(CtxJTI), Audience: str(CtxAudience),
	}
	var ok bool
	if id.Scope, ok = oauth.ParseScope(str(CtxScope)); !ok {
		return Identity{}, fmt.Errorf("%w: scope is not a scope list", ErrNoIdentity)
	}
	exp, err := epochSeconds(m[CtxExpiresAt])
	if err != nil {
		return Identity{}, fmt.Errorf("%w: exp: %v", ErrNoIdentity, err)
	}
	id.ExpiresAt = time.Unix(exp, 0)
	// RFC 9068 §2.2: sub and client_id are required claims; without them this is not our context.
	if id.Subject == "" || id.ClientID == "" || id.Audience == "" {
		return Identity{}, fmt.Errorf("%w: sub, client_id or aud missing", ErrNoIdentity)
	}
	return id, nil
}

func epochSeconds(v any) (int64, error) {
	switch n := v.(type) {
	case string:
		return strconv.ParseInt(n, 10, 64)
	case float64:
		if n != float64(int64(n)) {
			return 0, errors.New("not an integer")
		}
		return int64(n), nil
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case json.Number:
		return n.Int64()
	case nil:
		return 0, errors.New("missing")
	default:
		return 0, fmt.Errorf("unexpected %T", v)
	}
}
