package authserver

import "testing"

// TestDisplayHostOfUnicodeHost: whether or not registration accepts an internationalised
// redirect host, the consent page shows what the browser resolves (punycode), keeps the
// Unicode form only beside it (the page then warns), and names the punycode origin in CSP.
func TestDisplayHostOfUnicodeHost(t *testing.T) {
	cases := []struct {
		uri            string
		ascii, unicode string
		invalid        bool
	}{
		{"https://g\u043e\u043ed.example.com/cb", "xn--gd-fmca.example.com", "g\u043e\u043ed.example.com", false},
		{"https://xn--gd-fmca.example.com:8443/cb", "xn--gd-fmca.example.com:8443", "g\u043e\u043ed.example.com:8443", false},
		{"https://Good.Example.com/cb", "good.example.com", "", false},
		{"http://127.0.0.1:3000/cb", "127.0.0.1:3000", "", false},
		{"http://[::1]:3000/cb", "[::1]:3000", "", false},
		{"cursor://anysphere.cursor-mcp/oauth/callback", "anysphere.cursor-mcp", "", false},
		{"com.example.app:/cb", "com.example.app:", "", false},
		{"https://bad_host.example/cb", "bad_host.example", "", true},
		{"https://bad_h\u00f8st.example:444/cb", "xn--bad_hst-u1a.example:444", "", true},
	}
	for _, tc := range cases {
		got := displayHost(tc.uri)
		if got.ascii != tc.ascii || got.unicode != tc.unicode || got.invalid != tc.invalid {
			t.Errorf("displayHost(%q) = %+v, want ascii %q unicode %q invalid %v", tc.uri, got, tc.ascii, tc.unicode, tc.invalid)
		}
	}
	if origin, ok := cspOrigin("https://g\u043e\u043ed.example.com/cb"); !ok || origin != "https://xn--gd-fmca.example.com" {
		t.Errorf("cspOrigin of a Unicode host = %q, %v; want its punycode origin", origin, ok)
	}
}
