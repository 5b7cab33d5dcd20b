package authserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// RFC 3986 §3.2.3 / RFC 6335 §6: a redirect URI's port is 1-65535 in plain decimal. Over
// HTTP, registration refuses any other port (http loopback may say 0, the "any port"
// placeholder), and nothing is stored.
func TestRFC8252_7_3_RegistrationRefusesImpossiblePorts(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, uri := range []string{
		"http://localhost:99999/callback",
		"http://127.0.0.1:65536/cb",
		"http://[::1]:100000/cb",
		"https://app.example.com:99999/cb",
		"https://app.example.com:0/cb",
		"http://localhost:08080/cb",
		"http://localhost:/cb",
		"http://localhost:-1/cb",
	} {
		s.noWrites(t, uri, func() {
			body, _ := json.Marshal(map[string]any{"client_name": "Ports", "redirect_uris": []string{uri}})
			wantOAuthError(t, s.postRegister(t, "application/json", string(body)), http.StatusBadRequest, "invalid_redirect_uri")
		})
	}
}

// RFC 8252 §8.3 (docs/decisions.md "Loopback redirects match on any port"): localhost is
// loopback only as the exact lowercase name; look-alikes are ordinary http hosts, refused.
func TestRFC8252_8_3_LocalhostOnlyAsTheExactName(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, uri := range []string{
		"http://localhost.evil.com/callback",
		"http://localhost./callback",
		"http://LOCALHOST./callback",
		"http://LOCALHOST/callback",
		"http://evil.localhost/callback",
		"http://localhost%2e/callback",
	} {
		s.noWrites(t, uri, func() {
			body, _ := json.Marshal(map[string]any{"client_name": "Names", "redirect_uris": []string{uri}})
			wantOAuthError(t, s.postRegister(t, "application/json", string(body)), http.StatusBadRequest, "invalid_redirect_uri")
		})
	}
}

// RFC 8252 §7.3 at the authorization endpoint: a client registered with
// http://localhost/callback (as Claude Code does) may come back on any real port of the same
// host name, never on an impossible port or another name; a refusal is an error page, no
// redirect, nothing stored.
func TestRFC8252_7_3_AuthorizeLoopbackPortAndName(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "ClaudeCodeLike", "http://localhost/callback", "http://127.0.0.1/cb")
	_, challenge := pkce()
	for _, uri := range []string{"http://localhost:49152/callback", "http://localhost:1/callback", "http://127.0.0.1:65535/cb"} {
		r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, uri, challenge, "s", "", "")), "", "")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="decision"`) {
			t.Fatalf("%s: %d, want the consent page", uri, r.Status)
		}
	}
	for _, uri := range []string{
		"http://localhost:99999/callback",
		"http://localhost:65536/callback",
		"http://localhost:0/callback",
		"http://localhost:049152/callback",
		"http://localhost:/callback",
		"http://127.0.0.1:99999/cb",
		"http://LOCALHOST:49152/callback",
		"http://localhost.:49152/callback",
		"http://localhost.evil.com:49152/callback",
		"http://localhost.evil.com/callback",
	} {
		s.noWrites(t, uri, func() {
			wantErrorPage(t, do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, uri, challenge, "s", "", "")), "", ""), "redirect_uri")
		})
	}
}

// RFC 7591 §2 (docs/decisions.md "Internationalised redirect hosts are accepted"): a valid
// internationalised host is registered as sent, in either spelling, and its exact URI is
// then usable; a host IDNA refuses (UTS #46) is refused, nothing stored.
func TestRFC7591_2_InternationalisedRedirectHosts(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const unicodeURI = "https://g\u043e\u043ed.example.com/cb" // Cyrillic о: a look-alike of good
	for _, uri := range []string{unicodeURI, "https://xn--gd-fmca.example.com/cb"} {
		reg := s.register(t, `{"client_name":"IDN","redirect_uris":["`+uri+`"]}`)
		if got, _ := reg["redirect_uris"].([]any); len(got) != 1 || got[0] != uri {
			t.Fatalf("registered redirect_uris %v, want [%s] as sent", reg["redirect_uris"], uri)
		}
		_, challenge := pkce()
		r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(str(reg, "client_id"), uri, challenge, "s", "", "")), "", "")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="decision"`) {
			t.Fatalf("%s: %d, want the consent page", uri, r.Status)
		}
	}
	for _, uri := range []string{"https://\u05d0a.example.com/cb", "https://a\u2665\u0301b\u200d.example.com/cb"} {
		s.noWrites(t, uri, func() {
			body, _ := json.Marshal(map[string]any{"client_name": "IDN", "redirect_uris": []string{uri}})
			wantOAuthError(t, s.postRegister(t, "application/json", string(body)), http.StatusBadRequest, "invalid_redirect_uri")
		})
	}
}
