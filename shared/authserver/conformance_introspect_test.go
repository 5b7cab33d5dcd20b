package authserver_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
)

// Companion mode: resource servers on other hosts ask Authbridge whether a token is active
// (RFC 7662), with credentials of their own bound to one protected resource.

// crmResource is a companion MCP server on another host.
const crmResource = "https://crm.example.com/mcp"

// resourceServer issues introspection credentials for resource, as the operator command does.
func (s *stack) resourceServer(t *testing.T, resource string) authserver.ResourceServerCredentials {
	t.Helper()
	creds, err := authserver.IssueResourceServerCredentials(context.Background(), s.Store, s.Server.Config.Resources, resource)
	if err != nil {
		t.Fatalf("credentials for %s: %v", resource, err)
	}
	return creds
}

// introspect posts token to the introspection endpoint with HTTP Basic credentials.
func (s *stack) introspect(t *testing.T, rs authserver.ResourceServerCredentials, token string) reply {
	t.Helper()
	return s.postFormRaw(t, authserver.PathIntrospect, url.Values{"token": {token}}, rs.ClientID, rs.ClientSecret)
}

// wantInactive checks RFC 7662 §2.2's answer for a token that is not active: 200, exactly
// {"active":false}, not cached.
func wantInactive(t *testing.T, what string, r reply) {
	t.Helper()
	if r.Status != http.StatusOK || strings.TrimSpace(r.Body) != `{"active":false}` {
		t.Fatalf("%s: got %d %s, want 200 {\"active\":false}", what, r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s: Cache-Control %q, want no-store", what, r.Header.Get("Cache-Control"))
	}
}

// wantActive checks an active answer and returns it.
func wantActive(t *testing.T, what string, r reply) map[string]any {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
	body := r.json(t)
	if body["active"] != true {
		t.Fatalf("%s: %s, want active", what, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s: Cache-Control %q, want no-store", what, r.Header.Get("Cache-Control"))
	}
	return body
}

// authorizeCodeFor runs the browser part of the flow for resource.
func (s *stack) authorizeCodeFor(t *testing.T, clientID, redirectURI, resource string) grant {
	t.Helper()
	verifier, challenge := pkce()
	final := s.signIn(t, newBrowser(t), authorizeParams(clientID, redirectURI, challenge, "xyz", resource, ""), "ada@example.com")
	code := final.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", final)
	}
	return grant{ClientID: clientID, RedirectURI: redirectURI, Code: code, Verifier: verifier, Resource: resource}
}

// RFC 7662 §2.2: an active Authbridge access token for the caller's own resource is
// described by its claims (scope, client_id, sub, aud, iss, exp, iat, nbf, jti, email,
// org_id) with token_type Bearer, and nothing else (no session id, no grant id).
func TestRFC7662_2_2_ActiveTokenDescribed(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rs := s.resourceServer(t, s.Issuer+"/mcp")
	clientID := s.publicClient(t, "Introspected", "http://127.0.0.1/cb")
	access := str(s.tokens(t, clientID, "http://127.0.0.1:7400/cb", ""), "access_token")
	claims := verifyWithJWKS(t, s.Issuer, access)

	got := wantActive(t, "fresh access token", s.introspect(t, rs, access))
	want := map[string]any{
		"active": true, "scope": claims["scope"], "client_id": clientID, "sub": claims["sub"], "aud": s.Issuer + "/mcp",
		"iss": s.Issuer, "exp": claims["exp"], "iat": claims["iat"], "nbf": claims["nbf"], "jti": claims["jti"],
		"token_type": "Bearer", "email": "ada@example.com", "org_id": claims["org_id"],
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("introspection = %v\nwant %v", got, want)
	}
	if claims["fam"] == nil || claims["fam"] == "" {
		t.Fatalf("the access token carries no grant (fam) claim: %v", claims)
	}
	// RFC 7662 §2.1: token_type_hint is a hint; a wrong one changes nothing.
	r := s.postFormRaw(t, authserver.PathIntrospect, url.Values{"token": {access}, "token_type_hint": {"refresh_token"}}, rs.ClientID, rs.ClientSecret)
	wantActive(t, "misleading hint", r)
}

// RFC 7662 §2.2: expired, malformed, unknown and forged tokens, refresh tokens and codes,
// and access tokens for another resource (RFC 8707, RFC 9068 §4) are all just inactive.
func TestRFC7662_2_2_InactiveTokens(t *testing.T) {
	t.Parallel()
	s := newStackWithResources(t, "/mcp", crmResource)
	own := s.resourceServer(t, s.Issuer+"/mcp")
	crm := s.resourceServer(t, crmResource)
	clientID := s.publicClient(t, "Inactive", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:7401/cb", "")
	access, refresh := str(tok, "access_token"), str(tok, "refresh_token")
	wantActive(t, "own resource", s.introspect(t, own, access))

	parts := strings.Split(access, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	for what, token := range map[string]string{
		"another resource's token (aud)": "", // access, presented by the CRM server
		"refresh token":                  refresh,
		"code":                           oauth.NewOpaque(oauth.PrefixCode),
		"garbage":                        "garbage",
		"forged signature":               forged,
		"unsigned JWT":                   parts[0] + "." + parts[1] + ".",
		"longer than any token":          strings.Repeat("a", 9000),
		"not UTF-8":                      "\xff\xfe.\xff.\xff",
	} {
		rs := own
		if token == "" {
			token, rs = access, crm
		}
		wantInactive(t, what, s.introspect(t, rs, token))
	}
	// RFC 7519 §4.1.4: expired once exp (and the clock leeway) have passed.
	s.clock.advance(s.Server.Config.AccessTokenTTL + s.Server.Config.ClockLeeway + time.Second)
	wantInactive(t, "expired", s.introspect(t, own, access))
}

// newStackWithResources starts a stack protecting {issuer}<ownPath> and the other resources
// (the issuer, the test server's URL, is only known once the stack runs).
func newStackWithResources(t *testing.T, ownPath string, others ...string) *stack {
	t.Helper()
	s := newStack(t, nil)
	cfg := s.Server.Config
	cfg.Resources = append(oauth.Resources{s.Issuer + ownPath}, others...)
	s.Server.Config = cfg // Routes reads the Server at each request
	return s
}

// RFC 7662 §2.2 ("revoked") and OAuth 2.0 Security BCP §4.14.2: once the grant an access
// token was issued under is revoked — by RFC 7009 revocation of its refresh token, by a
// refresh token replayed after the grace window, by a replayed code — the access token is
// inactive, though it has not expired and its signature still verifies.
func TestRFC7662_2_2_RevokedGrantIsInactive(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rs := s.resourceServer(t, s.Issuer+"/mcp")

	t.Run("RFC 7009 revocation", func(t *testing.T) {
		clientID := s.publicClient(t, "Revoked", "http://127.0.0.1/cb")
		tok := s.tokens(t, clientID, "http://127.0.0.1:7402/cb", "")
		other := str(s.tokens(t, clientID, "http://127.0.0.1:7403/cb", ""), "access_token") // another grant
		access, refresh := str(tok, "access_token"), str(tok, "refresh_token")
		rotated := s.postToken(t, refreshForm(clientID, refresh)).json(t)
		wantActive(t, "before revocation", s.introspect(t, rs, access))
		if r := s.revoke(t, url.Values{"token": {str(rotated, "refresh_token")}, "client_id": {clientID}}); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		wantInactive(t, "first access token of a revoked grant", s.introspect(t, rs, access))
		wantInactive(t, "access token of the rotation", s.introspect(t, rs, str(rotated, "access_token")))
		wantActive(t, "another grant of the same client", s.introspect(t, rs, other))
	})

	t.Run("refresh token replay", func(t *testing.T) {
		s := newStack(t, map[string]string{"REFRESH_REUSE_GRACE": "0s"})
		rs := s.resourceServer(t, s.Issuer+"/mcp")
		clientID := s.publicClient(t, "Replayed", "http://127.0.0.1/cb")
		tok := s.tokens(t, clientID, "http://127.0.0.1:7404/cb", "")
		next := s.postToken(t, refreshForm(clientID, str(tok, "refresh_token"))).json(t)
		wantActive(t, "rotated", s.introspect(t, rs, str(next, "access_token")))
		wantOAuthError(t, s.postToken(t, refreshForm(clientID, str(tok, "refresh_token"))), 400, "invalid_grant")
		wantInactive(t, "after the replay", s.introspect(t, rs, str(next, "access_token")))
		wantInactive(t, "the first token after the replay", s.introspect(t, rs, str(tok, "access_token")))
	})

	t.Run("code replay without a refresh token", func(t *testing.T) {
		reg := s.register(t, `{"client_name":"NoRefresh","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code"]}`)
		clientID := str(reg, "client_id")
		g := s.authorizeCode(t, clientID, "http://127.0.0.1:7405/cb", "")
		r := s.postToken(t, g.form())
		if r.Status != http.StatusOK || str(r.json(t), "refresh_token") != "" {
			t.Fatalf("code exchange: %d %s", r.Status, r.Body)
		}
		access := str(r.json(t), "access_token")
		wantActive(t, "grant without a family item", s.introspect(t, rs, access))
		wantOAuthError(t, s.postToken(t, g.form()), 400, "invalid_grant")
		wantInactive(t, "after the code was replayed", s.introspect(t, rs, access))
	})
}

// RFC 7662 §2.1 ("MUST require some form of authorization") and §2.3 / RFC 6749 §5.2: a
// caller without valid resource-server credentials gets 401 invalid_client with a Basic
// challenge and learns nothing about the token; a registered MCP client's credentials are
// not resource-server credentials (RFC 7662 §4: no token scanning by clients).
func TestRFC7662_2_1_CallerMustAuthenticate(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rs := s.resourceServer(t, s.Issuer+"/mcp")
	clientID := s.publicClient(t, "Holder", "http://127.0.0.1/cb")
	access := str(s.tokens(t, clientID, "http://127.0.0.1:7406/cb", ""), "access_token")
	mcpID, mcpSecret := s.confidentialClient(t, oauth.AuthMethodClientSecretBasic, "https://app.example.com/cb")
	form := url.Values{"token": {access}}
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	for what, header := range map[string]string{
		"no credentials":                "",
		"wrong secret":                  basic(rs.ClientID, rs.ClientSecret+"x"),
		"another server's secret shape": basic(rs.ClientID, oauth.NewOpaque(oauth.PrefixResourceServerSecret)),
		"unknown resource server":       basic(oauth.NewOpaque(oauth.PrefixResourceServerID), rs.ClientSecret),
		"an MCP client's credentials":   basic(mcpID, mcpSecret),
		"secret as the id":              basic(rs.ClientSecret, rs.ClientID),
		"the access token as Bearer":    "Bearer " + access,
		"malformed Basic":               "Basic !!!",
		"Basic without a colon":         "Basic " + base64.StdEncoding.EncodeToString([]byte(rs.ClientID)),
	} {
		var hdr []string
		if header != "" {
			hdr = []string{"Authorization", header}
		}
		s.noWrites(t, what, func() {
			r := do(t, http.MethodPost, s.Issuer+authserver.PathIntrospect, formType, form.Encode(), hdr...)
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("%s: WWW-Authenticate %q, want a Basic challenge", what, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Credentials in the body (client_secret_post) are not accepted: HTTP Basic only, as the
	// metadata says (introspection_endpoint_auth_methods_supported).
	body := url.Values{"token": {access}, "client_id": {rs.ClientID}, "client_secret": {rs.ClientSecret}}
	wantOAuthError(t, do(t, http.MethodPost, s.Issuer+authserver.PathIntrospect, formType, body.Encode()), http.StatusUnauthorized, "invalid_client")
	// The genuine credentials work.
	wantActive(t, "genuine credentials", s.introspect(t, rs, access))
}

// RFC 7662 §2.1 and RFC 6749 §3.2: the request is a POST of a form with one token; anything
// else from an authenticated caller is a spec-shaped error, never a 500.
func TestRFC7662_2_1_MalformedRequests(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rs := s.resourceServer(t, s.Issuer+"/mcp")
	auth := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(rs.ClientID+":"+rs.ClientSecret))}
	for what, tc := range map[string]struct{ contentType, body string }{
		"no token":               {formType, "token_type_hint=access_token"},
		"empty token":            {formType, "token="},
		"token twice":            {formType, "token=a&token=b"},
		"JSON body":              {"application/json", `{"token":"x"}`},
		"no content type":        {"", "token=x"},
		"bad form encoding":      {formType, "token=%zz"},
		"body over the limit":    {formType, "token=" + strings.Repeat("a", 17<<10)},
		"multipart form":         {"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nx\r\n--x--"},
		"token under a NUL name": {formType, "tok%00en=x"},
	} {
		r := do(t, http.MethodPost, s.Issuer+authserver.PathIntrospect, tc.contentType, tc.body, auth...)
		t.Run(what, func(t *testing.T) { wantOAuthError(t, r, http.StatusBadRequest, "invalid_request") })
	}
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		if r := do(t, method, s.Issuer+authserver.PathIntrospect, "", "", auth...); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", method, r.Status)
		}
	}
	// Server to server: no CORS (no browser-based caller has introspection credentials).
	r := do(t, http.MethodOptions, s.Issuer+authserver.PathIntrospect, "", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	noCORS(t, "introspection preflight", r.Header)
}

// Resource-server credentials are usable only at the introspection endpoint: the token,
// revocation and authorization endpoints know MCP clients only (RFC 6749 §2.3: a client
// authenticates as registered; these are no registration).
func TestRFC7662_2_1_ResourceServerCredentialsOnlyIntrospect(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rs := s.resourceServer(t, s.Issuer+"/mcp")
	clientID := s.publicClient(t, "Victim", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:7407/cb", "")
	s.noWrites(t, "resource server at the token endpoint", func() {
		wantOAuthError(t, s.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(tok, "refresh_token")}}, rs.ClientID, rs.ClientSecret),
			http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, s.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(tok, "refresh_token")},
			"client_id": {rs.ClientID}, "client_secret": {rs.ClientSecret}}), http.StatusUnauthorized, "invalid_client")
	})
	s.noWrites(t, "resource server at the revocation endpoint", func() {
		wantOAuthError(t, s.revoke(t, url.Values{"token": {str(tok, "refresh_token")}}, rs.ClientID, rs.ClientSecret), http.StatusUnauthorized, "invalid_client")
	})
	_, challenge := pkce()
	q := authorizeParams(rs.ClientID, "http://127.0.0.1:7408/cb", challenge, "xyz", s.Issuer+"/mcp", "")
	r := do(t, http.MethodGet, s.authorizeURL(q), "", "")
	if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Fatalf("authorize as a resource server: %d Location %q, want the 400 error page", r.Status, r.Header.Get("Location"))
	}
	// The grant is untouched.
	if r := s.postToken(t, refreshForm(clientID, str(tok, "refresh_token"))); r.Status != http.StatusOK {
		t.Fatalf("refresh after the attempts: %d %s", r.Status, r.Body)
	}
}

