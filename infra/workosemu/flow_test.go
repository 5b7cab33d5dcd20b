package workosemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/usermanagement"
)

func TestSignInWithSDK(t *testing.T) {
	e := newEnv(t)
	pk := newPKCE(t)
	state := "st-" + strings.Repeat("x", 30)
	code := e.signInAs(adaID, usermanagement.GetAuthorizationURLOpts{
		State: state, CodeChallenge: pk.challenge, CodeChallengeMethod: "S256",
	})
	if code == "" {
		t.Fatal("no code in the callback")
	}

	res, err := e.authenticate(code, pk.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if res.User.ID != adaID || res.User.Email != "ada@example.com" || res.User.FirstName != "Ada" ||
		res.User.LastName != "Lovelace" || !res.User.EmailVerified {
		t.Fatalf("user %+v", res.User)
	}
	if res.User.Metadata["department"] != "engines" {
		t.Fatalf("metadata %v", res.User.Metadata)
	}
	wantSignIn := e.clock.Now().Format("2006-01-02T15:04:05.000Z")
	if res.User.LastSignInAt != wantSignIn || res.User.CreatedAt != "2024-01-10T09:00:00.000Z" {
		t.Fatalf("timestamps: last_sign_in_at %q created_at %q", res.User.LastSignInAt, res.User.CreatedAt)
	}
	if res.OrganizationID != enginesID {
		t.Fatalf("organization %q, want %q", res.OrganizationID, enginesID)
	}
	if res.AuthenticationMethod != usermanagement.Password || res.Impersonator != nil || res.RefreshToken == "" {
		t.Fatalf("response %+v", res)
	}

	header, claims := verifyJWT(t, res.AccessToken, e.jwks())
	if header["alg"] != "RS256" || header["kid"] != e.emu.KeyID() {
		t.Fatalf("header %v", header)
	}
	if claims["iss"] != e.srv.URL+"/user_management/"+DefaultClientID || claims["sub"] != adaID ||
		claims["org_id"] != enginesID || claims["role"] != "admin" {
		t.Fatalf("claims %v", claims)
	}
	sid, _ := claims["sid"].(string)
	jti, _ := claims["jti"].(string)
	if !strings.HasPrefix(sid, "session_") || jti == "" {
		t.Fatalf("sid %q jti %q", sid, jti)
	}
	if perms, _ := json.Marshal(claims["permissions"]); string(perms) != `["tools:read","tools:call","members:manage"]` {
		t.Fatalf("permissions %s", perms)
	}
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	if int64(iat) != e.clock.Now().Unix() || exp-iat != 300 {
		t.Fatalf("iat %v exp %v", iat, exp)
	}

	// The code is single use.
	_, err = e.authenticate(code, pk.verifier)
	httpErr(t, err, http.StatusBadRequest, "invalid_grant")
}

func TestOrganizationChoiceAndNoOrganization(t *testing.T) {
	e := newEnv(t)

	// Grace is active in two organizations: the page asks which one.
	p := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{State: "s1"}))
	chooser := e.submit(p, "user-"+graceID, nil)
	if chooser.status != http.StatusOK || !strings.Contains(chooser.body, "Bletchley Compilers") ||
		!strings.Contains(chooser.body, "Analytical Engines Ltd") {
		t.Fatalf("chooser: %d\n%s", chooser.status, chooser.body)
	}
	q := callback(t, e.submit(chooser, "org-"+bletchleyID, nil), testRedirect)
	res, err := e.authenticate(q.Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.User.ID != graceID || res.OrganizationID != bletchleyID {
		t.Fatalf("user %s org %s", res.User.ID, res.OrganizationID)
	}
	_, claims := verifyJWT(t, res.AccessToken, e.jwks())
	if claims["role"] != "admin" || claims["org_id"] != bletchleyID {
		t.Fatalf("claims %v", claims)
	}

	// A forged choice of an organization Grace is not active in is refused.
	forged := e.submit(chooser, "org-"+bletchleyID, map[string]string{"user_id": alanID})
	if forged.status != http.StatusBadRequest || forged.header.Get("Location") != "" {
		t.Fatalf("forged organization choice: %d %s", forged.status, forged.header.Get("Location"))
	}

	// Alan has no active membership: organization_id is null and the token has no org claims.
	code := e.signInAs(alanID, usermanagement.GetAuthorizationURLOpts{})
	raw := e.rawAuthenticate(map[string]any{
		"client_id": DefaultClientID, "client_secret": DefaultAPIKey, "grant_type": "authorization_code", "code": code,
	})
	if raw.status != http.StatusOK {
		t.Fatalf("authenticate: %d %s", raw.status, raw.body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw.body), &body); err != nil {
		t.Fatal(err)
	}
	if string(body["organization_id"]) != "null" || string(body["impersonator"]) != "null" ||
		string(body["authentication_method"]) != `"Password"` {
		t.Fatalf("body %s", raw.body)
	}
	var tok string
	_ = json.Unmarshal(body["access_token"], &tok)
	_, claims = verifyJWT(t, tok, e.jwks())
	if _, ok := claims["org_id"]; ok {
		t.Fatalf("claims %v carry org_id", claims)
	}
}

