// Package events holds the API Gateway events of every Authbridge function (the JSON files
// in this folder, for `sam local invoke -e` and for events_test.go) and fills their
// placeholders: an authorizer or MCP event needs a currently valid access token, which no
// file can hold. See README.md.
package events

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/authbridge/authbridge/shared/tokens"
)

// Placeholders that Fill replaces; each appears in the files as ${NAME}, so `envsubst` can
// fill them too.
const (
	AccessToken             = "ACCESS_TOKEN"                     // valid, scopes "mcp:tools orgs:read"
	AccessTokenNoRouteScope = "ACCESS_TOKEN_WITHOUT_ROUTE_SCOPE" // valid, scope "orgs:read" only: a Deny
	ExpiredAccessToken      = "EXPIRED_ACCESS_TOKEN"             // expired 45 minutes ago
	Exp                     = "EXP"                              // exp of ACCESS_TOKEN (authorizer context)
	JTI                     = "JTI"                              // jti of ACCESS_TOKEN
	Resource                = "RESOURCE"                         // the MCP resource, {ISSUER}/mcp
	ClientID                = "CLIENT_ID"                        // a registered client (OAuth events)
)

// Subject is the person of the events: Ada in infra/workos-seed.json (the WorkOS emulator).
var Subject = tokens.AccessClaims{
	Subject: "user_01JADAGS1DPDFA9S9S631SFWJ6", Email: "ada@example.com",
	OrgID: "org_01JENGINESADMFHXS2JFX687EA", ClientID: "abc_events_client",
}

var placeholder = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// HasPlaceholders reports whether raw has any ${NAME} to fill.
func HasPlaceholders(raw []byte) bool { return placeholder.Match(raw) }

// Fill replaces every ${NAME} in raw with values[NAME] and fails on a name it has no value
// for, so that no event is sent half filled.
func Fill(raw []byte, values map[string]string) ([]byte, error) {
	var missing []string
	out := placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("events: no value for %v", missing)
	}
	return out, nil
}

// Tokens mints the access tokens the events need with the token function's signer, for
// resource, and returns them with the other placeholder values. minter must sign for the
// issuer the functions are configured with; now is the current time.
func Tokens(ctx context.Context, minter func(now time.Time) *tokens.Minter, resource string, now time.Time) (map[string]string, error) {
	mint := func(at time.Time, scope string) (string, tokens.AccessClaims, error) {
		c := Subject
		c.Audience, c.Scope = resource, scope
		return minter(at).Mint(ctx, c)
	}
	valid, claims, err := mint(now, "mcp:tools orgs:read")
	if err != nil {
		return nil, err
	}
	deny, _, err := mint(now, "orgs:read")
	if err != nil {
		return nil, err
	}
	expired, _, err := mint(now.Add(-time.Hour), "mcp:tools orgs:read")
	if err != nil {
		return nil, err
	}
	return map[string]string{
		AccessToken: valid, AccessTokenNoRouteScope: deny, ExpiredAccessToken: expired,
		Exp: strconv.FormatInt(claims.ExpiresAt, 10), JTI: claims.JTI, Resource: resource,
	}, nil
}