// RFC 7662 §2.1: credentials are issued for one configured protected resource (compared in
// canonical form, RFC 8707 §2), stored as the secret's SHA-256 only, and withdrawn by
// deletion.
func TestRFC7662_2_1_CredentialsIssuance(t *testing.T) {
	t.Parallel()
	s := newStackWithResources(t, "/mcp", crmResource)
	ctx := context.Background()
	for _, bad := range []string{"https://other.example.com/mcp", "https://crm.example.com/mcp/admin", "not a url", ""} {
		if _, err := authserver.IssueResourceServerCredentials(ctx, s.Store, s.Server.Config.Resources, bad); !errors.Is(err, authserver.ErrNotProtected) {
			t.Errorf("credentials for %q: %v, want ErrNotProtected", bad, err)
		}
	}
	rs := s.resourceServer(t, "HTTPS://CRM.Example.com:443/mcp/")
	if rs.Resource != crmResource || !oauth.IsResourceServerID(rs.ClientID) || !strings.HasPrefix(rs.ClientSecret, oauth.PrefixResourceServerSecret) {
		t.Fatalf("credentials %+v", rs)
	}
	for _, it := range s.scanItems(t) {
		for _, v := range it {
			if avContains(v, rs.ClientSecret) {
				t.Fatalf("the secret is stored in the clear: %s", itemString(it))
			}
		}
	}
	if err := s.Store.DeleteResourceServer(ctx, rs.ClientID); err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, s.introspect(t, rs, "x"), http.StatusUnauthorized, "invalid_client")

	// Credentials of a resource that is no longer configured stop working.
	rs = s.resourceServer(t, crmResource)
	cfg := s.Server.Config
	cfg.Resources = oauth.Resources{s.Issuer + "/mcp"}
	s.Server.Config = cfg
	wantOAuthError(t, s.introspect(t, rs, "x"), http.StatusUnauthorized, "invalid_client")
}

