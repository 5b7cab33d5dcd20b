package oauth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets of the request parsers in this package. Their seeds run with go test; a longer
// run: go test -run '^$' -fuzz '^FuzzParseAuthorizeQuery$' -fuzztime 30s ./shared/oauth
// (infra/fuzz/targets.txt lists every target). FuzzValidateRedirectURI, FuzzCanonicalResource
// and FuzzParseClientMetadata live beside the tests of their functions.

// errorStatus is the status each error code is answered with (errors.go).
var errorStatus = map[string]int{
	"invalid_request": 400, "invalid_client": 401, "invalid_grant": 400, "unauthorized_client": 400,
	"unsupported_grant_type": 400, "invalid_scope": 400, "invalid_target": 400, "access_denied": 403,
	"unsupported_response_type": 400, "invalid_redirect_uri": 400, "invalid_client_metadata": 400,
	"unsupported_token_type": 400, "server_error": 500, "temporarily_unavailable": 503,
}

// checkSpecError fails unless e is one of codes, with its status and a non-empty
// error_description in RFC 6749 §5.2's charset.
func checkSpecError(t *testing.T, e *Error, codes ...string) {
	t.Helper()
	if e == nil {
		t.Fatal("nil *Error")
	}
	if !slices.Contains(codes, e.Code) {
		t.Fatalf("error code %q, want one of %q (%s)", e.Code, codes, e.Description)
	}
	if e.Status != errorStatus[e.Code] {
		t.Fatalf("%s with status %d, want %d", e.Code, e.Status, errorStatus[e.Code])
	}
	// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
	if e.Description == "" || !AllowedInDescription(e.Description) {
		t.Fatalf("%s: error_description %q is empty or outside RFC 6749 section 5.2's charset", e.Code, e.Description)
	}
}

// FuzzParseAuthorizeQuery feeds a raw query string through the authorization endpoint's
// parsing and checks, as authserver's authorize handler runs them: ParseAuthorizeQuery,
// RedirectTarget, Policy.Validate.
func FuzzParseAuthorizeQuery(f *testing.F) {
	good := url.Values{
		"response_type": {"code"}, "client_id": {"abc_client"}, "redirect_uri": {"http://127.0.0.1:49152/callback"},
		"scope": {"mcp:tools orgs:read"}, "state": {"xyz"}, "code_challenge": {appendixBChallenge},
		"code_challenge_method": {"S256"}, "resource": {"https://mcp.example.com/mcp"},
	}.Encode()
	for _, s := range []string{
		good,
		good + "&client_id=other", // repeated client_id: shown to the person
		good + "&redirect_uri=https://evil.example/cb",
		good + "&state=again", // repeated state: redirected error
		"response_type=code&client_id=abc_client&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_challenge=" + appendixBChallenge + "&code_challenge_method=S256",
		"response_type=token&redirect_uri=https://app.example.com/cb&code_challenge=x",
		"redirect_uri=javascript:alert(1)//&response_type=code",
		"redirect_uri=http://127.0.0.1:0/callback&response_type=code",
		"redirect_uri=http://127.0.0.1:65536/callback",
		"redirect_uri=http://127.0.0.1/callback%00&state=%00%ff",
		"redirect_uri=https://app.example.com/cb%23frag",
		"redirect_uri=https://xn--pple-43d.example/cb", // Cyrillic look-alike
		"redirect_uri=https://%D0%B0pple.example/cb",   // the same, percent-encoded
		"scope=mcp%3Atools%20%22admin%22&resource=HTTPS://MCP.EXAMPLE.COM:443/mcp/",
		"scope=mcp:tools\u00a0orgs:read&resource=https://mcp.example.com/mcp#x",
		"code_challenge=" + strings.Repeat("A", 42) + "%0A&code_challenge_method=s256",
		"state=" + strings.Repeat("s", MaxStateLength+1),
		"%zz=1&;=2&&&=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query(): a malformed pair is dropped
		req, err, show := ParseAuthorizeQuery(q)
		repeated := false
		for _, vals := range q {
			repeated = repeated || len(vals) > 1
		}
		// RFC 6749 §3.1: a parameter sent more than once is invalid_request; a repeated
		// client_id or redirect_uri cannot be trusted to redirect to (§4.1.2.1).
		if repeated != (err != nil) {
			t.Fatalf("repeated parameter %v, error %v", repeated, err)
		}
		if wantShow := len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1; show != wantShow {
			t.Fatalf("shown to the person %v, want %v", show, wantShow)
		}
		if err != nil {
			checkSpecError(t, err, "invalid_request")
		}
		if show {
			if req != (AuthorizeRequest{}) {
				t.Fatalf("request %+v returned with an error shown to the person", req)
			}
			return
		}
		want := AuthorizeRequest{q.Get("response_type"), q.Get("client_id"), q.Get("redirect_uri"), q.Get("scope"),
			q.Get("state"), q.Get("code_challenge"), q.Get("code_challenge_method"), q.Get("resource")}
		if req != want {
			t.Fatalf("parsed %+v, want %+v", req, want)
		}
		if err != nil {
			return
		}
		target, terr := RedirectTarget(req, testClient)
		if terr != nil {
			checkSpecError(t, terr, "invalid_request")
			return
		}
		// OAuth 2.1 §2.3.1, RFC 8252 §7.3: only a registered URI (loopback: any port).
		if target != req.RedirectURI || !MatchRedirectURI(testClient.RedirectURIs, target) || strings.Contains(target, "#") {
			t.Fatalf("redirect target %q for %q", target, req.RedirectURI)
		}
		v, verr := testPolicy.Validate(req, testClient, target)
		if verr != nil {
			checkSpecError(t, verr, "invalid_request", "unsupported_response_type", "invalid_target", "invalid_scope")
			return
		}
		// OAuth 2.1 §4.1.1 and RFC 7636 §4.3: code flow, S256 only, a 43-character challenge.
		if req.ResponseType != "code" || req.CodeChallengeMethod != "S256" || !ValidCodeChallenge(v.CodeChallenge) {
			t.Fatalf("accepted %+v", req)
		}
		// RFC 8707 §2: a configured resource; RFC 6749 §3.3: supported scopes only.
		if !slices.Contains(testPolicy.Resources, v.Resource) || len(v.Scope) == 0 || !v.Scope.SubsetOf(testPolicy.Supported) {
			t.Fatalf("accepted resource %q, scope %q", v.Resource, v.Scope)
		}
		if v.State != req.State || len(v.State) > MaxStateLength || v.RedirectURI != target || v.ClientID != testClient.ID {
			t.Fatalf("validated %+v from %+v", v, req)
		}
	})
}

