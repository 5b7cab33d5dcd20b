package oauth

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// appendixB is the RFC 7636 Appendix B test vector.
const (
	appendixBVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	appendixBChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

var testPolicy = Policy{
	Resources:    Resources{"https://mcp.example.com/mcp", "https://mcp.example.com/other"},
	Supported:    Scope{"mcp:tools", "orgs:read", "admin:write"},
	DefaultScope: Scope{"mcp:tools"},
}

var testClient = RegisteredClient{
	ID:           "abc_client",
	RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1/callback"},
	GrantTypes:   []string{GrantAuthorizationCode, GrantRefreshToken},
}

func TestParseAuthorizeQuery(t *testing.T) {
	t.Run("RFC 6749 §4.1.1 every parameter read", func(t *testing.T) {
		q := url.Values{
			"response_type": {"code"}, "client_id": {"abc_1"}, "redirect_uri": {"http://127.0.0.1:5000/cb"},
			"scope": {"mcp:tools orgs:read"}, "state": {"s"}, "code_challenge": {appendixBChallenge},
			"code_challenge_method": {"S256"}, "resource": {"https://mcp.example.com/mcp"}, "unknown": {"ignored"},
		}
		req, err, show := ParseAuthorizeQuery(q)
		wantCode(t, err, "")
		want := AuthorizeRequest{"code", "abc_1", "http://127.0.0.1:5000/cb", "mcp:tools orgs:read", "s", appendixBChallenge, "S256", "https://mcp.example.com/mcp"}
		if req != want || show {
			t.Fatalf("got %+v show=%v, want %+v", req, show, want)
		}
	})
	t.Run("RFC 6749 §4.1.2 state passes through verbatim", func(t *testing.T) {
		odd := "a b+c%2F&=é\"<>'\\;{}|^`\x01\u202e🙂"
		raw := "client_id=abc_1&state=" + url.QueryEscape(odd)
		q, perr := url.ParseQuery(raw)
		if perr != nil {
			t.Fatal(perr)
		}
		req, err, _ := ParseAuthorizeQuery(q)
		wantCode(t, err, "")
		if req.State != odd {
			t.Fatalf("state = %q, want %q", req.State, odd)
		}
	})
	t.Run("RFC 6749 §3.1 parameters without a value are omitted", func(t *testing.T) {
		q, _ := url.ParseQuery("client_id=abc_1&scope=&resource=&state=")
		req, err, _ := ParseAuthorizeQuery(q)
		wantCode(t, err, "")
		if req.Scope != "" || req.Resource != "" || req.State != "" {
			t.Fatalf("got %+v", req)
		}
	})
	for _, name := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "resource"} {
		t.Run("RFC 6749 §3.1 repeated "+name, func(t *testing.T) {
			q := url.Values{"client_id": {"abc_1"}, "redirect_uri": {"https://app.example.com/cb"}, "state": {"s1"}}
			q[name] = []string{"one", "two"}
			_, err, show := ParseAuthorizeQuery(q)
			wantCode(t, err, "invalid_request")
			// RFC 6749 §4.1.2.1: an invalid client_id or redirect_uri is shown, never redirected.
			if wantShow := name == "client_id" || name == "redirect_uri"; show != wantShow {
				t.Fatalf("show = %v, want %v", show, wantShow)
			}
		})
	}
	t.Run("RFC 6749 §4.1.2.1 repeated redirect_uri is shown even with other repeats", func(t *testing.T) {
		q := url.Values{
			"a": {"1", "2"}, "b": {"1", "2"}, "response_type": {"code", "code"}, "scope": {"x", "y"},
			"state": {"1", "2"}, "redirect_uri": {"https://app.example.com/cb", "https://evil.example/cb"},
			"resource": {"r1", "r2"}, "code_challenge": {"c1", "c2"}, "client_id": {"abc_1"},
		}
		for range 200 { // map iteration order varies from run to run
			_, err, show := ParseAuthorizeQuery(q)
			wantCode(t, err, "invalid_request")
			if !show {
				t.Fatal("repeated redirect_uri must be shown, not redirected")
			}
		}
	})
	t.Run("RFC 6749 §4.1.2.1 other repeats leave client_id and redirect_uri to redirect the error", func(t *testing.T) {
		q := url.Values{"client_id": {"abc_1"}, "redirect_uri": {"https://app.example.com/cb"}, "state": {"s1", "s2"}}
		req, err, show := ParseAuthorizeQuery(q)
		wantCode(t, err, "invalid_request")
		if show || req.ClientID != "abc_1" || req.RedirectURI != "https://app.example.com/cb" {
			t.Fatalf("got %+v show=%v: the caller cannot validate the redirect target", req, show)
		}
	})
}