func (e *env) rawAuthenticate(body any) page {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/user_management/authenticate", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

func TestEmailFormAndSignUp(t *testing.T) {
	e := newEnv(t)
	p := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{State: "s"}))

	// A known email (any case) signs that user in.
	q := callback(t, e.submit(p, "email-form", map[string]string{"email": "ADA@Example.com"}), testRedirect)
	res, err := e.authenticate(q.Get("code"), "")
	if err != nil || res.User.ID != adaID {
		t.Fatalf("known email: %v %+v", err, res.User)
	}

	// An unknown email goes to sign-up, prefilled.
	signup := e.submit(p, "email-form", map[string]string{"email": "katherine@example.com"})
	if signup.status != http.StatusOK {
		t.Fatalf("sign-up page: %d", signup.status)
	}
	if _, vals := form(t, signup.body, "signup-form"); vals.Get("email") != "katherine@example.com" {
		t.Fatalf("sign-up email field %q", vals.Get("email"))
	}
	q = callback(t, e.submit(signup, "signup-form", map[string]string{"first_name": "Katherine", "last_name": "Johnson"}), testRedirect)
	if q.Get("state") != "s" {
		t.Fatalf("state %q", q.Get("state"))
	}
	res, err = e.authenticate(q.Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.User.ID, "user_") || res.User.Email != "katherine@example.com" ||
		res.User.FirstName != "Katherine" || res.User.LastName != "Johnson" || res.OrganizationID != "" {
		t.Fatalf("new user %+v org %q", res.User, res.OrganizationID)
	}
	got, err := e.um.GetUser(context.Background(), usermanagement.GetUserOpts{User: res.User.ID})
	if err != nil || got.Email != "katherine@example.com" {
		t.Fatalf("GetUser new user: %v %+v", err, got)
	}

	// The new user now appears on the sign-in page and the email is taken.
	p = e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{ScreenHint: usermanagement.SignUp}))
	if !strings.Contains(p.body, `id="signup-form"`) || strings.Contains(p.body, `id="email-form"`) {
		t.Fatalf("screen_hint=sign-up did not show the sign-up form:\n%s", p.body)
	}
	dup := e.submit(p, "signup-form", map[string]string{"email": "katherine@example.com"})
	if dup.status != http.StatusBadRequest || !strings.Contains(dup.body, "already exists") {
		t.Fatalf("duplicate sign-up: %d\n%s", dup.status, dup.body)
	}
	signin := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{}))
	if !strings.Contains(signin.body, `id="user-`+res.User.ID+`"`) {
		t.Fatal("signed-up user not listed on the sign-in page")
	}
}

