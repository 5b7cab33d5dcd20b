package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
)

// wantErrorPage checks an authorization error shown to the person: an HTML page, no
// Location header (RFC 6749 §4.1.2.1: never redirect to an unvalidated redirect_uri).
func wantErrorPage(t *testing.T, r reply, wantText string) {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 error page (%s)", r.Status, pageText(r.Body))
	}
	if loc := r.Header.Get("Location"); loc != "" {
		t.Fatalf("error page redirected to %s", loc)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Body, wantText) {
		t.Fatalf("error page (%s) does not say %q: %s", r.Header.Get("Content-Type"), wantText, pageText(r.Body))
	}
}

// RFC 6749 §4.1.2.1 / OAuth 2.1 §4.1.2.1: an unknown client or a missing, unregistered or
// repeated redirect_uri / client_id is shown to the person and never redirected; nothing is stored.
func TestRFC6749_4_1_2_1_ErrorPageWithoutRedirect(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Page", "https://app.example/cb")
	_, challenge := pkce()
	base := func() url.Values { return authorizeParams(clientID, "https://app.example/cb", challenge, "st", "", "") }
	cases := map[string]func(q url.Values) string{
		"unknown client": func(q url.Values) string { q.Set("client_id", "abc_unknown"); return q.Encode() },
		"missing client": func(q url.Values) string { q.Del("client_id"); return q.Encode() },
		"unregistered redirect_uri": func(q url.Values) string {
			q.Set("redirect_uri", "https://evil.example/cb")
			return q.Encode()
		},
		"redirect_uri with other path": func(q url.Values) string {
			q.Set("redirect_uri", "https://app.example/cb/x")
			return q.Encode()
		},
		"missing redirect_uri":    func(q url.Values) string { q.Del("redirect_uri"); return q.Encode() },
		"duplicated client_id":    func(q url.Values) string { q.Add("client_id", clientID); return q.Encode() },
		"duplicated redirect_uri": func(q url.Values) string { q.Add("redirect_uri", "https://evil.example/cb"); return q.Encode() },
		"long client_id":          func(q url.Values) string { q.Set("client_id", strings.Repeat("c", 600)); return q.Encode() },
		"invalid UTF-8 client_id": func(q url.Values) string { return strings.Replace(q.Encode(), "client_id=", "client_id=%FF", 1) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s.noWrites(t, name, func() {
				r := do(t, http.MethodGet, s.Issuer+authserver.PathAuthorize+"?"+mutate(base()), "", "")
				wantErrorPage(t, r, "invalid_request")
				noCORS(t, "authorize error page", r.Header)
			})
		})
	}
}

// RFC 6749 §4.1.2.1 + RFC 9207 §2: once the redirect_uri is validated and a signed-in person
// has approved it for the client (RFC 9700 §4.11.2), errors go back to it with error,
// error_description, state and iss; nothing is stored. A refused state is not echoed.
func TestRFC6749_4_1_2_1_ErrorRedirect(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const redirectURI = "https://app.example/cb?keep=1"
	clientID := s.publicClient(t, "Redirect", redirectURI)
	s.authorizeCode(t, clientID, redirectURI, "") // a person approves the client with this redirect URI
	_, challenge := pkce()
	state := "state &=✓"
	cases := []struct {
		name, code string
		mutate     func(q url.Values)
	}{
		{"response_type=token (OAuth 2.1 §4.1.1)", "unsupported_response_type", func(q url.Values) { q.Set("response_type", "token") }},
		{"missing response_type", "invalid_request", func(q url.Values) { q.Del("response_type") }},
		{"missing code_challenge (OAuth 2.1 PKCE)", "invalid_request", func(q url.Values) { q.Del("code_challenge") }},
		{"plain method (MCP: S256)", "invalid_request", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"missing method", "invalid_request", func(q url.Values) { q.Del("code_challenge_method") }},
		{"short challenge (RFC 7636 §4.2)", "invalid_request", func(q url.Values) { q.Set("code_challenge", "abc") }},
		{"foreign resource (RFC 8707 §2)", "invalid_target", func(q url.Values) { q.Set("resource", "https://evil.example/mcp") }},
		{"resource with fragment (RFC 8707 §2)", "invalid_target", func(q url.Values) { q.Set("resource", s.Issuer+"/mcp#x") }},
		{"scope bad characters", "invalid_scope", func(q url.Values) { q.Set("scope", `mcp:"tools"`) }},
		{"duplicated state (RFC 6749 §3.1)", "invalid_request", func(q url.Values) { q.Add("state", "other") }},
		{"duplicated scope (RFC 6749 §3.1)", "invalid_request", func(q url.Values) { q["scope"] = []string{"mcp:tools", "orgs:read"} }},
		{"state over 2048", "invalid_request", func(q url.Values) { q.Set("state", strings.Repeat("s", 2049)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authorizeParams(clientID, redirectURI, challenge, state, "", "")
			tc.mutate(q)
			s.noWrites(t, tc.name, func() {
				r := do(t, http.MethodGet, s.authorizeURL(q), "", "")
				if r.Status != http.StatusFound {
					t.Fatalf("status %d, want 302 to the client (%s)", r.Status, pageText(r.Body))
				}
				loc, err := url.Parse(r.Header.Get("Location"))
				if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://app.example/cb" {
					t.Fatalf("redirected to %q, want the registered redirect_uri", r.Header.Get("Location"))
				}
				got := loc.Query()
				if got.Get("keep") != "1" {
					t.Fatalf("the redirect_uri's own query was lost: %s", loc)
				}
				if got.Get("error") != tc.code || got.Get("error_description") == "" || got.Get("iss") != s.Issuer {
					t.Fatalf("error response %v, want error=%s with description and iss", got, tc.code)
				}
				refusedState := len(q["state"]) != 1 || len(q.Get("state")) > 2048
				if refusedState && got.Has("state") { // never echo a refused state
					t.Fatalf("a refused state was echoed (%d characters)", len(got.Get("state")))
				}
				if !refusedState && got.Get("state") != q.Get("state") { // RFC 6749 §4.1.2.1: state verbatim
					t.Fatalf("state = %q, want %q", got.Get("state"), q.Get("state"))
				}
			})
		})
	}
}

