package doctor

import (
	"reflect"
	"testing"
)

// RFC 9110 §11.6.1: several challenges, quoted and token values, escapes, any case.
func TestParseChallenges(t *testing.T) {
	cases := []struct {
		in   []string
		want map[string]string
		ok   bool
	}{
		{[]string{`Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp"`},
			map[string]string{"resource_metadata": "https://h/.well-known/oauth-protected-resource/mcp"}, true},
		{[]string{`Basic realm="x", bearer error="insufficient_scope", scope="a b", resource_metadata="u"`},
			map[string]string{"error": "insufficient_scope", "scope": "a b", "resource_metadata": "u"}, true},
		{[]string{`Basic realm="x"`, `Bearer realm=api, Resource_Metadata="q\"uote"`},
			map[string]string{"realm": "api", "resource_metadata": `q"uote`}, true},
		{[]string{`Bearer`}, map[string]string{}, true},
		{[]string{`Basic realm="x"`}, nil, false},
		{nil, nil, false},
	}
	for _, c := range cases {
		got, ok := parseChallenges(c.in, "Bearer")
		if ok != c.ok || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("parseChallenges(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// The derived metadata URLs (RFC 8414 §3.1, OpenID Discovery §4, MCP 2025-11-25).
func TestMetadataURL(t *testing.T) {
	for _, c := range []struct {
		issuer string
		w      WellKnown
		want   string
	}{
		{"https://h", OAuthInserted, "https://h/.well-known/oauth-authorization-server"},
		{"https://h/", OAuthInserted, "https://h/.well-known/oauth-authorization-server"},
		{"https://h/Prod", OAuthInserted, "https://h/.well-known/oauth-authorization-server/Prod"},
		{"https://h/Prod", OIDCInserted, "https://h/.well-known/openid-configuration/Prod"},
		{"https://h/Prod", OIDCAppended, "https://h/Prod/.well-known/openid-configuration"},
		{"https://h/Prod", OAuthRoot, "https://h/.well-known/oauth-authorization-server"},
	} {
		if got, _ := metadataURL(c.issuer, c.w); got != c.want {
			t.Errorf("metadataURL(%q, %v) = %q, want %q", c.issuer, c.w, got, c.want)
		}
	}
}