func TestRedirectTarget(t *testing.T) {
	tests := []struct {
		name, uri, want, code string
	}{
		{"OAuth 2.1 §4.1.1 redirect_uri required", "", "", "invalid_request"},
		{"OAuth 2.1 §2.3.1 exact registered https", "https://app.example.com/cb", "https://app.example.com/cb", ""},
		{"RFC 8252 §7.3 loopback on the client's port, port kept", "http://127.0.0.1:51004/callback", "http://127.0.0.1:51004/callback", ""},
		{"OAuth 2.1 §2.3.1 unregistered", "https://evil.example/cb", "", "invalid_request"},
		{"OAuth 2.1 §2.3.1 prefix of a registered URI", "https://app.example.com/cb/x", "", "invalid_request"},
		{"RFC 8252 §7.3 localhost does not match 127.0.0.1", "http://localhost:51004/callback", "", "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RedirectTarget(AuthorizeRequest{ClientID: testClient.ID, RedirectURI: tt.uri}, testClient)
			wantCode(t, err, tt.code)
			if got != tt.want {
				t.Fatalf("target %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	base := AuthorizeRequest{
		ResponseType: "code", ClientID: testClient.ID, RedirectURI: "https://app.example.com/cb",
		State: "xyz", CodeChallenge: appendixBChallenge, CodeChallengeMethod: "S256",
	}
	odd := "a b+c%2F&=é\"<>'\\#\x01\u202e🙂"
	tests := []struct {
		name   string
		mod    func(r *AuthorizeRequest, c *RegisteredClient)
		code   string
		check  func(t *testing.T, v Validated)
		policy *Policy
	}{
		{"OAuth 2.1 §4.1.1 valid request, defaults applied", nil, "", func(t *testing.T, v Validated) {
			want := Validated{ClientID: testClient.ID, RedirectURI: "https://app.example.com/cb", CodeChallenge: appendixBChallenge,
				Scope: Scope{"mcp:tools"}, Resource: "https://mcp.example.com/mcp", State: "xyz"}
			if v.ClientID != want.ClientID || v.RedirectURI != want.RedirectURI || v.CodeChallenge != want.CodeChallenge ||
				!slices.Equal(v.Scope, want.Scope) || v.Resource != want.Resource || v.State != want.State {
				t.Fatalf("got %+v, want %+v", v, want)
			}
		}, nil},

		{"RFC 6749 §4.1.1 response_type missing", func(r *AuthorizeRequest, _ *RegisteredClient) { r.ResponseType = "" }, "invalid_request", nil, nil},
		{"OAuth 2.1 §4.1.1 response_type token", func(r *AuthorizeRequest, _ *RegisteredClient) { r.ResponseType = "token" }, "unsupported_response_type", nil, nil},
		{"OAuth 2.1 §4.1.1 response_type code id_token", func(r *AuthorizeRequest, _ *RegisteredClient) { r.ResponseType = "code id_token" }, "unsupported_response_type", nil, nil},
		{"RFC 6749 §3.1.1 response_type is case-sensitive", func(r *AuthorizeRequest, _ *RegisteredClient) { r.ResponseType = "CODE" }, "unsupported_response_type", nil, nil},

		{"RFC 7636 §4.4.1 code_challenge required", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = "" }, "invalid_request", nil, nil},
		{"OAuth 2.1 §4.1.1 code_challenge_method missing (plain by default) refused", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallengeMethod = "" }, "invalid_request", nil, nil},
		{"MCP: PKCE S256 only, plain refused", func(r *AuthorizeRequest, _ *RegisteredClient) {
			r.CodeChallengeMethod = "plain"
			r.CodeChallenge = appendixBVerifier
		}, "invalid_request", nil, nil},
		{"RFC 7636 §4.3 method name is case-sensitive", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallengeMethod = "s256" }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 challenge of 42 characters", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = appendixBChallenge[:42] }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 challenge of 44 characters", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = appendixBChallenge + "A" }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 padded challenge", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = appendixBChallenge[:42] + "=" }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 standard base64 '+' refused", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = "+" + appendixBChallenge[1:] }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 standard base64 '/' refused", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = "/" + appendixBChallenge[1:] }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 newline in challenge refused", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = appendixBChallenge[:42] + "\n" }, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 CR in challenge refused", func(r *AuthorizeRequest, _ *RegisteredClient) {
			r.CodeChallenge = appendixBChallenge[:20] + "\r" + appendixBChallenge[21:]
		}, "invalid_request", nil, nil},
		{"RFC 7636 §4.2 verifier-length value is not a challenge", func(r *AuthorizeRequest, _ *RegisteredClient) { r.CodeChallenge = strings.Repeat("a", 128) }, "invalid_request", nil, nil},

		{"RFC 8707 §2 configured resource", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com/other" }, "", func(t *testing.T, v Validated) {
			if v.Resource != "https://mcp.example.com/other" {
				t.Fatalf("resource %q", v.Resource)
			}
		}, nil},
		{"RFC 8707 §2 + RFC 3986 §6.2.2.1 scheme/host case, default port, trailing slash", func(r *AuthorizeRequest, _ *RegisteredClient) {
			r.Resource = "HTTPS://MCP.Example.COM:443/mcp/"
		}, "", func(t *testing.T, v Validated) {
			if v.Resource != "https://mcp.example.com/mcp" {
				t.Fatalf("resource %q, want the configured canonical form", v.Resource)
			}
		}, nil},
		{"RFC 8707 §2 unknown resource", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://evil.example/mcp" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 path is case-sensitive", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com/MCP" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 other port", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com:8443/mcp" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 other scheme", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "http://mcp.example.com/mcp" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 fragment", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com/mcp#x" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 relative URI", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "/mcp" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 sub-path", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com/mcp/x" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 + RFC 3986 §6.2.2 encoded slash is not a trailing slash", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com/mcp%2F" }, "invalid_target", nil, nil},
		{"RFC 8707 §2 added query", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Resource = "https://mcp.example.com/mcp?x=1" }, "invalid_target", nil, nil},

		{"RFC 6749 §3.3 supported scope granted", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Scope = "orgs:read mcp:tools orgs:read" }, "", func(t *testing.T, v Validated) {
			if !slices.Equal(v.Scope, Scope{"orgs:read", "mcp:tools"}) {
				t.Fatalf("scope %q", v.Scope)
			}
		}, nil},
		{"RFC 6749 §3.3 unknown scopes ignored, the rest granted", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Scope = "openid mcp:tools offline_access root" }, "", func(t *testing.T, v Validated) {
			if !slices.Equal(v.Scope, Scope{"mcp:tools"}) {
				t.Fatalf("scope %q", v.Scope)
			}
		}, nil},
		{"RFC 6749 §3.3 malformed scope", func(r *AuthorizeRequest, _ *RegisteredClient) { r.Scope = "mcp:tools \"x" }, "invalid_scope", nil, nil},
		{"RFC 6749 §3.3 no scope: the client's registered scope", func(_ *AuthorizeRequest, c *RegisteredClient) { c.Scope = "orgs:read" }, "", func(t *testing.T, v Validated) {
			if !slices.Equal(v.Scope, Scope{"orgs:read"}) {
				t.Fatalf("scope %q", v.Scope)
			}
		}, nil},
		{"RFC 6749 §3.3 no scope, registered scope no longer supported: default", func(_ *AuthorizeRequest, c *RegisteredClient) { c.Scope = "orgs:read retired" }, "", func(t *testing.T, v Validated) {
			if !slices.Equal(v.Scope, testPolicy.DefaultScope) {
				t.Fatalf("scope %q", v.Scope)
			}
		}, nil},

		{"RFC 6749 §4.1.2 odd state kept verbatim", func(r *AuthorizeRequest, _ *RegisteredClient) { r.State = odd }, "", func(t *testing.T, v Validated) {
			if v.State != odd {
				t.Fatalf("state %q", v.State)
			}
		}, nil},
		{"RFC 6749 §4.1.2 state of 2048 characters", func(r *AuthorizeRequest, _ *RegisteredClient) { r.State = strings.Repeat("s", 2048) }, "", nil, nil},
		{"RFC 6749 §4.1.2 state over 2048 characters", func(r *AuthorizeRequest, _ *RegisteredClient) { r.State = strings.Repeat("s", 2049) }, "invalid_request", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, client := base, testClient
			if tt.mod != nil {
				tt.mod(&req, &client)
			}
			p := testPolicy
			if tt.policy != nil {
				p = *tt.policy
			}
			v, err := p.Validate(req, client, req.RedirectURI)
			wantCode(t, err, tt.code)
			// RFC 6749 §4.1.2.1: an error redirected to the client carries its state.
			if v.State != req.State && len(req.State) <= MaxStateLength {
				t.Fatalf("state %q, want %q", v.State, req.State)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

func TestGrantScope(t *testing.T) {
	p := Policy{Supported: Scope{"mcp:tools", "orgs:read"}, DefaultScope: Scope{"mcp:tools", "orgs:read"}}
	tests := []struct {
		name, requested, registered string
		want                        Scope
		code                        string
	}{
		{"RFC 6749 §3.3 requested subset granted", "orgs:read", "mcp:tools", Scope{"orgs:read"}, ""},
		{"RFC 6749 §3.3 unknown scopes ignored", "orgs:read orgs:write", "", Scope{"orgs:read"}, ""},
		{"RFC 6749 §3.3 offline_access ignored (a refresh token goes with the refresh_token grant)", "offline_access mcp:tools", "", Scope{"mcp:tools"}, ""},
		{"RFC 6749 §3.3 only unknown scopes: registered used", "offline_access openid profile", "mcp:tools", Scope{"mcp:tools"}, ""},
		{"RFC 6749 §3.3 only unknown scopes, nothing registered: default", "offline_access", "", Scope{"mcp:tools", "orgs:read"}, ""},
		{"RFC 6749 §3.3 nothing requested, registered used", "", "mcp:tools", Scope{"mcp:tools"}, ""},
		{"RFC 6749 §3.3 only spaces requested, registered used", "   ", "mcp:tools", Scope{"mcp:tools"}, ""},
		{"RFC 6749 §3.3 nothing requested or registered: default", "", "", Scope{"mcp:tools", "orgs:read"}, ""},
		{"RFC 6749 §3.3 registered outside supported: default", "", "admin", Scope{"mcp:tools", "orgs:read"}, ""},
		{"RFC 6749 §3.3 invalid characters", "mcp:tools\\x", "", nil, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.GrantScope(tt.requested, tt.registered)
			wantCode(t, err, tt.code)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("scope %q, want %q", got, tt.want)
			}
		})
	}
}
