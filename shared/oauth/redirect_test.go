package oauth

import (
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// acceptedRedirectProblem restates the registration policy independently of redirect.go and
// returns why raw should not have been accepted ("" when it is acceptable): https with a host,
// http only on 127.0.0.1 / [::1] / localhost, or a dotted private-use scheme or authority; never
// a fragment, userinfo, whitespace or control characters, never longer than 2048 bytes.
func acceptedRedirectProblem(raw string) string {
	if raw == "" || len(raw) > 2048 {
		return "empty or longer than 2048"
	}
	if strings.Contains(raw, "#") {
		return "has a fragment"
	}
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f {
			return "has whitespace or a control character"
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "does not parse"
	}
	if u.User != nil {
		return "has userinfo"
	}
	if _, err := idna.Lookup.ToASCII(u.Hostname()); err != nil && strings.ContainsFunc(u.Hostname(), func(r rune) bool { return r > 0x7f }) {
		return "non-ASCII host that is no IDNA name"
	}
	if strings.HasSuffix(u.Host, ":") {
		return "empty port"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		loopbackPlaceholder := n == 0 && strings.ToLower(u.Scheme) == "http" && p == "0"
		if err != nil || n > 65535 || strconv.Itoa(n) != p || (n == 0 && !loopbackPlaceholder) {
			return "port outside 1-65535"
		}
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "":
		return "not absolute"
	case "https":
		if u.Opaque != "" || u.Hostname() == "" {
			return "https without host"
		}
	case "http":
		h := u.Hostname()
		if u.Opaque != "" || !(h == "127.0.0.1" || h == "::1" || h == "localhost") {
			return "http not on 127.0.0.1, [::1] or localhost"
		}
	case "javascript", "data", "file", "vbscript", "blob", "about", "filesystem", "ftp", "ws", "wss", "mailto":
		return "dangerous scheme"
	default:
		if !strings.Contains(scheme, ".") && !strings.Contains(u.Hostname(), ".") {
			return "private-use scheme is not dotted"
		}
	}
	return ""
}

var acceptedRedirectURIs = []struct{ name, uri string }{
	{"RFC 8252 §7.3 loopback IPv4 with port", "http://127.0.0.1:33418/"},
	{"RFC 8252 §7.3 loopback IPv4 without port", "http://127.0.0.1/callback"},
	{"RFC 8252 §7.3 loopback IPv6 literal", "http://[::1]:8080/cb"},
	{"RFC 8252 §8.3 localhost name (MCP clients use it)", "http://localhost/callback"},
	{"RFC 8252 §7.3 localhost with port 0 placeholder", "http://localhost:0/oauth/callback"},
	{"RFC 3986 §3.2.3 highest port", "http://localhost:65535/cb"},
	{"RFC 3986 §3.2.3 port 1", "http://127.0.0.1:1/cb"},
	{"RFC 7591 §2 internationalised host in its A-label form", "https://xn--gd-fmca.example.com/cb"},
	{"RFC 7591 §2 internationalised host, Unicode form (shown in punycode with a warning)", "https://g\u043e\u043ed.example.com/cb"},
	{"RFC 3986 §3.1 scheme is case-insensitive", "HTTPS://chatgpt.com/connector_platform_oauth_redirect"},
	{"MCP: https redirect", "https://chatgpt.com/connector_platform_oauth_redirect"},
	{"MCP: https with port and query", "https://app.example.com:8443/cb?tenant=a&x=1"},
	{"RFC 8252 §7.1 private-use scheme with dotted authority (Cursor)", "cursor://anysphere.cursor-mcp/oauth/callback"},
	{"RFC 8252 §7.1 reverse-domain private-use scheme", "com.example.app:/cb"},
	{"RFC 8252 §7.1 example from the RFC", "com.example.app:/oauth2redirect/example-provider"},
	{"RFC 7591 §3.2.2 exactly 2048 characters is within the limit", "https://app.example.com/" + strings.Repeat("a", 2048-len("https://app.example.com/"))},
}

var refusedRedirectURIs = []struct{ name, uri string }{
	{"RFC 7591 §2 empty", ""},
	{"RFC 8252 §8 javascript: scheme", "javascript:alert(1)"},
	{"RFC 8252 §8 javascript: scheme, mixed case", "JavaScript:alert(1)"},
	{"RFC 8252 §8 javascript: with dotted authority", "javascript://evil.example.com/%0aalert(1)"},
	{"RFC 8252 §8 data: scheme", "data:text/html,<script>alert(1)</script>"},
	{"RFC 8252 §8 file: scheme", "file:///etc/passwd"},
	{"RFC 8252 §8 vbscript: scheme", "vbscript:msgbox(1)"},
	{"RFC 8252 §8 blob: scheme", "blob:https://chatgpt.com/uuid"},
	{"RFC 8252 §8 ftp: scheme", "ftp://ftp.example.com/cb"},
	{"RFC 8252 §8 ws: scheme", "ws://localhost/cb"},
	{"MCP: http on a public host", "http://evil.example/callback"},
	{"MCP: http on a private address", "http://192.168.1.10/cb"},
	{"MCP: http on 127.0.0.2 is not one of the loopback names", "http://127.0.0.2/cb"},
	{"MCP: http on 0.0.0.0", "http://0.0.0.0:8080/cb"},
	{"MCP: http on [::]", "http://[::]:8080/cb"},
	{"MCP: http on localhost.evil.com", "http://localhost.evil.com/cb"},
	{"MCP: http on 127.0.0.1.nip.io", "http://127.0.0.1.nip.io/cb"},
	{"MCP: loopback limited to 127.0.0.1/[::1]/localhost: IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]/cb"},
	{"MCP: loopback limited to 127.0.0.1/[::1]/localhost: long IPv6 form", "http://[0:0:0:0:0:0:0:1]/cb"},
	{"MCP: http opaque form", "http:localhost/cb"},
	{"RFC 6749 §3.1.2 fragment", "https://chatgpt.com/connector_platform_oauth_redirect#frag"},
	{"RFC 6749 §3.1.2 empty fragment", "https://chatgpt.com/cb#"},
	{"RFC 6749 §3.1.2 fragment on loopback", "http://127.0.0.1:8080/cb#x"},
	{"RFC 6749 §3.1.2 fragment on private-use", "com.example.app:/cb#x"},
	{"RFC 8252 §8.6 userinfo user:pass", "https://user:pass@chatgpt.com/cb"},
	{"RFC 8252 §8.6 userinfo user only", "https://user@chatgpt.com/cb"},
	{"RFC 8252 §8.6 empty userinfo", "https://@chatgpt.com/cb"},
	{"RFC 8252 §8.6 userinfo 'localhost' hiding another host", "http://localhost@evil.com/cb"},
	{"RFC 8252 §8.6 userinfo on loopback", "http://evil.com@localhost/cb"},
	{"RFC 7591 §3.2.2 longer than 2048 characters", "https://app.example.com/" + strings.Repeat("a", 2049-len("https://app.example.com/"))},
	{"RFC 3986 §2 space", "https://app.example.com/c b"},
	{"RFC 3986 §2 trailing newline", "https://app.example.com/cb\n"},
	{"RFC 3986 §2 tab", "https://app.example.com/\tcb"},
	{"RFC 3986 §2 NUL", "https://app.example.com/cb\x00"},
	{"RFC 3986 §2 DEL", "https://app.example.com/cb\x7f"},
	{"RFC 3986 §4.3 not a URL", "not a url"},
	{"RFC 3986 §4.3 relative path", "/callback"},
	{"RFC 3986 §4.3 scheme-less", "chatgpt.com/cb"},
	{"MCP: https without host", "https:///cb"},
	{"MCP: https with only a port", "https://:443/cb"},
	{"MCP: https opaque form", "https:chatgpt.com/cb"},
	{"RFC 3986 §3.2.3 port above 65535 on localhost", "http://localhost:99999/cb"},
	{"RFC 3986 §3.2.3 port above 65535 on 127.0.0.1", "http://127.0.0.1:65536/cb"},
	{"RFC 3986 §3.2.3 port above 65535 on https", "https://app.example.com:99999/cb"},
	{"RFC 3986 §3.2.3 port with a leading zero", "http://localhost:08080/cb"},
	{"RFC 3986 §3.2.3 very long port", "http://localhost:0000000000080/cb"},
	{"RFC 3986 §3.2.3 empty port after a colon", "http://localhost:/cb"},
	{"RFC 3986 §3.2.3 empty port on [::1]", "http://[::1]:/cb"},
	{"RFC 6335 §6 port 0 on https (the placeholder is loopback only)", "https://app.example.com:0/cb"},
	{"RFC 8252 §8.3 localhost only as the exact name: uppercase", "http://LOCALHOST:6274/oauth/callback"},
	{"RFC 8252 §8.3 localhost only as the exact name: mixed case", "http://LocalHost/cb"},
	{"RFC 8252 §8.3 localhost only as the exact name: trailing dot", "http://localhost./cb"},
	{"RFC 8252 §8.3 localhost only as the exact name: uppercase and trailing dot", "http://LOCALHOST./cb"},
	{"RFC 8252 §8.3 localhost only as the exact name: subdomain", "http://evil.localhost/cb"},
	{"RFC 7591 §2 internationalised host that is no valid IDNA name (disallowed symbol)", "https://a\u2665\u0301b\u200d.example.com/cb"},
	{"RFC 7591 §2 internationalised host with a bidi mix IDNA refuses", "https://\u05d0a.example.com/cb"},
	{"RFC 8252 §7.1 private-use scheme without a dot", "myapp://callback"},
	{"RFC 8252 §7.1 private-use scheme without a dot, path form", "myapp:/cb"},
	{"RFC 8252 §7.1 private-use scheme without a dot, opaque", "myapp:cb"},
}

func TestValidateRedirectURI(t *testing.T) {
	for _, tt := range acceptedRedirectURIs {
		t.Run("accept/"+tt.name, func(t *testing.T) {
			wantCode(t, ValidateRedirectURI(tt.uri), "")
			if p := acceptedRedirectProblem(tt.uri); p != "" {
				t.Fatalf("test oracle disagrees: %s", p)
			}
		})
	}
	for _, tt := range refusedRedirectURIs {
		t.Run("refuse/"+tt.name, func(t *testing.T) {
			// RFC 7591 §3.2.2: invalid_redirect_uri.
			wantCode(t, ValidateRedirectURI(tt.uri), "invalid_redirect_uri")
		})
	}
}

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},  // RFC 8252 §7.3
		{"::1", true},        // RFC 8252 §7.3
		{"localhost", true},  // RFC 8252 §8.3 (MCP clients use it)
		{"LocalHost", false}, // RFC 8252 §8.3: localhost only as the exact lowercase name
		{"LOCALHOST", false},
		{"LOCALHOST.", false},
		{"127.0.0.2", false},
		{"0.0.0.0", false},
		{"::", false},
		{"::ffff:127.0.0.1", false}, // MCP: only 127.0.0.1, [::1], localhost
		{"0:0:0:0:0:0:0:1", false},  // MCP: only 127.0.0.1, [::1], localhost
		{"[::1]", false},            // brackets are not part of the host
		{"localhost.", false},
		{"localhost.evil.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsLoopbackHost(tt.host); got != tt.want {
			t.Errorf("RFC 8252 §7.3: IsLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestMatchRedirectURI(t *testing.T) {
	const chatgpt = "https://chatgpt.com/connector_platform_oauth_redirect"
	tests := []struct {
		name       string
		registered []string
		requested  string
		want       bool
	}{
		{"OAuth 2.1 §2.3.1 exact https match", []string{"https://claude.ai/api/mcp/auth_callback", chatgpt}, chatgpt, true},
		{"OAuth 2.1 §2.3.1 exact private-use match", []string{"cursor://anysphere.cursor-mcp/oauth/callback"}, "cursor://anysphere.cursor-mcp/oauth/callback", true},
		{"OAuth 2.1 §2.3.1 nothing registered", nil, chatgpt, false},
		{"OAuth 2.1 §2.3.1 empty request", []string{chatgpt}, "", false},
		{"OAuth 2.1 §2.3.1 suffix on the path (prefix match)", []string{chatgpt}, chatgpt + ".evil.com", false},
		{"OAuth 2.1 §2.3.1 extra path segment", []string{chatgpt}, chatgpt + "/extra", false},
		{"OAuth 2.1 §2.3.1 dot-segment traversal", []string{"https://app.example.com/cb"}, "https://app.example.com/cb/../x", false},
		{"OAuth 2.1 §2.3.1 dot-segment that resolves to the same path", []string{"https://app.example.com/cb"}, "https://app.example.com/x/../cb", false},
		{"OAuth 2.1 §2.3.1 path case change", []string{chatgpt}, "https://chatgpt.com/Connector_platform_oauth_redirect", false},
		{"OAuth 2.1 §2.3.1 host case change is not byte-identical", []string{chatgpt}, "https://ChatGPT.com/connector_platform_oauth_redirect", false},
		{"OAuth 2.1 §2.3.1 trailing slash", []string{chatgpt}, chatgpt + "/", false},
		{"OAuth 2.1 §2.3.1 added query", []string{chatgpt}, chatgpt + "?x=1", false},
		{"OAuth 2.1 §2.3.1 added fragment", []string{chatgpt}, chatgpt + "#x", false},
		{"OAuth 2.1 §2.3.1 percent-encoded character", []string{"https://app.example.com/cb"}, "https://app.example.com/c%62", false},
		{"OAuth 2.1 §2.3.1 host suffix", []string{chatgpt}, "https://chatgpt.com.evil.com/connector_platform_oauth_redirect", false},
		{"OAuth 2.1 §2.3.1 userinfo prefix", []string{chatgpt}, "https://chatgpt.com@evil.com/connector_platform_oauth_redirect", false},
		{"OAuth 2.1 §2.3.1 https never matches on another port", []string{"https://app.example.com/cb"}, "https://app.example.com:8443/cb", false},
		{"OAuth 2.1 §2.3.1 https explicit default port is not identical", []string{"https://app.example.com/cb"}, "https://app.example.com:443/cb", false},
		{"OAuth 2.1 §2.3.1 https on registered port vs other port", []string{"https://app.example.com:8443/cb"}, "https://app.example.com:9443/cb", false},
		{"RFC 8252 §7.3 is http only: https loopback keeps its port", []string{"https://127.0.0.1/cb"}, "https://127.0.0.1:5000/cb", false},
		{"RFC 8252 §7.3 loopback IPv4 any port", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:49152/cb", true},
		{"RFC 8252 §7.3 loopback IPv4 registered port replaced", []string{"http://127.0.0.1:33418/"}, "http://127.0.0.1:50000/", true},
		{"RFC 8252 §7.3 loopback IPv4 port removed", []string{"http://127.0.0.1:33418/"}, "http://127.0.0.1/", true},
		{"RFC 8252 §7.3 loopback IPv6 any port", []string{"http://[::1]/cb"}, "http://[::1]:61000/cb", true},
		{"RFC 8252 §7.3 localhost any port", []string{"http://localhost/callback"}, "http://localhost:49152/callback", true},
		{"RFC 8252 §7.3 localhost registered with port 0", []string{"http://localhost:0/oauth/callback"}, "http://localhost:65535/oauth/callback", true},
		{"RFC 8252 §8.3 localhost: registered and used names identical, not case-folded", []string{"http://localhost/callback"}, "http://LOCALHOST:5000/callback", false},
		{"RFC 8252 §8.3 localhost: trailing dot is another name", []string{"http://localhost/callback"}, "http://localhost.:5000/callback", false},
		{"RFC 8252 §8.3 localhost: a name under localhost is another host", []string{"http://localhost/callback"}, "http://localhost.evil.com:5000/callback", false},
		{"RFC 8252 §8.3 localhost: uppercase registration (legacy item) matches nothing port-agnostic", []string{"http://LOCALHOST/callback"}, "http://LOCALHOST:5000/callback", false},
		{"RFC 3986 §3.2.3 request on port 99999", []string{"http://localhost/callback"}, "http://localhost:99999/callback", false},
		{"RFC 3986 §3.2.3 request on port 65536", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:65536/cb", false},
		{"RFC 3986 §3.2.3 request on port 0 (the placeholder is no destination)", []string{"http://localhost:0/oauth/callback"}, "http://localhost:0/oauth/callback", false},
		{"RFC 3986 §3.2.3 request with an empty port", []string{"http://localhost/callback"}, "http://localhost:/callback", false},
		{"RFC 3986 §3.2.3 request with a leading-zero port", []string{"http://localhost/callback"}, "http://localhost:05000/callback", false},
		{"RFC 3986 §3.2.3 exact https match on an impossible port (legacy item)", []string{"https://app.example.com:99999/cb"}, "https://app.example.com:99999/cb", false},
		{"RFC 8252 §7.3 loopback highest port", []string{"http://localhost/callback"}, "http://localhost:65535/callback", true},
		{"RFC 8252 §7.3 + RFC 3986 §6.2.2.1 scheme case-insensitive on loopback", []string{"http://127.0.0.1/cb"}, "HTTP://127.0.0.1:5000/cb", true},
		{"RFC 8252 §7.3 localhost does not match 127.0.0.1", []string{"http://127.0.0.1/cb"}, "http://localhost:5000/cb", false},
		{"RFC 8252 §7.3 127.0.0.1 does not match localhost", []string{"http://localhost/cb"}, "http://127.0.0.1:5000/cb", false},
		{"RFC 8252 §7.3 [::1] does not match 127.0.0.1", []string{"http://127.0.0.1/cb"}, "http://[::1]:5000/cb", false},
		{"RFC 8252 §7.3 loopback path must be identical", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/cb2", false},
		{"RFC 8252 §7.3 loopback path case change", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/CB", false},
		{"RFC 8252 §7.3 loopback dot-segment traversal", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/cb/../x", false},
		{"RFC 8252 §7.3 loopback trailing slash", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/cb/", false},
		{"RFC 8252 §7.3 loopback '/' vs empty path", []string{"http://127.0.0.1/"}, "http://127.0.0.1:5000", false},
		{"RFC 8252 §7.3 loopback added query", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/cb?x=1", false},
		{"RFC 8252 §7.3 loopback query must be identical", []string{"http://127.0.0.1/cb?a=1"}, "http://127.0.0.1:5000/cb?a=2", false},
		{"RFC 8252 §7.3 loopback same query on any port", []string{"http://127.0.0.1/cb?a=1"}, "http://127.0.0.1:5000/cb?a=1", true},
		{"RFC 8252 §7.3 loopback percent-encoded path", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/c%62", false},
		{"RFC 8252 §7.3 loopback fragment", []string{"http://127.0.0.1/cb"}, "http://127.0.0.1:5000/cb#x", false},
		{"RFC 8252 §8.6 loopback with userinfo", []string{"http://127.0.0.1/cb"}, "http://x@127.0.0.1:5000/cb", false},
		{"RFC 8252 §7.3 loopback https request vs http registration", []string{"http://127.0.0.1/cb"}, "https://127.0.0.1:5000/cb", false},
		{"MCP: non-loopback http never port-agnostic", []string{"http://evil.example/cb"}, "http://evil.example:8080/cb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchRedirectURI(tt.registered, tt.requested); got != tt.want {
				t.Fatalf("MatchRedirectURI(%q, %q) = %v, want %v", tt.registered, tt.requested, got, tt.want)
			}
		})
	}
}

// TestRealClientsMustRejectRedirectURIs: every must_reject_redirect_uris entry is refused on
// its own and inside a registration (RFC 7591 §3.2.2 invalid_redirect_uri).
func TestRealClientsMustRejectRedirectURIs(t *testing.T) {
	rc := loadRealClients(t)
	if len(rc.MustReject) == 0 {
		t.Fatal("shared/testenv/realclients.json has no must_reject_redirect_uris")
	}
	for _, uri := range rc.MustReject {
		t.Run(uri, func(t *testing.T) {
			wantCode(t, ValidateRedirectURI(uri), "invalid_redirect_uri")
			body := mustJSON(t, map[string]any{"redirect_uris": []string{"https://app.example.com/cb", uri}})
			_, err := ParseClientMetadata(body, testSupported)
			wantCode(t, err, "invalid_redirect_uri")
		})
	}
}

// knownUnregisteredRuntimeURIs lists runtime_redirect_uris of shared/testenv/realclients.json that the same
// entry's registration does not contain. OAuth 2.1 §2.3.1 (exact match, and the issue's
// "prefix/suffix tricks refused") wins over the data: they must NOT match, and must match
// once a client registers them (a ChatGPT connector registers its per-connector path).
var knownUnregisteredRuntimeURIs = map[string]string{
	"https://chatgpt.com/connector/oauth/cb_7f3a1c2d": "ChatGPT connectors",
}

// TestRealClientsRuntimeRedirectURIs: each runtime redirect URI matches the client's
// registration; port 0 stands for the ephemeral port the client picks (RFC 8252 §7.3).
func TestRealClientsRuntimeRedirectURIs(t *testing.T) {
	rc := loadRealClients(t)
	seenKnown := map[string]bool{}
	for _, c := range rc.Clients {
		if len(c.RuntimeRedirectURIs) == 0 {
			t.Errorf("%s: no runtime_redirect_uris", c.Name)
		}
		registered, err := ParseClientMetadata(c.Registration, testSupported)
		wantCode(t, err, "")
		for _, rt := range c.RuntimeRedirectURIs {
			for _, port := range []int{49152, 65535, 1024 + rand.IntN(65535-1024)} {
				uri := withEphemeralPort(t, rt, port)
				t.Run(c.Name+"/"+uri, func(t *testing.T) {
					if owner, known := knownUnregisteredRuntimeURIs[uri]; known && owner == c.Name {
						seenKnown[uri] = true
						if MatchRedirectURI(registered.RedirectURIs, uri) {
							t.Fatalf("OAuth 2.1 §2.3.1: %q is not registered but matched %q", uri, registered.RedirectURIs)
						}
						wantCode(t, ValidateRedirectURI(uri), "")
						if !MatchRedirectURI(append(registered.RedirectURIs, uri), uri) {
							t.Fatalf("OAuth 2.1 §2.3.1: %q does not match once registered", uri)
						}
						return
					}
					// RFC 8252 §7.3: the URI the client uses at run time matches its registration.
					if !MatchRedirectURI(registered.RedirectURIs, uri) {
						t.Fatalf("runtime redirect URI %q does not match registered %q", uri, registered.RedirectURIs)
					}
					if _, err := RedirectTarget(AuthorizeRequest{RedirectURI: uri}, RegisteredClient{RedirectURIs: registered.RedirectURIs}); err != nil {
						t.Fatalf("RedirectTarget: %v", err)
					}
				})
			}
		}
	}
	for uri := range knownUnregisteredRuntimeURIs {
		if !seenKnown[uri] {
			t.Errorf("knownUnregisteredRuntimeURIs: %q is no longer in shared/testenv/realclients.json; remove it", uri)
		}
	}
}

// withEphemeralPort replaces a port 0 in raw (the placeholder of shared/testenv/realclients.json) by port.
func withEphemeralPort(t testing.TB, raw string, port int) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("runtime redirect URI %q: %v", raw, err)
	}
	if u.Port() != "0" {
		return raw
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	return u.String()
}

func FuzzValidateRedirectURI(f *testing.F) {
	for _, tt := range acceptedRedirectURIs {
		f.Add(tt.uri)
	}
	for _, tt := range refusedRedirectURIs {
		f.Add(tt.uri)
	}
	rc := loadRealClients(f)
	for _, c := range rc.Clients {
		var m struct {
			RedirectURIs []string `json:"redirect_uris"`
		}
		mustUnmarshal(f, c.Registration, &m)
		for _, u := range append(m.RedirectURIs, c.RuntimeRedirectURIs...) {
			f.Add(u)
		}
	}
	for _, u := range rc.MustReject {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := ValidateRedirectURI(raw)
		if err != nil {
			if err.Code != "invalid_redirect_uri" {
				t.Fatalf("RFC 7591 §3.2.2: refusal code %q", err.Code)
			}
			return
		}
		if p := acceptedRedirectProblem(raw); p != "" {
			t.Fatalf("accepted %q, which %s", raw, p)
		}
		// OAuth 2.1 §2.3.1: a registered URI always matches itself; the loopback port-0
		// placeholder is no destination, so it matches itself on a real port instead.
		if u, _ := url.Parse(raw); u.Port() == "0" {
			if MatchRedirectURI([]string{raw}, raw) || !MatchRedirectURI([]string{raw}, withEphemeralPort(t, raw, 49152)) {
				t.Fatalf("placeholder %q: matches itself on port 0, or not on port 49152", raw)
			}
			return
		}
		if !MatchRedirectURI([]string{raw}, raw) {
			t.Fatalf("accepted %q does not match itself", raw)
		}
	})
}
