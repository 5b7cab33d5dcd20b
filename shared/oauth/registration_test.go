package oauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/authbridge/authbridge/shared/testenv"
)

// testSupported is the scope list of the default configuration (SCOPES_SUPPORTED).
var testSupported = Scope{"mcp:tools", "orgs:read"}

// loadRealClients is the embedded data set of real MCP clients' registrations.
func loadRealClients(t testing.TB) testenv.RealClients { return testenv.LoadRealClients(t) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustUnmarshal(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
}

// TestRealClientsRegistration: every registration a real MCP client sends is accepted
// (RFC 7591 §3.2.1) and comes back with its redirect URIs and auth method unchanged.
func TestRealClientsRegistration(t *testing.T) {
	rc := loadRealClients(t)
	for _, c := range rc.Clients {
		t.Run(c.Name, func(t *testing.T) {
			var sent struct {
				RedirectURIs []string `json:"redirect_uris"`
				Method       string   `json:"token_endpoint_auth_method"`
				ClientName   string   `json:"client_name"`
			}
			mustUnmarshal(t, c.Registration, &sent)
			m, err := ParseClientMetadata(c.Registration, testSupported)
			wantCode(t, err, "")
			if !slices.Equal(m.RedirectURIs, sent.RedirectURIs) {
				t.Errorf("redirect_uris = %q, want %q", m.RedirectURIs, sent.RedirectURIs)
			}
			wantMethod := sent.Method
			if wantMethod == "" {
				wantMethod = AuthMethodNone
			}
			if m.TokenEndpointAuthMethod != wantMethod {
				t.Errorf("token_endpoint_auth_method = %q, want %q", m.TokenEndpointAuthMethod, wantMethod)
			}
			if m.ClientName != sent.ClientName {
				t.Errorf("client_name = %q, want %q", m.ClientName, sent.ClientName)
			}
			if !slices.Contains(m.GrantTypes, GrantAuthorizationCode) || !slices.Equal(m.ResponseTypes, []string{"code"}) {
				t.Errorf("grant_types %q / response_types %q", m.GrantTypes, m.ResponseTypes)
			}
		})
	}
}

func TestParseClientMetadata(t *testing.T) {
	const good = `"redirect_uris":["https://app.example.com/cb"]`
	uris := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"https://app.example.com/cb%d"`, i)
		}
		return `{"redirect_uris":[` + b.String() + `]}`
	}
	tests := []struct {
		name  string
		body  string
		want  string // error code, "" for success
		check func(t *testing.T, m ClientMetadata)
	}{
		{"RFC 7591 §2 defaults: none, authorization_code, code", `{` + good + `}`, "", func(t *testing.T, m ClientMetadata) {
			if m.TokenEndpointAuthMethod != AuthMethodNone || m.Confidential() {
				t.Errorf("method %q confidential %v, want none / public", m.TokenEndpointAuthMethod, m.Confidential())
			}
			if !slices.Equal(m.GrantTypes, []string{"authorization_code"}) || !slices.Equal(m.ResponseTypes, []string{"code"}) {
				t.Errorf("grant_types %q response_types %q", m.GrantTypes, m.ResponseTypes)
			}
			if m.Scope != "" || m.ClientName != "" {
				t.Errorf("scope %q client_name %q, want empty", m.Scope, m.ClientName)
			}
		}},
		{"RFC 7591 §2 empty arrays take the defaults", `{` + good + `,"grant_types":[],"response_types":[]}`, "", func(t *testing.T, m ClientMetadata) {
			if !slices.Equal(m.GrantTypes, []string{"authorization_code"}) || !slices.Equal(m.ResponseTypes, []string{"code"}) {
				t.Errorf("grant_types %q response_types %q", m.GrantTypes, m.ResponseTypes)
			}
		}},
		{"RFC 7591 §2 token_endpoint_auth_method none", `{` + good + `,"token_endpoint_auth_method":"none"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.TokenEndpointAuthMethod != AuthMethodNone || m.Confidential() {
				t.Errorf("method %q", m.TokenEndpointAuthMethod)
			}
		}},
		{"RFC 7591 §2 client_secret_post", `{` + good + `,"token_endpoint_auth_method":"client_secret_post"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.TokenEndpointAuthMethod != AuthMethodClientSecretPost || !m.Confidential() {
				t.Errorf("method %q", m.TokenEndpointAuthMethod)
			}
		}},
		{"RFC 7591 §2 client_secret_basic", `{` + good + `,"token_endpoint_auth_method":"client_secret_basic"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.TokenEndpointAuthMethod != AuthMethodClientSecretBasic || !m.Confidential() {
				t.Errorf("method %q", m.TokenEndpointAuthMethod)
			}
		}},
		{"RFC 7591 §2 private_key_jwt refused", `{` + good + `,"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §2 client_secret_jwt refused", `{` + good + `,"token_endpoint_auth_method":"client_secret_jwt"}`, "invalid_client_metadata", nil},
		{"RFC 8705 tls_client_auth refused", `{` + good + `,"token_endpoint_auth_method":"tls_client_auth"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §2 method values are case-sensitive", `{` + good + `,"token_endpoint_auth_method":"None"}`, "invalid_client_metadata", nil},

		{"RFC 7591 §2 redirect_uris missing", `{"client_name":"x"}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §2 redirect_uris empty", `{"redirect_uris":[]}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §2 redirect_uris null", `{"redirect_uris":null}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 null element", `{"redirect_uris":[null]}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 20 redirect URIs accepted", uris(20), "", func(t *testing.T, m ClientMetadata) {
			if len(m.RedirectURIs) != 20 {
				t.Errorf("got %d redirect URIs", len(m.RedirectURIs))
			}
		}},
		{"RFC 7591 §3.2.2 21 redirect URIs refused", uris(21), "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 javascript: refused", `{"redirect_uris":["javascript:alert(1)"]}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 data: refused", `{"redirect_uris":["data:text/html,x"]}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 file: refused", `{"redirect_uris":["file:///etc/passwd"]}`, "invalid_redirect_uri", nil},
		{"MCP: plain http refused", `{"redirect_uris":["http://evil.example/cb"]}`, "invalid_redirect_uri", nil},
		{"RFC 6749 §3.1.2 fragment refused", `{"redirect_uris":["https://app.example.com/cb#x"]}`, "invalid_redirect_uri", nil},
		{"RFC 8252 §8.6 userinfo refused", `{"redirect_uris":["https://u:p@app.example.com/cb"]}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 URI over 2048 refused", `{"redirect_uris":["https://app.example.com/` + strings.Repeat("a", 2048) + `"]}`, "invalid_redirect_uri", nil},
		{"RFC 7591 §3.2.2 one bad URI among good ones", `{"redirect_uris":["https://app.example.com/cb","http://127.0.0.1/cb","http://evil.example/cb"]}`, "invalid_redirect_uri", nil},
		{"RFC 8252 §7.1/§7.3 mixed private-use, https and loopback", `{"redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback","https://www.cursor.com/cb","http://localhost:8787/callback","com.example.app:/cb"]}`, "", func(t *testing.T, m ClientMetadata) {
			if len(m.RedirectURIs) != 4 {
				t.Errorf("got %q", m.RedirectURIs)
			}
		}},
		{"RFC 7591 §2 duplicate redirect URIs kept once", `{"redirect_uris":["https://a.example/cb","https://a.example/cb","https://b.example/cb"]}`, "", func(t *testing.T, m ClientMetadata) {
			if !slices.Equal(m.RedirectURIs, []string{"https://a.example/cb", "https://b.example/cb"}) {
				t.Errorf("got %q", m.RedirectURIs)
			}
		}},

		{"RFC 7591 §3.2.2 redirect_uris as a string", `{"redirect_uris":"https://app.example.com/cb"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 redirect_uris element a number", `{"redirect_uris":[1]}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 redirect_uris an object", `{"redirect_uris":{"a":"b"}}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 token_endpoint_auth_method a number", `{` + good + `,"token_endpoint_auth_method":1}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 grant_types a string", `{` + good + `,"grant_types":"authorization_code"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 response_types an object", `{` + good + `,"response_types":{}}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 client_name a number", `{` + good + `,"client_name":5}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 scope an array", `{` + good + `,"scope":["mcp:tools"]}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.2.2 client_uri a bool", `{` + good + `,"client_uri":true}`, "invalid_client_metadata", nil},

		{"RFC 7591 §3.1 empty body", ``, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 not JSON", `redirect_uris=https://app.example.com/cb`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 truncated JSON", `{` + good, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 array, not object", `[{` + good + `}]`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 string, not object", `"x"`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 null, not object", `null`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 number, not object", `42`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 two JSON objects", `{` + good + `} {}`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 trailing garbage", `{` + good + `}x`, "invalid_client_metadata", nil},
		{"RFC 7591 §3.1 surrounding whitespace is fine", " \n\t{" + good + "}\r\n ", "", nil},

		{"RFC 7591 §2 unknown members ignored", `{` + good + `,"software_id":"x","software_statement":"eyJ...","jwks":{"keys":[]},"contacts":["a@b.example"],"x-extra":{"nested":[1,{"a":null}]},"tos_uri":"http://not-checked.example"}`, "", nil},

		{"RFC 7591 §2 refresh_token with authorization_code", `{` + good + `,"grant_types":["authorization_code","refresh_token","authorization_code"]}`, "", func(t *testing.T, m ClientMetadata) {
			if !slices.Equal(m.GrantTypes, []string{"authorization_code", "refresh_token"}) {
				t.Errorf("got %q", m.GrantTypes)
			}
		}},
		{"OAuth 2.1 §4.1 grant_types without authorization_code", `{` + good + `,"grant_types":["refresh_token"]}`, "invalid_client_metadata", nil},
		{"OAuth 2.1 §10.1 implicit grant refused", `{` + good + `,"grant_types":["implicit"]}`, "invalid_client_metadata", nil},
		{"OAuth 2.1 §10.2 password grant refused", `{` + good + `,"grant_types":["authorization_code","password"]}`, "invalid_client_metadata", nil},
		{"RFC 7591 §2 client_credentials not supported", `{` + good + `,"grant_types":["authorization_code","client_credentials"]}`, "invalid_client_metadata", nil},
		{"OAuth 2.1 §10.1 response_type token refused", `{` + good + `,"response_types":["token"]}`, "invalid_client_metadata", nil},
		{"OAuth 2.1 §10.1 hybrid response_type refused", `{` + good + `,"response_types":["code id_token"]}`, "invalid_client_metadata", nil},
		{"RFC 7591 §2 response_types code deduplicated", `{` + good + `,"response_types":["code","code"]}`, "", func(t *testing.T, m ClientMetadata) {
			if !slices.Equal(m.ResponseTypes, []string{"code"}) {
				t.Errorf("got %q", m.ResponseTypes)
			}
		}},

		{"RFC 7591 §5 control characters dropped from client_name", `{` + good + `,"client_name":"\u0000Cla\u0007u\u001bde\n\r\t\u007f\u0085"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.ClientName != "Claude" {
				t.Errorf("client_name = %q", m.ClientName)
			}
		}},
		{"RFC 7591 §5 bidi overrides and line separators dropped", `{` + good + `,"client_name":"\u202eedualC\u202c \u2028x\u2029\u200e"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.ClientName != "edualC x" {
				t.Errorf("client_name = %q", m.ClientName)
			}
		}},
		{"RFC 7591 §2 client_name trimmed, inner spaces kept", `{` + good + `,"client_name":"  Visual Studio Code  "}`, "", func(t *testing.T, m ClientMetadata) {
			if m.ClientName != "Visual Studio Code" {
				t.Errorf("client_name = %q", m.ClientName)
			}
		}},
		{"RFC 7591 §2 non-ASCII client_name kept", `{` + good + `,"client_name":"Éditeur 日本"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.ClientName != "Éditeur 日本" {
				t.Errorf("client_name = %q", m.ClientName)
			}
		}},
		{"RFC 7591 §2 client_name of 200 characters", `{` + good + `,"client_name":"` + strings.Repeat("é", 200) + `"}`, "", nil},
		{"RFC 7591 §2 client_name of 201 characters", `{` + good + `,"client_name":"` + strings.Repeat("é", 201) + `"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §2 client_uri https", `{` + good + `,"client_uri":"https://app.example.com","logo_uri":"https://app.example.com/logo.png"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.ClientURI != "https://app.example.com" || m.LogoURI != "https://app.example.com/logo.png" {
				t.Errorf("client_uri %q logo_uri %q", m.ClientURI, m.LogoURI)
			}
		}},
		{"RFC 7591 §5 client_uri http refused (shown on consent)", `{` + good + `,"client_uri":"http://app.example.com"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §5 logo_uri javascript refused", `{` + good + `,"logo_uri":"javascript:alert(1)"}`, "invalid_client_metadata", nil},
		{"RFC 7591 §5 client_uri with userinfo refused", `{` + good + `,"client_uri":"https://u@app.example.com"}`, "invalid_client_metadata", nil},

		{"RFC 7591 §3.2.1 unsupported scope tokens dropped", `{` + good + `,"scope":"mcp:tools admin orgs:read mcp:tools"}`, "", func(t *testing.T, m ClientMetadata) {
			if m.Scope != "mcp:tools orgs:read" {
				t.Errorf("scope = %q", m.Scope)
			}
		}},
		{"RFC 7591 §2 empty scope (MCP Inspector)", `{` + good + `,"scope":""}`, "", func(t *testing.T, m ClientMetadata) {
			if m.Scope != "" {
				t.Errorf("scope = %q", m.Scope)
			}
		}},
		{"RFC 6749 §3.3 scope with a quote refused", `{` + good + `,"scope":"mcp:tools \"x"}`, "invalid_client_metadata", nil},
		{"RFC 6749 §3.3 scope with non-ASCII refused", `{` + good + `,"scope":"mcp:tööls"}`, "invalid_client_metadata", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseClientMetadata([]byte(tt.body), testSupported)
			wantCode(t, err, tt.want)
			if err != nil && err.Status != 400 {
				t.Errorf("RFC 7591 §3.2.2: status %d, want 400", err.Status)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

// TestParseClientMetadataBodySize: the registration body is at most 16 KiB.
func TestParseClientMetadataBodySize(t *testing.T) {
	base := `{"redirect_uris":["https://app.example.com/cb"]}`
	pad := func(n int) []byte { return []byte(base + strings.Repeat(" ", n-len(base))) }

	_, err := ParseClientMetadata(pad(MaxRegistrationBody), testSupported)
	wantCode(t, err, "") // exactly 16 KiB is allowed
	_, err = ParseClientMetadata(pad(MaxRegistrationBody+1), testSupported)
	wantCode(t, err, "invalid_client_metadata")
	if MaxRegistrationBody != 16384 {
		t.Fatalf("MaxRegistrationBody = %d, want 16 KiB", MaxRegistrationBody)
	}
}

// checkAcceptedMetadata asserts what ParseClientMetadata promises about metadata it accepted.
func checkAcceptedMetadata(t *testing.T, m ClientMetadata, supported Scope) {
	t.Helper()
	if n := len(m.RedirectURIs); n == 0 || n > MaxRedirectURIs {
		t.Fatalf("RFC 7591 §2: %d redirect URIs accepted", n)
	}
	for _, u := range m.RedirectURIs {
		if p := acceptedRedirectProblem(u); p != "" {
			t.Fatalf("redirect URI %q accepted, which %s", u, p)
		}
	}
	switch m.TokenEndpointAuthMethod {
	case AuthMethodNone, AuthMethodClientSecretPost, AuthMethodClientSecretBasic:
	default:
		t.Fatalf("token_endpoint_auth_method %q accepted", m.TokenEndpointAuthMethod)
	}
	if !slices.Contains(m.GrantTypes, GrantAuthorizationCode) {
		t.Fatalf("grant_types %q", m.GrantTypes)
	}
	for _, g := range m.GrantTypes {
		if g != GrantAuthorizationCode && g != GrantRefreshToken {
			t.Fatalf("grant type %q accepted", g)
		}
	}
	if !slices.Equal(m.ResponseTypes, []string{"code"}) {
		t.Fatalf("response_types %q", m.ResponseTypes)
	}
	for _, r := range m.ClientName {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("client_name %q keeps control character %U", m.ClientName, r)
		}
	}
	if utf8.RuneCountInString(m.ClientName) > 200 {
		t.Fatalf("client_name of %d characters", utf8.RuneCountInString(m.ClientName))
	}
	s, ok := ParseScope(m.Scope)
	if !ok || !s.SubsetOf(supported) {
		t.Fatalf("scope %q is not within %q", m.Scope, supported)
	}
}

func FuzzParseClientMetadata(f *testing.F) {
	rc := loadRealClients(f)
	for _, c := range rc.Clients {
		f.Add([]byte(c.Registration))
	}
	for _, u := range rc.MustReject {
		f.Add(mustJSON(f, map[string]any{"redirect_uris": []string{u}}))
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"redirect_uris":"x"}`, `{"redirect_uris":[1]}`,
		`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_basic","scope":"mcp:tools x"}`,
		`{"redirect_uris":["com.example.app:/cb"],"client_name":"\u202eX\u0000"}`,
		`{"redirect_uris":["http://[::1]:0/cb"],"grant_types":["refresh_token"]}`,
		`{"redirect_uris":["https://a.example/cb"]} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseClientMetadata(body, testSupported)
		if err != nil {
			if err.Code != "invalid_client_metadata" && err.Code != "invalid_redirect_uri" {
				t.Fatalf("RFC 7591 §3.2.2: error code %q", err.Code)
			}
			return
		}
		if len(body) > MaxRegistrationBody {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		checkAcceptedMetadata(t, m, testSupported)
		// What was accepted is accepted again unchanged (the stored form is stable).
		again := mustJSON(t, m)
		if len(again) > MaxRegistrationBody {
			return
		}
		m2, err := ParseClientMetadata(again, testSupported)
		if err != nil {
			t.Fatalf("re-parsing accepted metadata %s: %v", again, err)
		}
		if !bytes.Equal(mustJSON(t, m2), again) {
			t.Fatalf("re-parsing changed %s into %s", again, mustJSON(t, m2))
		}
	})
}

// RFC 8259 §4 / RFC 7591 §2: member names are case-sensitive; a differently-cased name is an
// unknown member and is ignored, not read as the registered one.
func TestParseClientMetadataMemberNamesAreCaseSensitive(t *testing.T) {
	_, err := ParseClientMetadata([]byte(`{"Redirect_URIs":["https://a.example/cb"]}`), Scope{"mcp:tools"})
	if err == nil || err.Code != "invalid_redirect_uri" {
		t.Fatalf("Redirect_URIs was read as redirect_uris: %v", err)
	}
	m, err := ParseClientMetadata([]byte(`{"redirect_uris":["https://a.example/cb"],"Token_Endpoint_Auth_Method":"client_secret_post"}`), Scope{"mcp:tools"})
	if err != nil || m.TokenEndpointAuthMethod != AuthMethodNone {
		t.Fatalf("differently-cased auth method must be ignored: %+v, %v", m, err)
	}
}

// OpenID Connect Registration §2 application_type: a native application registers only
// private-use schemes and http loopback URLs; "web" and an absent type add no rule under
// OAuth 2.1 (the rule for web clients concerns the implicit grant); any other value is
// invalid_client_metadata.
func TestOIDCRegistration_2_ApplicationType(t *testing.T) {
	tests := []struct {
		name, appType, uri, code string
	}{
		{"native, loopback", "native", "http://127.0.0.1:3000/cb", ""},
		{"native, localhost", "native", "http://localhost/cb", ""},
		{"native, private-use scheme", "native", "cursor://anysphere.cursor-retrieval/oauth/callback", ""},
		{"native, https refused", "native", "https://app.example.com/cb", "invalid_redirect_uri"},
		{"web, https", "web", "https://app.example.com/cb", ""},
		{"web, loopback (code flow only)", "web", "http://127.0.0.1/cb", ""},
		{"absent, loopback", "", "http://127.0.0.1/cb", ""},
		{"unknown type", "desktop", "http://127.0.0.1/cb", "invalid_client_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"redirect_uris":[%q]}`, tt.uri)
			if tt.appType != "" {
				body = fmt.Sprintf(`{"redirect_uris":[%q],"application_type":%q}`, tt.uri, tt.appType)
			}
			m, err := ParseClientMetadata([]byte(body), testSupported)
			wantCode(t, err, tt.code)
			if err == nil && m.ApplicationType != tt.appType {
				t.Fatalf("application_type %q, want %q echoed", m.ApplicationType, tt.appType)
			}
		})
	}
}
