package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
)

const inspectorOrigin = "http://localhost:6274" // MCP Inspector runs in a browser

// Fetch standard (CORS preflight) for browser-based MCP clients: metadata, JWKS, register,
// token and revoke answer OPTIONS with 204, any origin, and the headers MCP clients send.
func TestCORS_Preflight(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	paths := []string{
		authserver.PathPRM, authserver.PathPRM + "/mcp", authserver.PathASMetadata, authserver.PathOIDC,
		authserver.PathJWKS, authserver.PathRegister, authserver.PathToken, authserver.PathRevoke,
	}
	for _, path := range paths {
		s.noWrites(t, "preflight "+path, func() {
			r := do(t, http.MethodOptions, s.Issuer+path, "", "",
				"Origin", inspectorOrigin, "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version")
			if r.Status != http.StatusNoContent {
				t.Fatalf("OPTIONS %s: %d", path, r.Status)
			}
			if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" && o != inspectorOrigin {
				t.Fatalf("OPTIONS %s: Access-Control-Allow-Origin %q", path, o)
			}
			allowed := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"authorization", "content-type", "mcp-protocol-version"} {
				if !strings.Contains(allowed, h) {
					t.Fatalf("OPTIONS %s: Access-Control-Allow-Headers %q lacks %s", path, allowed, h)
				}
			}
			if methods := r.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(methods, "POST") || !strings.Contains(methods, "GET") {
				t.Fatalf("OPTIONS %s: Access-Control-Allow-Methods %q", path, methods)
			}
		})
	}
}

// Fetch standard: actual responses carry Access-Control-Allow-Origin and expose
// WWW-Authenticate, so a browser client can read an invalid_client challenge (RFC 6749 §5.2).
func TestCORS_ActualResponses(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	hdr := []string{"Origin", inspectorOrigin, "MCP-Protocol-Version", "2025-11-25"}
	check := func(what string, r reply) {
		t.Helper()
		if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" && o != inspectorOrigin {
			t.Fatalf("%s: Access-Control-Allow-Origin %q", what, o)
		}
		if !strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Expose-Headers")), "www-authenticate") {
			t.Fatalf("%s: WWW-Authenticate not exposed (%q)", what, r.Header.Get("Access-Control-Expose-Headers"))
		}
	}
	check("metadata", do(t, http.MethodGet, s.Issuer+authserver.PathASMetadata, "", "", hdr...))
	check("resource metadata", do(t, http.MethodGet, s.Issuer+authserver.PathPRM+"/mcp", "", "", hdr...))
	check("jwks", do(t, http.MethodGet, s.Issuer+authserver.PathJWKS, "", "", hdr...))
	check("register", do(t, http.MethodPost, s.Issuer+authserver.PathRegister, "application/json", `{"redirect_uris":["http://localhost:6274/oauth/callback"]}`, hdr...))
	r := do(t, http.MethodPost, s.Issuer+authserver.PathToken, formType, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"abrt_x"}, "client_id": {"abc_unknown"}}.Encode(), hdr...)
	wantOAuthError(t, r, 401, "invalid_client")
	check("token 401", r)
	check("revoke", do(t, http.MethodPost, s.Issuer+authserver.PathRevoke, formType, "token=x", hdr...))
}

// MCP security best practices: the browser-facing pages (authorize, consent, callback)
// carry no CORS headers, on preflight or on any answer.
func TestCORS_NoneOnBrowserPages(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Pages", "http://127.0.0.1/cb")
	_, challenge := pkce()
	for _, path := range []string{authserver.PathAuthorize, authserver.PathConsent, authserver.PathCallback} {
		r := do(t, http.MethodOptions, s.Issuer+path, "", "", "Origin", inspectorOrigin, "Access-Control-Request-Method", "POST")
		noCORS(t, "OPTIONS "+path, r.Header)
		if r.Status < 400 {
			t.Fatalf("OPTIONS %s: %d, want a refusal", path, r.Status)
		}
	}
	b := newBrowser(t)
	consent := do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, "http://127.0.0.1:7400/cb", challenge, "s", "", "")), "", "", "Origin", inspectorOrigin)
	noCORS(t, "consent page", consent.Header)
	noCORS(t, "error redirect", do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, "http://127.0.0.1:7400/cb", "", "s", "", "")), "", "", "Origin", inspectorOrigin).Header)
	noCORS(t, "consent POST", do(t, http.MethodPost, s.Issuer+authserver.PathConsent, formType, "request_id=x&csrf_token=y&decision=approve", "Origin", inspectorOrigin).Header)
	noCORS(t, "callback", do(t, http.MethodGet, s.Issuer+authserver.PathCallback+"?state=abs_x&code=y", "", "", "Origin", inspectorOrigin).Header)

	// Through a real redirect chain: the upstream redirect and the final redirect too.
	callback := s.toCallback(t, b, authorizeParams(clientID, "http://127.0.0.1:7401/cb", challenge, "s", "", ""))
	resp, _ := b.get(callback)
	noCORS(t, "callback redirect", resp.Header)
}