func TestAuthenticateErrors(t *testing.T) {
	e := newEnv(t)
	pk := newPKCE(t)
	withPKCE := usermanagement.GetAuthorizationURLOpts{CodeChallenge: pk.challenge, CodeChallengeMethod: "S256"}

	t.Run("wrong API key", func(t *testing.T) {
		code := e.signInAs(adaID, withPKCE)
		_, err := e.client("sk_test_wrong").AuthenticateWithCode(context.Background(), usermanagement.AuthenticateWithCodeOpts{
			ClientID: DefaultClientID, Code: code, CodeVerifier: pk.verifier,
		})
		httpErr(t, err, http.StatusUnauthorized, "invalid_client")
		// A failed client authentication does not spend the code.
		if _, err := e.authenticate(code, pk.verifier); err != nil {
			t.Fatalf("code after invalid_client: %v", err)
		}
	})
	t.Run("wrong client id", func(t *testing.T) {
		code := e.signInAs(adaID, withPKCE)
		_, err := e.um.AuthenticateWithCode(context.Background(), usermanagement.AuthenticateWithCodeOpts{
			ClientID: "client_other", Code: code, CodeVerifier: pk.verifier,
		})
		httpErr(t, err, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("PKCE mismatch", func(t *testing.T) {
		code := e.signInAs(adaID, withPKCE)
		_, err := e.authenticate(code, newPKCE(t).verifier)
		httpErr(t, err, http.StatusBadRequest, "invalid_grant")
		// The code was spent by the failed attempt.
		_, err = e.authenticate(code, pk.verifier)
		httpErr(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("missing verifier", func(t *testing.T) {
		_, err := e.authenticate(e.signInAs(adaID, withPKCE), "")
		httpErr(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("verifier without challenge", func(t *testing.T) {
		_, err := e.authenticate(e.signInAs(adaID, usermanagement.GetAuthorizationURLOpts{}), pk.verifier)
		httpErr(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("expired code", func(t *testing.T) {
		code := e.signInAs(adaID, withPKCE)
		e.clock.Advance(CodeTTL)
		_, err := e.authenticate(code, pk.verifier)
		httpErr(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("code just before expiry", func(t *testing.T) {
		code := e.signInAs(adaID, withPKCE)
		e.clock.Advance(CodeTTL - time.Second)
		if _, err := e.authenticate(code, pk.verifier); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown code", func(t *testing.T) {
		_, err := e.authenticate("not-a-code", pk.verifier)
		httpErr(t, err, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("missing code", func(t *testing.T) {
		_, err := e.authenticate("", "")
		httpErr(t, err, http.StatusBadRequest, "invalid_request")
	})

	raw := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"malformed JSON", "application/json", `{"client_id":`, 400, "invalid_request"},
		{"JSON array", "application/json", `[1,2]`, 400, "invalid_request"},
		{"JSON null", "application/json", `null`, 400, "invalid_request"},
		{"wrong field type", "application/json", `{"client_id":1}`, 400, "invalid_request"},
		{"trailing data", "application/json", `{"client_id":"a"} {}`, 400, "invalid_request"},
		{"unsupported content type", "text/plain", `{}`, 400, "invalid_request"},
		{"missing client", "application/json", `{"grant_type":"authorization_code","code":"x"}`, 401, "invalid_client"},
		{"missing grant type", "application/json", `{"client_id":"client_local_authbridge","client_secret":"sk_test_local_authbridge"}`, 400, "invalid_request"},
		{"unsupported grant", "application/json", `{"client_id":"client_local_authbridge","client_secret":"sk_test_local_authbridge","grant_type":"password"}`, 400, "unsupported_grant_type"},
		{"form body", "application/x-www-form-urlencoded", "client_id=client_local_authbridge&client_secret=sk_test_local_authbridge&grant_type=authorization_code&code=nope", 400, "invalid_grant"},
		{"too large", "application/json", `{"code":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "invalid_request"},
	}
	for _, tc := range raw {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/user_management/authenticate", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			p := e.do(req)
			if p.status != tc.status || p.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d content-type %q body %s", p.status, p.header.Get("Content-Type"), p.body)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(p.body), &body); err != nil || body["error"] != tc.code || body["error_description"] == "" {
				t.Fatalf("body %s (%v)", p.body, err)
			}
		})
	}
}

func TestRefreshAndRevoke(t *testing.T) {
	e := newEnv(t)
	p := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{}))
	chooser := e.submit(p, "user-"+graceID, nil)
	q := callback(t, e.submit(chooser, "org-"+enginesID, nil), testRedirect)
	first, err := e.authenticate(q.Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, claims := verifyJWT(t, first.AccessToken, e.jwks())
	sid := claims["sid"].(string)
	if claims["role"] != "member" {
		t.Fatalf("claims %v", claims)
	}

	ctx := context.Background()
	e.clock.Advance(time.Minute)
	second, err := e.um.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: first.RefreshToken, OrganizationID: bletchleyID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	_, claims = verifyJWT(t, second.AccessToken, e.jwks())
	if claims["sid"] != sid || claims["org_id"] != bletchleyID || claims["role"] != "admin" {
		t.Fatalf("refreshed claims %v", claims)
	}

	// Refresh tokens are single use.
	_, err = e.um.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: first.RefreshToken,
	})
	httpErr(t, err, http.StatusBadRequest, "invalid_grant")

	// Switching to an organization without an active membership is refused.
	_, err = e.um.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: second.RefreshToken, OrganizationID: "org_01NOPE",
	})
	httpErr(t, err, http.StatusBadRequest, "invalid_grant")

	// Revoking needs the bearer key, and ends the session's refresh tokens.
	third := e.signInAs(adaID, usermanagement.GetAuthorizationURLOpts{})
	res, err := e.authenticate(third, "")
	if err != nil {
		t.Fatal(err)
	}
	_, claims = verifyJWT(t, res.AccessToken, e.jwks())
	adaSID := claims["sid"].(string)
	err = e.client("sk_test_wrong").RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: adaSID})
	httpErr(t, err, http.StatusUnauthorized, "unauthorized")
	if err := e.um.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: adaSID}); err != nil {
		t.Fatal(err)
	}
	_, err = e.um.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: res.RefreshToken,
	})
	httpErr(t, err, http.StatusBadRequest, "invalid_grant")
	err = e.um.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: "session_01UNKNOWN"})
	httpErr(t, err, http.StatusNotFound, "not_found")
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	res, err := e.authenticate(e.signInAs(adaID, usermanagement.GetAuthorizationURLOpts{}), "")
	if err != nil {
		t.Fatal(err)
	}
	_, claims := verifyJWT(t, res.AccessToken, e.jwks())
	sid := claims["sid"].(string)

	bad, _ := e.um.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: sid, ReturnTo: "https://evil.example/"})
	p := e.get(bad.String())
	if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("unlisted return_to: %d %q", p.status, p.header.Get("Location"))
	}
	// The refused logout did not end the session.
	next, err := e.um.AuthenticateWithRefreshToken(context.Background(), usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: res.RefreshToken,
	})
	if err != nil {
		t.Fatal(err)
	}

	good, _ := e.um.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: sid, ReturnTo: testReturnTo})
	p = e.get(good.String())
	if p.status != http.StatusFound || p.header.Get("Location") != testReturnTo {
		t.Fatalf("logout: %d %q", p.status, p.header.Get("Location"))
	}
	_, err = e.um.AuthenticateWithRefreshToken(context.Background(), usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: next.RefreshToken,
	})
	httpErr(t, err, http.StatusBadRequest, "invalid_grant")

	noReturn, _ := e.um.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: sid})
	if p := e.get(noReturn.String()); p.status != http.StatusOK || !strings.Contains(p.body, "signed out") {
		t.Fatalf("logout without return_to: %d", p.status)
	}
}

func TestConnectionAndOrganizationSelectors(t *testing.T) {
	e := newEnv(t)
	for _, opts := range []usermanagement.GetAuthorizationURLOpts{{ConnectionID: connID}, {OrganizationID: enginesID}} {
		p := e.get(e.authorizeURL(opts))
		if p.status != http.StatusOK || !strings.Contains(p.body, "Analytical Engines Ltd") {
			t.Fatalf("page: %d\n%s", p.status, p.body)
		}
		// Only active members are offered: Alan's membership is pending.
		if strings.Contains(p.body, alanID) || !strings.Contains(p.body, adaID) || strings.Contains(p.body, "sign-up-link") {
			t.Fatalf("member list wrong:\n%s", p.body)
		}
		// Grace has two organizations, but the selector decides: no chooser.
		res, err := e.authenticate(callback(t, e.submit(p, "user-"+graceID, nil), testRedirect).Get("code"), "")
		if err != nil {
			t.Fatal(err)
		}
		if res.OrganizationID != enginesID || res.AuthenticationMethod != usermanagement.SSO {
			t.Fatalf("org %q method %q", res.OrganizationID, res.AuthenticationMethod)
		}
		// A forged user id outside the organization is refused.
		forged := e.submit(p, "user-"+graceID, map[string]string{"user_id": alanID})
		if forged.status != http.StatusBadRequest || forged.header.Get("Location") != "" {
			t.Fatalf("forged member: %d", forged.status)
		}
	}
}

func TestAuthorizeValidation(t *testing.T) {
	e := newEnv(t)
	base := url.Values{
		"client_id": {DefaultClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"provider": {"authkit"}, "state": {"keep me"},
	}
	with := func(mod func(url.Values)) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = append([]string{}, vs...)
		}
		mod(v)
		return e.srv.URL + "/user_management/authorize?" + v.Encode()
	}

	pageCases := map[string]func(url.Values){
		"unknown redirect_uri":  func(v url.Values) { v.Set("redirect_uri", "https://evil.example/callback") },
		"prefix redirect_uri":   func(v url.Values) { v.Set("redirect_uri", testRedirect+"/x") },
		"missing redirect_uri":  func(v url.Values) { v.Del("redirect_uri") },
		"repeated redirect_uri": func(v url.Values) { v.Add("redirect_uri", testRedirect) },
		"unknown client_id":     func(v url.Values) { v.Set("client_id", "client_other") },
	}
	for name, mod := range pageCases {
		t.Run(name, func(t *testing.T) {
			p := e.get(with(mod))
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" ||
				!strings.HasPrefix(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.body, `id="error"`) {
				t.Fatalf("status %d location %q type %q", p.status, p.header.Get("Location"), p.header.Get("Content-Type"))
			}
		})
	}

	redirectCases := map[string]struct {
		mod  func(url.Values)
		code string
	}{
		"response_type token":  {func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		"no response_type":     {func(v url.Values) { v.Del("response_type") }, "invalid_request"},
		"no selector":          {func(v url.Values) { v.Del("provider") }, "invalid_request"},
		"two selectors":        {func(v url.Values) { v.Set("organization_id", enginesID) }, "invalid_request"},
		"other provider":       {func(v url.Values) { v.Set("provider", "GoogleOAuth") }, "invalid_request"},
		"unknown connection":   {func(v url.Values) { v.Del("provider"); v.Set("connection_id", "conn_01NOPE") }, "invalid_request"},
		"unknown organization": {func(v url.Values) { v.Del("provider"); v.Set("organization_id", "org_01NOPE") }, "invalid_request"},
		"plain PKCE": {func(v url.Values) {
			v.Set("code_challenge", strings.Repeat("a", 43))
			v.Set("code_challenge_method", "plain")
		}, "invalid_request"},
		"PKCE without method": {func(v url.Values) { v.Set("code_challenge", strings.Repeat("a", 43)) }, "invalid_request"},
		"short challenge": {func(v url.Values) {
			v.Set("code_challenge", "abc")
			v.Set("code_challenge_method", "S256")
		}, "invalid_request"},
		"bad screen_hint": {func(v url.Values) { v.Set("screen_hint", "reset") }, "invalid_request"},
		"repeated scope":  {func(v url.Values) { v.Add("provider", "authkit") }, "invalid_request"},
	}
	for name, tc := range redirectCases {
		t.Run(name, func(t *testing.T) {
			q := callback(t, e.get(with(tc.mod)), testRedirect)
			if q.Get("error") != tc.code || q.Get("error_description") == "" || q.Get("state") != "keep me" || q.Get("code") != "" {
				t.Fatalf("callback query %v", q)
			}
		})
	}

	t.Run("state omitted when absent", func(t *testing.T) {
		q := callback(t, e.get(with(func(v url.Values) { v.Del("state"); v.Set("response_type", "token") })), testRedirect)
		if _, ok := q["state"]; ok {
			t.Fatalf("state present: %v", q)
		}
	})

	t.Run("registered query kept", func(t *testing.T) {
		p := e.get(with(func(v url.Values) { v.Set("redirect_uri", "http://localhost:8080/cb?tenant=a") }))
		res := e.submit(p, "user-"+adaID, nil)
		loc := res.header.Get("Location")
		if !strings.HasPrefix(loc, "http://localhost:8080/cb?tenant=a&code=") || !strings.Contains(loc, "&state=keep+me") {
			t.Fatalf("location %q", loc)
		}
	})

	t.Run("form is re-validated", func(t *testing.T) {
		p := e.get(with(func(url.Values) {}))
		res := e.submit(p, "user-"+adaID, map[string]string{"redirect_uri": "https://evil.example/callback"})
		if res.status != http.StatusBadRequest || res.header.Get("Location") != "" {
			t.Fatalf("tampered redirect_uri: %d %q", res.status, res.header.Get("Location"))
		}
		res = e.submit(p, "user-"+adaID, map[string]string{"client_id": "client_other"})
		if res.status != http.StatusBadRequest || res.header.Get("Location") != "" {
			t.Fatalf("tampered client_id: %d", res.status)
		}
		q := callback(t, e.submit(p, "user-"+adaID, map[string]string{"code_challenge_method": "plain", "code_challenge": strings.Repeat("b", 43)}), testRedirect)
		if q.Get("error") != "invalid_request" {
			t.Fatalf("tampered PKCE: %v", q)
		}
		res = e.submit(p, "user-"+adaID, map[string]string{"user_id": "user_01NOPE"})
		if res.status != http.StatusBadRequest || res.header.Get("Location") != "" {
			t.Fatalf("unknown user: %d", res.status)
		}
		res = e.submit(p, "user-"+adaID, map[string]string{"action": "bogus"})
		if res.status != http.StatusBadRequest || res.header.Get("Location") != "" {
			t.Fatalf("unknown action: %d", res.status)
		}
		q = callback(t, e.submit(p, "cancel-form", nil), testRedirect)
		if q.Get("error") != "access_denied" || q.Get("state") != "keep me" {
			t.Fatalf("cancel: %v", q)
		}
	})

	t.Run("form must be urlencoded", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+authorizeCompletePath, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if p := e.do(req); p.status != http.StatusUnsupportedMediaType || p.header.Get("Location") != "" {
			t.Fatalf("status %d", p.status)
		}
	})
}

func TestHTMLEscaping(t *testing.T) {
	e := newEnv(t)
	const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	p := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{State: evil, LoginHint: evil}))
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "<img") {
		t.Fatalf("unescaped markup in page:\n%s", p.body)
	}
	if !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("state not rendered escaped:\n%s", p.body)
	}
	if !strings.Contains(p.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("CSP %q", p.header.Get("Content-Security-Policy"))
	}
	// The state survives the round trip verbatim.
	q := callback(t, e.submit(p, "user-"+adaID, nil), testRedirect)
	if q.Get("state") != evil {
		t.Fatalf("state %q", q.Get("state"))
	}

	// A hostile email and names are escaped when the forms are shown again.
	bad := e.submit(p, "email-form", map[string]string{"email": evil})
	if bad.status != http.StatusBadRequest || strings.Contains(bad.body, "<script>") || !strings.Contains(bad.body, "Enter a valid email") {
		t.Fatalf("hostile email: %d\n%s", bad.status, bad.body)
	}
	signup := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{ScreenHint: usermanagement.SignUp}))
	bad = e.submit(signup, "signup-form", map[string]string{"email": "not-an-email", "first_name": evil})
	if bad.status != http.StatusBadRequest || strings.Contains(bad.body, "<script>") || strings.Contains(bad.body, "<img") {
		t.Fatalf("hostile name: %d\n%s", bad.status, bad.body)
	}
	if _, vals := form(t, bad.body, "signup-form"); vals.Get("first_name") != evil {
		t.Fatalf("first_name not preserved: %q", vals.Get("first_name"))
	}
}

func TestConcurrentSignIns(t *testing.T) {
	e := newEnv(t)
	const n = 16
	authURL := e.authorizeURL(usermanagement.GetAuthorizationURLOpts{State: "s"})
	// The page is the same for everyone; each goroutine posts its own copy of Ada's form.
	action, vals := form(t, e.get(authURL).body, "user-"+adaID)
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.browser.PostForm(e.srv.URL+action, vals)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil || res.StatusCode != http.StatusFound {
				errs <- fmt.Errorf("status %d location %q", res.StatusCode, res.Header.Get("Location"))
				return
			}
			auth, err := e.authenticate(loc.Query().Get("code"), "")
			if err != nil {
				errs <- err
				return
			}
			tokens[i] = auth.AccessToken
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	jwks := e.jwks()
	seen := map[string]bool{}
	for _, tok := range tokens {
		_, claims := verifyJWT(t, tok, jwks)
		sid, _ := claims["sid"].(string)
		if sid == "" || seen[sid] {
			t.Fatalf("session ids are not distinct: %q", sid)
		}
		seen[sid] = true
	}
}