// Companion mode (RFC 8707 §2, RFC 9728 §3.1): a protected resource on another host gets its
// metadata at {issuer}/.well-known/oauth-protected-resource/<host><path>, next to (not in
// place of) the issuer's own resource of the same path; its tokens carry it as aud, open
// nothing at Authbridge's own /mcp route, and are active only to its own resource server.
func TestRFC8707_CompanionResourceOnAnotherHost(t *testing.T) {
	t.Parallel()
	s := newStackWithResources(t, "/mcp", crmResource, "http://127.0.0.1:5310/mcp")
	for path, want := range map[string]string{
		authserver.PathPRM:                            s.Issuer + "/mcp",
		authserver.PathPRM + "/mcp":                   s.Issuer + "/mcp",
		authserver.PathPRM + "/crm.example.com/mcp":   crmResource,
		authserver.PathPRM + "/127.0.0.1:5310/mcp":    "http://127.0.0.1:5310/mcp",
		authserver.PathPRM + "/crm.example.com/mcp/x": "",
		authserver.PathPRM + "/crm.example.com":       "",
		authserver.PathPRM + "/other.example.com/mcp": "",
		authserver.PathPRM + "/127.0.0.1:5311/mcp":    "",
	} {
		r := do(t, http.MethodGet, s.Issuer+path, "", "")
		if want == "" {
			if r.Status != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, r.Status)
			}
			continue
		}
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.Status, r.Body)
		}
		prm := r.json(t)
		if prm["resource"] != want || !reflect.DeepEqual(prm["authorization_servers"], []any{s.Issuer}) {
			t.Errorf("GET %s = %v, want resource %s", path, prm, want)
		}
	}

	// The token for the CRM server: aud is its URL (RFC 8707 §2.2, RFC 9068 §3).
	clientID := s.publicClient(t, "CRM user", "http://127.0.0.1/cb")
	g := s.authorizeCodeFor(t, clientID, "http://127.0.0.1:7409/cb", crmResource)
	r := s.postToken(t, g.form())
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange for the CRM: %d %s", r.Status, r.Body)
	}
	access := str(r.json(t), "access_token")
	if claims := verifyWithJWKS(t, s.Issuer, access); claims["aud"] != crmResource {
		t.Fatalf("aud = %v, want %s", claims["aud"], crmResource)
	}
	// The refreshed token keeps the resource.
	refreshed := s.postToken(t, refreshForm(clientID, str(r.json(t), "refresh_token")))
	if claims := verifyWithJWKS(t, s.Issuer, str(refreshed.json(t), "access_token")); claims["aud"] != crmResource {
		t.Fatalf("refreshed aud = %v", claims["aud"])
	}
	got := wantActive(t, "the CRM's token at the CRM", s.introspect(t, s.resourceServer(t, crmResource), access))
	if got["aud"] != crmResource {
		t.Fatalf("introspected aud %v", got["aud"])
	}
	wantInactive(t, "the CRM's token at Authbridge's own resource server", s.introspect(t, s.resourceServer(t, s.Issuer+"/mcp"), access))
	wantInactive(t, "the CRM's token at the loopback server", s.introspect(t, s.resourceServer(t, "http://127.0.0.1:5310/mcp"), access))
}

