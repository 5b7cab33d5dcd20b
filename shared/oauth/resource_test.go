package oauth

import (
	"net/url"
	"strings"
	"testing"
)

var canonicalResourceTests = []struct {
	name, raw, want string
	ok              bool
}{
	{"RFC 8707 §2 already canonical", "https://mcp.example.com/mcp", "https://mcp.example.com/mcp", true},
	{"RFC 3986 §6.2.2.1 scheme and host lower-cased", "HTTPS://MCP.Example.COM/mcp", "https://mcp.example.com/mcp", true},
	{"RFC 3986 §6.2.2.1 path case kept", "https://mcp.example.com/MCP", "https://mcp.example.com/MCP", true},
	{"RFC 3986 §6.2.3 https default port removed", "https://mcp.example.com:443/mcp", "https://mcp.example.com/mcp", true},
	{"RFC 3986 §6.2.3 http default port removed", "http://localhost:80/mcp", "http://localhost/mcp", true},
	{"RFC 3986 §6.2.3 other port kept", "https://mcp.example.com:8443/mcp", "https://mcp.example.com:8443/mcp", true},
	{"RFC 3986 §6.2.3 443 is not http's default", "http://mcp.example.com:443/mcp", "http://mcp.example.com:443/mcp", true},
	{"RFC 3986 §6.2.3 80 is not https's default", "https://mcp.example.com:80/mcp", "https://mcp.example.com:80/mcp", true},
	{"RFC 3986 §6.2.3 empty port", "https://mcp.example.com:/mcp", "https://mcp.example.com/mcp", true},
	{"MCP: trailing slash removed", "https://mcp.example.com/mcp/", "https://mcp.example.com/mcp", true},
	{"MCP: several trailing slashes removed", "https://mcp.example.com/mcp//", "https://mcp.example.com/mcp", true},
	{"MCP: root path", "https://mcp.example.com/", "https://mcp.example.com", true},
	{"MCP: everything at once", "HTTPS://MCP.EXAMPLE.COM:443/Prod/mcp/", "https://mcp.example.com/Prod/mcp", true},
	{"RFC 8707 §2 query kept", "https://mcp.example.com/mcp?tenant=a", "https://mcp.example.com/mcp?tenant=a", true},
	{"RFC 3986 §6.2.2.1 IPv6 host", "https://[::1]:443/mcp", "https://[::1]/mcp", true},
	{"RFC 3986 §6.2.2.1 IPv6 host lower-cased, port kept", "http://[FE80::1]:8080/mcp", "http://[fe80::1]:8080/mcp", true},
	{"RFC 3986 §6.2.2 encoded slash is not a trailing slash", "https://mcp.example.com/mcp%2F", "https://mcp.example.com/mcp%2F", true},
	{"RFC 3986 §6.2.2 encoded slash then trailing slash", "https://mcp.example.com/mcp%2F/", "https://mcp.example.com/mcp%2F", true},
	{"RFC 3986 §6.2.2 encoded slash mid-path", "https://mcp.example.com/mcp/%2F", "https://mcp.example.com/mcp/%2F", true},
	{"RFC 8707 §2 empty", "", "", false},
	{"RFC 8707 §2 relative", "/mcp", "", false},
	{"RFC 8707 §2 no scheme", "mcp.example.com/mcp", "", false},
	{"RFC 8707 §2 fragment", "https://mcp.example.com/mcp#x", "", false},
	{"RFC 8707 §2 empty fragment", "https://mcp.example.com/mcp#", "", false},
	{"RFC 8707 §2 URN is not an http(s) resource", "urn:example:mcp", "", false},
	{"RFC 8707 §2 ftp", "ftp://mcp.example.com/mcp", "", false},
	{"RFC 8707 §2 no host", "https:///mcp", "", false},
	{"RFC 8707 §2 port without host", "https://:443/mcp", "", false},
	{"RFC 8707 §2 empty host and port", "http://:", "", false},
	{"RFC 8707 §2 opaque", "https:mcp.example.com", "", false},
	{"RFC 8707 §2 userinfo", "https://user@mcp.example.com/mcp", "", false},
	{"RFC 8707 §2 space", "https://mcp.example.com/m cp", "", false},
	{"RFC 8707 §2 newline", "https://mcp.example.com/mcp\n", "", false},
	{"RFC 3986 §2 non-ASCII host (U+212A lower-cases to k)", "https://mcp.wor\u212a.example/mcp", "", false},
	{"RFC 3986 §2 invalid UTF-8 host", "http://\xdb", "", false},
	{"RFC 3986 §2 non-ASCII path (IRI, not URI)", "https://mcp.example.com/\u00e9", "", false},
	{"RFC 3986 §2 percent-encoded non-ASCII path is a URI", "https://mcp.example.com/%C3%A9", "https://mcp.example.com/%C3%A9", true},
	{"RFC 3986 §6.2.2.1 percent-encoded host bytes kept, not case-folded", "http://0%800000", "http://0%800000", true},
	{"RFC 3986 §6.2.2.1 percent-encoded U+212A in host is not k", "https://mc%E2%84%AA.example.com/mcp", "https://mc%E2%84%AA.example.com/mcp", true},
	{"RFC 3986 §2 control character", "https://mcp.example.com/mcp\x01", "", false},
	{"RFC 8707 §2 canonical form (| escaped) over the length limit", "https://mcp.example.com/|" + strings.Repeat("a", 2048-len("https://mcp.example.com/|")), "", false},
	{"RFC 8707 §2 too long", "https://mcp.example.com/" + strings.Repeat("a", 2048), "", false},
}

