package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authbridge/authbridge/shared/authserver"
)

// TestWholeFlow walks the MCP authorization flow end to end against DynamoDB Local,
// local-kms and the WorkOS emulator: discovery, RFC 7591 registration of a public client,
// authorization with PKCE and an RFC 8707 resource, consent, WorkOS sign-in, the callback,
// the code exchange, verification of the JWT against the JWKS with an independent JOSE
// library, refresh-token rotation, RFC 7009 revocation, and the revoked token refused.
func TestWholeFlow(t *testing.T) {
	s := newStack(t, nil)
	resource := s.Issuer + "/mcp"

	// Discovery: RFC 9728 then RFC 8414.
	var prm, meta map[string]any
	getJSON(t, s.Issuer+"/.well-known/oauth-protected-resource/mcp", &prm)
	if prm["resource"] != resource || prm["authorization_servers"].([]any)[0] != s.Issuer {
		t.Fatalf("protected resource metadata: %v", prm)
	}
	getJSON(t, s.Issuer+"/.well-known/oauth-authorization-server", &meta)
	if meta["issuer"] != s.Issuer || meta["registration_endpoint"] != s.Issuer+authserver.PathRegister {
		t.Fatalf("server metadata: %v", meta)
	}

	// Registration of a public client with a loopback redirect (Claude Code's shape).
	reg := s.register(t, `{"client_name":"Flow Test","redirect_uris":["http://localhost/callback"],
		"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}`)
	clientID := str(reg, "client_id")
	if clientID == "" || reg["client_secret"] != nil {
		t.Fatalf("public client registration: %v", reg)
	}

	// Authorization on an ephemeral loopback port (RFC 8252 §7.3), state with odd characters.
	redirectURI := "http://localhost:49321/callback"
	verifier, challenge := pkce()
	state := "st@te with spaces & ✓"
	b := newBrowser(t)
	final := s.signIn(t, b, authorizeParams(clientID, redirectURI, challenge, state, resource, ""), "ada@example.com")
	q := final.Query()
	if got := final.Scheme + "://" + final.Host + final.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	if q.Get("state") != state || q.Get("iss") != s.Issuer || q.Get("code") == "" {
		t.Fatalf("authorization response: %v (RFC 9207 iss, state verbatim)", q)
	}

	// Code exchange.
	status, hdr, tok := s.tokenRequest(t, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}, "client_id": {clientID}, "resource": {resource}})
	mustStatus(t, status, http.StatusOK, tok)
	if hdr.Get("Cache-Control") != "no-store" || hdr.Get("Pragma") != "no-cache" {
		t.Fatalf("token response headers: %v (RFC 6749 §5.1)", hdr)
	}
	if tok["token_type"] != "Bearer" || str(tok, "refresh_token") == "" || tok["scope"] != "mcp:tools orgs:read" || tok["expires_in"].(float64) != 900 {
		t.Fatalf("token response: %v", tok)
	}

	// The JWT verifies against the published JWKS with go-jose (RFC 9068 claims).
	claims := verifyWithJWKS(t, s.Issuer, str(tok, "access_token"))
	if claims["sub"] != "user_01JADAGS1DPDFA9S9S631SFWJ6" { // Ada's WorkOS user id (infra/workos-seed.json)
		t.Fatalf("sub: %v", claims["sub"])
	}
	if claims["aud"] != resource || claims["client_id"] != clientID || claims["email"] != "ada@example.com" || claims["iss"] != s.Issuer {
		t.Fatalf("claims: %v", claims)
	}

	// Refresh rotates; the new refresh token works; the old one is refused.
	first := str(tok, "refresh_token")
	status, _, rot := s.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}, "client_id": {clientID}})
	mustStatus(t, status, http.StatusOK, rot)
	second := str(rot, "refresh_token")
	if second == "" || second == first {
		t.Fatalf("refresh did not rotate: %v", rot)
	}
	verifyWithJWKS(t, s.Issuer, str(rot, "access_token"))

	// Revocation (RFC 7009) of the current refresh token: 200, then refused.
	status, _, body := s.postForm(t, authserver.PathRevoke, url.Values{"token": {second}, "token_type_hint": {"refresh_token"}, "client_id": {clientID}})
	mustStatus(t, status, http.StatusOK, body)
	status, _, refused := s.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second}, "client_id": {clientID}})
	if status != http.StatusBadRequest || refused["error"] != "invalid_grant" {
		t.Fatalf("revoked refresh token: %d %v", status, refused)
	}
}

func getJSON(t *testing.T, raw string, out any) {
	t.Helper()
	resp, err := http.Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", raw, resp.StatusCode, body)
	}
	if err := jsonUnmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v", raw, err)
	}
}

// verifyWithJWKS checks an access token with go-jose against the server's JWKS document.
func verifyWithJWKS(t *testing.T, issuer, token string) map[string]any {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, issuer+authserver.PathJWKS, &set)
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	h := parsed.Headers[0]
	if h.ExtraHeaders["typ"] != "at+jwt" {
		t.Fatalf("typ = %v, want at+jwt (RFC 9068 §2.1)", h.ExtraHeaders["typ"])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", h.KeyID)
	}
	var claims map[string]any
	if err := parsed.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature does not verify against JWKS: %v", err)
	}
	var std jwt.Claims
	_ = parsed.Claims(keys[0].Key, &std)
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: time.Now()}, time.Minute); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return claims
}