// RFC 8414 §2: the metadata names the introspection endpoint and HTTP Basic as its only
// client authentication method.
func TestRFC8414_2_IntrospectionEndpointAdvertised(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	var meta map[string]any
	getJSON(t, s.Issuer+authserver.PathASMetadata, &meta)
	if meta["introspection_endpoint"] != s.Issuer+authserver.PathIntrospect ||
		!reflect.DeepEqual(meta["introspection_endpoint_auth_methods_supported"], []any{"client_secret_basic"}) {
		t.Fatalf("introspection metadata: %v %v", meta["introspection_endpoint"], meta["introspection_endpoint_auth_methods_supported"])
	}
}

// Log lines name values, never carry them: no token, secret or part of one in what the
// introspection endpoint logs, whatever it was sent.
func TestRFC7662_4_IntrospectionLogsNoSecrets(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rs := s.resourceServer(t, s.Issuer+"/mcp")
	clientID := s.publicClient(t, "Logged", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:7410/cb", "")
	access, refresh := str(tok, "access_token"), str(tok, "refresh_token")
	wantActive(t, "active", s.introspect(t, rs, access))
	wantInactive(t, "refresh", s.introspect(t, rs, refresh))
	wrong := rs
	wrong.ClientSecret = oauth.NewOpaque(oauth.PrefixResourceServerSecret)
	wantOAuthError(t, s.introspect(t, wrong, access), http.StatusUnauthorized, "invalid_client")
	logs := s.Logs.String()
	if !strings.Contains(logs, `"token introspected"`) {
		t.Fatal("no introspection log line")
	}
	for _, secret := range []string{rs.ClientSecret, wrong.ClientSecret, refresh, strings.Split(access, ".")[1], strings.Split(access, ".")[2]} {
		for i := 0; i+16 <= len(secret); i += 8 {
			if strings.Contains(logs, secret[i:i+16]) {
				t.Fatalf("the logs carry a piece of a secret or token: %q", secret[i:i+16])
			}
		}
	}
}
