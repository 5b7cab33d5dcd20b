package guard_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
)

// MCP transports (Streamable HTTP, security warning): a disallowed Origin gets 403, with a
// token or without one; an allowed or absent Origin without a token keeps the 401 challenge.
// The authorizer lets a refused request through to exactly its own method ARN, with no
// identity, for the MCP function to answer the 403 (API Gateway's only authorizer 403 names
// insufficient_scope).
func TestOrigin(t *testing.T) {
	f := newFixture(t, map[string]string{"ALLOWED_ORIGINS": "http://localhost:6274"})
	tok := f.mint(t, "mcp:tools")
	withOrigin := func(origin string, authorization ...string) (int, map[string]any, []string) {
		t.Helper()
		r := request("POST", "/mcp", authorization...)
		if origin != "" {
			r.Header["Origin"] = []string{origin}
		}
		status, resp, _ := f.authorize(t, r)
		var resources []string
		if len(resp.PolicyDocument.Statement) > 0 {
			resources = resp.PolicyDocument.Statement[0].Resource
		}
		return status, resp.Context, resources
	}
	for _, c := range []struct {
		name, origin string
		token        bool
		status       int
	}{
		{"no Origin, no token", "", false, http.StatusUnauthorized},
		{"the issuer's origin, no token", testIssuer, false, http.StatusUnauthorized},
		{"an allowed origin, no token", "http://localhost:6274", false, http.StatusUnauthorized},
		{"an allowed origin, default port spelled", "http://LOCALHOST:6274", false, http.StatusUnauthorized},
		{"an allowed origin, a token", "http://localhost:6274", true, http.StatusOK},
		{"a disallowed origin, no token", "https://evil.example", false, http.StatusOK},
		{"a disallowed origin, a token", "https://evil.example", true, http.StatusOK},
		{"null", "null", false, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			var auth []string
			if c.token {
				auth = []string{"Bearer " + tok}
			}
			status, ctx, resources := withOrigin(c.origin, auth...)
			if status != c.status {
				t.Fatalf("status %d, want %d", status, c.status)
			}
			refused := ctx[guard.CtxRefused] == guard.RefusedOrigin
			allowedOrigin := c.origin == "" || c.origin == testIssuer || c.origin == "http://localhost:6274" || c.origin == "http://LOCALHOST:6274"
			if refused == allowedOrigin {
				t.Fatalf("refused %v for origin %q (context %v)", refused, c.origin, ctx)
			}
			if refused {
				// No identity: the MCP function could not act for anyone even without its own
				// Origin check; the Allow covers this request's method ARN only.
				if _, err := guard.IdentityFromAuthorizer(ctx); err == nil {
					t.Errorf("a refusal carries an identity: %v", ctx)
				}
				if want := gatewaytest.Default.MethodARN("POST", "/mcp"); len(resources) != 1 || resources[0] != want {
					t.Errorf("policy resources %v, want only %s", resources, want)
				}
			}
		})
	}
	// Several Origin values: one disallowed is enough to refuse.
	r := request("POST", "/mcp", "Bearer "+tok)
	r.Header["Origin"] = []string{"http://localhost:6274", "https://evil.example"}
	if _, resp, _ := f.authorize(t, r); resp.Context[guard.CtxRefused] != guard.RefusedOrigin {
		t.Errorf("two Origin values, one disallowed: context %v", resp.Context)
	}
}

// The cache is keyed by the digest of the signing input, which verification computes anyway;
// a token with the same header and payload but another signature (or none) is no hit, and is
// verified (and refused) as any other.
func TestCacheHitIsTheSameTokenOnly(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.mint(t, "mcp:tools")
	if status, _, err := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != http.StatusOK {
		t.Fatalf("the token: %d %v", status, err)
	}
	dot := strings.LastIndexByte(tok, '.')
	sig := []byte(tok[dot+1:])
	sig[10] ^= 'A' ^ 'B' // another valid base64url character at the same place
	if sig[10] == tok[dot+1+10] {
		sig[10] = 'C'
	}
	for name, forged := range map[string]string{
		"another signature": tok[:dot+1] + string(sig),
		"no signature":      tok[:dot+1],
		"signing input":     tok[:dot],
		"a padded copy":     tok + "=",
	} {
		if status, _, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+forged)); status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, status)
		}
	}
	if status, _, err := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != http.StatusOK {
		t.Fatalf("the token again: %d %v", status, err)
	}
}

// A token that is no b64token is refused as malformed credentials, cache or not.
func TestMalformedCredentialsBeforeAndAfterCaching(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.mint(t, "mcp:tools")
	if status, _, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != http.StatusOK {
		t.Fatal(status)
	}
	for _, bad := range []string{tok[:20] + "\x00" + tok[21:], tok + " x", "é" + tok} {
		if status, _, err := f.authorize(t, request("POST", "/mcp", "Bearer "+bad)); status != http.StatusUnauthorized {
			t.Errorf("%q…: %d %v", bad[:25], status, err)
		}
	}
}