// RFC 8252 §7.3: a loopback redirect matches on any port; §8.3: localhost and 127.0.0.1
// are different registrations, as are 127.0.0.1 and [::1], paths, and schemes.
func TestRFC8252_7_3_LoopbackPorts(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Loopback", "http://localhost/callback", "http://127.0.0.1:8080/cb")
	_, challenge := pkce()
	accepted := []string{
		"http://localhost/callback", "http://localhost:1/callback", "http://localhost:65535/callback",
		"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb", "http://127.0.0.1:49152/cb",
	}
	for _, uri := range accepted {
		r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, uri, challenge, "s", "", "")), "", "")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="decision"`) {
			t.Fatalf("%s: %d, want the consent page", uri, r.Status)
		}
	}
	refused := []string{
		"http://127.0.0.1:5000/callback", // registered on localhost only
		"http://localhost:8080/cb",       // registered on 127.0.0.1 only
		"http://[::1]:8080/cb",
		"https://localhost/callback",
		"http://localhost:5000/callback/",
		"http://localhost:5000/other",
		"http://localhost:abc/callback",
	}
	for _, uri := range refused {
		s.noWrites(t, uri, func() {
			r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, uri, challenge, "s", "", "")), "", "")
			wantErrorPage(t, r, "redirect_uri")
		})
	}
}

// MCP security best practices (consent page): it names the client, the redirect host and
// the scopes, escapes everything, forbids framing; the browser cookie is __Host-, Secure,
// HttpOnly, SameSite=Lax, Path=/.
func TestMCPConsentPage_ContentAndHeaders(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	hostile := `<script>alert(1)</script>`
	reg := s.register(t, `{"client_name":"`+strings.ReplaceAll(hostile, `"`, `\"`)+`","redirect_uris":["https://hostile.example/cb"]}`)
	clientID := str(reg, "client_id")
	_, challenge := pkce()
	r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, "https://hostile.example/cb", challenge, "s", "", "mcp:tools orgs:read")), "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("consent page: %d %s", r.Status, r.Body)
	}
	if strings.Contains(r.Body, hostile) || !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("client_name is not HTML-escaped:\n%s", r.Body)
	}
	for _, want := range []string{"hostile.example", "mcp:tools", "orgs:read", clientID, `name="csrf_token"`, `name="request_id"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("consent page does not show %q", want)
		}
	}
	if strings.Contains(r.Body, `role="alert"`) {
		t.Fatal("loopback warning shown for an https-only client")
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
	}
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", r.Header)
	}
	noCORS(t, "consent page", r.Header)

	cookies := (&http.Response{Header: r.Header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", r.Header["Set-Cookie"])
	}
	c := cookies[0]
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("browser cookie %q does not meet __Host-/Secure/HttpOnly/SameSite=Lax/Path=/", r.Header.Get("Set-Cookie"))
	}
	if c.MaxAge <= 0 {
		t.Fatalf("cookie Max-Age %d", c.MaxAge)
	}
}