// FuzzParseClientCredentials feeds the Authorization header and the form of a token or
// revocation request through client authentication.
func FuzzParseClientCredentials(f *testing.F) {
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	for _, s := range [][2]string{
		{"", "client_id=abc_1&grant_type=authorization_code"},
		{"", "client_id=abc_1&client_secret=s3cr3t"},
		{"", "client_secret=s3cr3t"},
		{"", "client_id=abc_1&client_id=abc_2"},
		{basic("abc_1", "s3cr3t"), ""},
		{basic("abc_1", "s3cr3t"), "client_id=abc_1"},
		{basic("abc_1", "s3cr3t"), "client_id=abc_2"},
		{basic("abc_1", "s3cr3t"), "client_secret=other"},
		{basic("a:b%c", "p@ss:w\x00rd é"), ""},
		{basic("", "s"), ""},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("abc_1")), ""},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:x")), ""},
		{"Basic !!!", ""},
		{"basic   YWJjOmRlZg==  ", ""},
		{"Bearer abc", "client_id=abc_1"},
		{"Basic", ""},
		{"Basic YWJj\x00OmRlZg==", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authorization, rawForm string) {
		form, _ := url.ParseQuery(rawForm)
		creds, err := ParseClientCredentials(authorization, form)
		if err != nil {
			checkSpecError(t, err, "invalid_client", "invalid_request")
			return
		}
		if creds.ClientID == "" {
			t.Fatalf("accepted credentials without a client id: %+v", creds)
		}
		if authorization != "" {
			// RFC 6749 §2.3.1: Basic with the form-urlencoded id and secret; RFC 6749 §2.3:
			// one method only, so no client_secret in the body and no other client_id.
			scheme, _, _ := strings.Cut(authorization, " ")
			if creds.Method != AuthMethodClientSecretBasic || !strings.EqualFold(scheme, "Basic") ||
				form.Get("client_secret") != "" || (form.Get("client_id") != "" && form.Get("client_id") != creds.ClientID) {
				t.Fatalf("accepted %+v from %q with form %q", creds, authorization, form)
			}
			again, err := ParseClientCredentials(basic(creds.ClientID, creds.Secret), nil)
			if err != nil || again != creds {
				t.Fatalf("Basic credentials do not round-trip: %+v → %+v, %v", creds, again, err)
			}
		} else {
			want := ClientCredentials{ClientID: form.Get("client_id"), Secret: form.Get("client_secret"), Method: AuthMethodNone}
			if want.Secret != "" {
				want.Method = AuthMethodClientSecretPost
			}
			if creds != want {
				t.Fatalf("form credentials %+v, want %+v", creds, want)
			}
		}
		// RFC 7591 §2: the registered method must be the one used; a secret matches its hash.
		if e := Authenticate(creds, creds.Method, HashSecret(creds.Secret)); e != nil {
			t.Fatalf("own credentials refused: %v", e)
		}
		for _, other := range []string{AuthMethodNone, AuthMethodClientSecretPost, AuthMethodClientSecretBasic} {
			if other == creds.Method {
				continue
			}
			if e := Authenticate(creds, other, HashSecret(creds.Secret)); e == nil {
				t.Fatalf("%s credentials accepted for a %s client", creds.Method, other)
			} else {
				checkSpecError(t, e, "invalid_client")
			}
		}
	})
}