func TestCanonicalResource(t *testing.T) {
	for _, tt := range canonicalResourceTests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CanonicalResource(tt.raw)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("CanonicalResource(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
			if ok {
				// The canonical form is a fixed point.
				if again, ok2 := CanonicalResource(got); !ok2 || again != got {
					t.Fatalf("not idempotent: %q → %q, %v", got, again, ok2)
				}
			}
		})
	}
}

func TestResourcesMatch(t *testing.T) {
	rs := Resources{"https://mcp.example.com/mcp", "http://localhost:8080/mcp", "https://mck.example.com/mcp"}
	tests := []struct {
		name, raw, want string
		ok              bool
	}{
		{"RFC 8707 §2 exact", "https://mcp.example.com/mcp", "https://mcp.example.com/mcp", true},
		{"RFC 8707 §2 canonical equivalent", "HTTPS://mcp.EXAMPLE.com:443/mcp/", "https://mcp.example.com/mcp", true},
		{"RFC 8707 §2 second configured resource", "http://LOCALHOST:8080/mcp/", "http://localhost:8080/mcp", true},
		{"RFC 8707 §2 other port", "http://localhost/mcp", "", false},
		{"RFC 8707 §2 unknown", "https://evil.example/mcp", "", false},
		{"RFC 8707 §2 prefix", "https://mcp.example.com/mc", "", false},
		{"RFC 8707 §2 encoded slash", "https://mcp.example.com/mcp%2F", "", false},
		{"RFC 3986 §2 Kelvin sign is not k", "https://mc\u212a.example.com/mcp", "", false},
		{"RFC 8707 §2 invalid", "not a url", "", false},
		{"RFC 8707 §2 empty", "", "", false},
	}
	for _, tt := range tests {
		got, ok := rs.Match(tt.raw)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: Match(%q) = %q, %v; want %q, %v", tt.name, tt.raw, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := Resources(nil).Match("https://mcp.example.com/mcp"); ok {
		t.Error("RFC 8707 §2: no configured resource matches nothing")
	}
}

func FuzzCanonicalResource(f *testing.F) {
	for _, tt := range canonicalResourceTests {
		f.Add(tt.raw)
	}
	for _, tt := range acceptedRedirectURIs {
		f.Add(tt.uri)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := CanonicalResource(raw)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", raw, got)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", got, raw, err)
		}
		// RFC 8707 §2: absolute http(s), no fragment; no userinfo.
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || strings.Contains(got, "#") {
			t.Fatalf("canonical %q of %q is not an absolute http(s) URI without fragment", got, raw)
		}
		if !strings.HasPrefix(got, u.Scheme+"://") || strings.ContainsAny(u.Host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("canonical %q of %q: scheme or host not lower-case", got, raw)
		}
		if strings.HasSuffix(u.EscapedPath(), "/") {
			t.Fatalf("canonical %q of %q keeps a trailing slash", got, raw)
		}
		if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
			t.Fatalf("canonical %q of %q keeps the default port", got, raw)
		}
		if again, ok := CanonicalResource(got); !ok || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", raw, got, again, ok)
		}
	})
}

// RFC 9728 §3.1: where Authbridge publishes each resource's metadata, relative to the issuer.
func TestRFC9728_3_1_ResourceMetadataPath(t *testing.T) {
	const prm = PathProtectedResourceMetadata
	for _, tt := range []struct{ name, issuer, resource, want string }{
		{"issuer origin: path below the issuer", "https://auth.example.com", "https://auth.example.com/mcp", prm + "/mcp"},
		{"issuer origin: the issuer itself", "https://auth.example.com", "https://auth.example.com", prm},
		{"stage: path below the stage", "https://h.example/Prod", "https://h.example/Prod/mcp", prm + "/mcp"},
		{"stage: outside the stage keeps its whole path", "https://h.example/Prod", "https://h.example/mcp", prm + "/mcp"},
		{"stage: a segment boundary, not a prefix", "https://h.example/Prod", "https://h.example/Production/mcp", prm + "/Production/mcp"},
		{"issuer origin: default port spelled out", "https://auth.example.com:443", "https://auth.example.com/mcp", prm + "/mcp"},
		{"companion: another host", "https://auth.example.com", "https://crm.example.com/mcp", prm + "/crm.example.com/mcp"},
		{"companion: another port", "https://auth.example.com", "https://auth.example.com:8443/mcp", prm + "/auth.example.com:8443/mcp"},
		{"companion: another scheme", "https://auth.example.com", "http://auth.example.com/mcp", prm + "/auth.example.com/mcp"},
		{"companion: loopback with a port", "http://127.0.0.1:3000", "http://127.0.0.1:5310/mcp", prm + "/127.0.0.1:5310/mcp"},
		{"companion: host root", "https://auth.example.com", "https://crm.example.com", prm + "/crm.example.com"},
		{"companion: escaped path kept escaped", "https://auth.example.com", "https://crm.example.com/a%2Fb", prm + "/crm.example.com/a%2Fb"},
	} {
		if got := ResourceMetadataPath(tt.issuer, tt.resource); got != tt.want {
			t.Errorf("%s: ResourceMetadataPath(%s, %s) = %s, want %s", tt.name, tt.issuer, tt.resource, got, tt.want)
		}
	}
}

// MCP authorization: protected resources use HTTPS; http only on a loopback host.
func TestMCP_SecureResource(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://crm.example.com/mcp": true, "http://127.0.0.1:5310/mcp": true, "http://localhost/mcp": true,
		"http://[::1]:1/mcp": true, "http://crm.example.com/mcp": false, "http://127.0.0.2/mcp": false,
		"http://localhost.evil.com/mcp": false, "ftp://127.0.0.1/mcp": false, "%zz": false,
	} {
		if got := SecureResource(raw); got != want {
			t.Errorf("SecureResource(%s) = %v, want %v", raw, got, want)
		}
	}
}