// MCP security best practices: the page warns about loopback-only clients, and only when
// every registered redirect URI is loopback.
func TestMCPConsentPage_LoopbackWarning(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	_, challenge := pkce()
	warn := func(redirect string, registered ...string) bool {
		clientID := s.publicClient(t, "Native", registered...)
		r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(clientID, redirect, challenge, "s", "", "")), "", "")
		if r.Status != http.StatusOK {
			t.Fatalf("consent page: %d", r.Status)
		}
		if !strings.Contains(r.Body, "127.0.0.1") && !strings.Contains(r.Body, "localhost") && !strings.Contains(r.Body, "app.example") {
			t.Fatal("redirect host not shown")
		}
		return strings.Contains(r.Body, `role="alert"`)
	}
	if !warn("http://127.0.0.1:3000/cb", "http://127.0.0.1/cb", "http://localhost/cb", "http://[::1]/cb") {
		t.Fatal("no warning for a loopback-only client")
	}
	if warn("http://127.0.0.1:3000/cb", "http://127.0.0.1/cb", "https://app.example/cb") {
		t.Fatal("warning shown though an https redirect URI is registered")
	}
}

// MCP authorization (confused deputy): consent is per browser and per client; a browser
// that approved a client goes straight to WorkOS next time, while another client is asked.
func TestMCPConsent_RememberedPerClient(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	first := s.publicClient(t, "First", "http://127.0.0.1/cb")
	second := s.publicClient(t, "Second", "http://127.0.0.1/cb")
	b := newBrowser(t)
	_, challenge := pkce()
	s.signIn(t, b, authorizeParams(first, "http://127.0.0.1:4000/cb", challenge, "a", "", ""), "ada@example.com")

	resp, page := b.get(s.authorizeURL(authorizeParams(first, "http://127.0.0.1:4001/cb", challenge, "b", "", "")))
	if resp.StatusCode != http.StatusFound || strings.Contains(page, `name="decision"`) {
		t.Fatalf("approved client asked again: %d", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, s.Issuer) || !strings.Contains(loc, "state=") {
		t.Fatalf("approved client not sent to WorkOS: %s", loc)
	}

	resp, page = b.get(s.authorizeURL(authorizeParams(second, "http://127.0.0.1:4002/cb", challenge, "c", "", "")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("another client was not asked: %d", resp.StatusCode)
	}
	// A different browser is asked for the first client too.
	resp, page = newBrowser(t).get(s.authorizeURL(authorizeParams(first, "http://127.0.0.1:4003/cb", challenge, "d", "", "")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("another browser was not asked: %d", resp.StatusCode)
	}
}

// RFC 6749 §3.1: the authorization endpoint supports GET; other methods are refused.
func TestRFC6749_3_1_AuthorizeMethods(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	s.noWrites(t, "POST authorize", func() {
		r := do(t, http.MethodPost, s.Issuer+authserver.PathAuthorize, formType, "client_id=x")
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
			t.Fatalf("POST authorize: %d Allow=%q", r.Status, r.Header.Get("Allow"))
		}
	})
}

// RFC 6749 §3.3 and §5.1, MCP clients in practice: a request with scopes Authbridge does not
// know (offline_access, openid, profile) is not a failed sign-in; the consent page asks for
// the supported ones, the token carries them, the token response names them, and a client
// registered for the refresh_token grant gets its refresh token whether or not it asked for
// offline_access.
func TestRFC6749_3_3_UnknownScopesIgnored(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Scope asker", "http://127.0.0.1/cb")
	verifier, challenge := pkce()
	redirectURI := "http://127.0.0.1:7901/cb"
	q := authorizeParams(clientID, redirectURI, challenge, "st", s.Issuer+"/mcp", "openid mcp:tools offline_access profile")
	b := newBrowser(t)
	resp, page := b.get(s.authorizeURL(q))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<code>mcp:tools</code>") || strings.Contains(page, "offline_access") || strings.Contains(page, "openid") {
		t.Fatalf("consent page: %d, want the supported scope only:\n%s", resp.StatusCode, pageText(page))
	}
	final := s.signIn(t, b, q, "ada@example.com")
	tok, claims := s.exchangeCode(t, final, clientID, redirectURI, verifier, s.Issuer+"/mcp")
	if str(tok, "scope") != "mcp:tools" || claims["scope"] != "mcp:tools" || str(tok, "refresh_token") == "" {
		t.Fatalf("token response scope %q, claims scope %v, refresh token %q: want mcp:tools and a refresh token", str(tok, "scope"), claims["scope"], str(tok, "refresh_token"))
	}
}