// FuzzMatchRedirectURI checks redirect URI matching against one registered URI.
func FuzzMatchRedirectURI(f *testing.F) {
	for _, s := range [][2]string{
		{"http://127.0.0.1/callback", "http://127.0.0.1:49152/callback"},
		{"http://127.0.0.1:0/callback", "http://127.0.0.1:8080/callback"},
		{"http://127.0.0.1:0/callback", "http://127.0.0.1:0/callback"},
		{"http://[::1]:3000/cb", "http://[::1]:4000/cb"},
		{"http://localhost:3000/cb", "http://LOCALHOST:3000/cb"},
		{"http://localhost/cb", "http://localhost:08080/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:65536/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:80/cb?x=1"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:5000/cb#frag"},
		{"http://127.0.0.1/cb", "http://user@127.0.0.1:5000/cb"},
		{"https://app.example.com/cb", "https://app.example.com/cb"},
		{"https://app.example.com/cb", "https://app.example.com:443/cb"},
		{"https://app.example.com/cb", "https://APP.example.com/cb"},
		{"https://app.example.com/cb", "https://app.example.com/cb/"},
		{"https://app.example.com/cb", "https://app.example.com/cb%2F"},
		{"com.example.app:/cb", "com.example.app:/cb"},
		{"cursor://anysphere.cursor-mcp/cb", "cursor://anysphere.cursor-mcp:1/cb"},
		{"https://bücher.example/cb", "https://xn--bcher-kva.example/cb"},
		{"javascript:alert(1)//x.y", "javascript:alert(1)//x.y"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:5000/cb\x00"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if !MatchRedirectURI([]string{registered}, requested) {
			return
		}
		if ValidateRedirectURI(registered) != nil {
			// Exact-string equality alone; such a URI is never registered.
			if requested != registered {
				t.Fatalf("%q matched %q, which registration refuses", requested, registered)
			}
			return
		}
		// What a client is redirected to is a valid redirect URI in its own right: absolute,
		// no fragment (RFC 6749 §3.1.2), and on a real port (RFC 3986 §3.2.3).
		if e := ValidateRedirectURI(requested); e != nil {
			t.Fatalf("%q matched %q but is refused: %v", requested, registered, e)
		}
		u, err := url.Parse(requested)
		if err != nil || u.Scheme == "" || strings.Contains(requested, "#") || u.Port() == "0" {
			t.Fatalf("matched %q is not an absolute URI without fragment on a usable port", requested)
		}
		if requested == registered {
			return
		}
		// RFC 8252 §7.3: only an http loopback URI may differ, and only in its port.
		r, _ := url.Parse(registered)
		if u.Scheme != "http" || r.Scheme != "http" || !IsLoopbackHost(u.Hostname()) || u.Hostname() != r.Hostname() {
			t.Fatalf("%q matched %q without being the same http loopback host", requested, registered)
		}
		u.Host = r.Host
		if *u != *r {
			t.Fatalf("%q matched %q but differs beyond the port", requested, registered)
		}
	})
}

// FuzzOAuthErrorDescription checks the one rule every error constructor applies to text that
// can carry client input: DescriptionCharset keeps RFC 6749 §5.2's charset and leaves
// already-allowed text unchanged.
func FuzzOAuthErrorDescription(f *testing.F) {
	for _, s := range []string{"plain", `quote " and \ backslash`, "RFC 6749 §5.2…", "\x00\r\n\t", "é\u202e🙂", "\xff\xfe", "%s %d %!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := DescriptionCharset(s)
		if !AllowedInDescription(d) {
			t.Fatalf("DescriptionCharset(%q) = %q, outside RFC 6749 section 5.2", s, d)
		}
		if AllowedInDescription(s) && d != s {
			t.Fatalf("allowed %q changed into %q", s, d)
		}
		if DescriptionCharset(d) != d {
			t.Fatalf("not idempotent on %q", s)
		}
		// Client input passed as an argument is never read as a format.
		e := ErrInvalidRequest("parameter %s was sent more than once", s)
		checkSpecError(t, e, "invalid_request")
		if !strings.HasSuffix(e.Description, " was sent more than once") || e.Status != http.StatusBadRequest {
			t.Fatalf("description %q, status %d", e.Description, e.Status)
		}
	})
}
