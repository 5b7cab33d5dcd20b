package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// MCP 2025-03-26 (authorization, "fallbacks for servers without metadata discovery"): a client
// that finds no metadata uses {origin}/register, /authorize and /token. Claude has been seen
// doing so; the same handlers answer there, so the whole flow completes on those paths.
func TestLegacyFallbackPaths(t *testing.T) {
	s := newStack(t, nil)
	resp, err := http.Post(s.Issuer+"/register", "application/json",
		strings.NewReader(`{"client_name":"Fallback","redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code","refresh_token"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	if body := readBody(t, resp); resp.StatusCode != http.StatusCreated || jsonUnmarshal(body, &reg) != nil {
		t.Fatalf("POST /register: %d %s", resp.StatusCode, body)
	}
	clientID := str(reg, "client_id")

	verifier, challenge := pkce()
	q := authorizeParams(clientID, "http://127.0.0.1:50123/cb", challenge, "xyz", "", "")
	b := newBrowser(t)
	authResp, page := b.get(s.Issuer + "/authorize?" + q.Encode())
	if authResp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("GET /authorize: %d, want the consent page", authResp.StatusCode)
	}
	final := s.signIn(t, b, q, "ada@example.com") // a second authorization of the same request
	code := final.Query().Get("code")

	status, _, tok := s.postForm(t, "/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1:50123/cb"}, "code_verifier": {verifier}, "client_id": {clientID}})
	mustStatus(t, status, http.StatusOK, tok)
	if str(tok, "access_token") == "" || str(tok, "refresh_token") == "" {
		t.Fatalf("POST /token: %v", tok)
	}
}
