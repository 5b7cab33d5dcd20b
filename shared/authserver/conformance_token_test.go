package authserver_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
)

// RFC 6749 §5.2, RFC 7636 §4.6, RFC 8707 §2.2: every malformed or mismatched code exchange
// is refused with the right error, writes nothing, and leaves the code redeemable.
func TestRFC6749_5_2_CodeExchangeErrors(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Exchange", "http://127.0.0.1/cb")
	otherID := s.publicClient(t, "Other", "http://127.0.0.1/cb")
	g := s.authorizeCode(t, clientID, "http://127.0.0.1:7200/cb", "")
	set := func(kv ...string) url.Values { return with(g.form(), kv...) }
	wrongVerifier, _ := pkce()

	cases := []struct {
		name   string
		r      func() reply
		status int
		code   string
	}{
		{"JSON content type (RFC 6749 §3.2)", func() reply {
			return do(t, http.MethodPost, s.Issuer+authserver.PathToken, "application/json", `{"grant_type":"authorization_code"}`)
		}, 400, "invalid_request"},
		{"no content type", func() reply { return do(t, http.MethodPost, s.Issuer+authserver.PathToken, "", g.form().Encode()) }, 400, "invalid_request"},
		{"duplicated code (RFC 6749 §3.2)", func() reply {
			return do(t, http.MethodPost, s.Issuer+authserver.PathToken, formType, g.form().Encode()+"&code="+url.QueryEscape(g.Code))
		}, 400, "invalid_request"},
		{"duplicated client_id", func() reply {
			return do(t, http.MethodPost, s.Issuer+authserver.PathToken, formType, g.form().Encode()+"&client_id="+otherID)
		}, 400, "invalid_request"},
		{"missing grant_type", func() reply { return s.postToken(t, set("grant_type", "")) }, 400, "invalid_request"},
		{"password grant (OAuth 2.1 §1.3)", func() reply { return s.postToken(t, set("grant_type", "password")) }, 400, "unsupported_grant_type"},
		{"client_credentials grant", func() reply { return s.postToken(t, set("grant_type", "client_credentials")) }, 400, "unsupported_grant_type"},
		{"device grant", func() reply {
			return s.postToken(t, set("grant_type", "urn:ietf:params:oauth:grant-type:device_code"))
		}, 400, "unsupported_grant_type"},
		{"missing code", func() reply { return s.postToken(t, set("code", "")) }, 400, "invalid_request"},
		{"missing code_verifier (OAuth 2.1 §4.1.3)", func() reply { return s.postToken(t, set("code_verifier", "")) }, 400, "invalid_request"},
		{"verifier of 42 characters (RFC 7636 §4.1)", func() reply { return s.postToken(t, set("code_verifier", g.Verifier[:42])) }, 400, "invalid_request"},
		{"verifier of 129 characters", func() reply { return s.postToken(t, set("code_verifier", strings.Repeat("a", 129))) }, 400, "invalid_request"},
		{"verifier outside the alphabet", func() reply { return s.postToken(t, set("code_verifier", strings.Repeat("a", 42)+"+")) }, 400, "invalid_request"},
		{"wrong verifier (RFC 7636 §4.6)", func() reply { return s.postToken(t, set("code_verifier", wrongVerifier)) }, 400, "invalid_grant"},
		{"the challenge as verifier", func() reply {
			return s.postToken(t, set("code_verifier", authserverChallenge(g.Verifier)))
		}, 400, "invalid_grant"},
		{"other redirect_uri (RFC 6749 §4.1.3)", func() reply {
			return s.postToken(t, set("redirect_uri", "http://127.0.0.1:7201/cb"))
		}, 400, "invalid_grant"},
		{"missing redirect_uri", func() reply { return s.postToken(t, set("redirect_uri", "")) }, 400, "invalid_grant"},
		{"other resource (RFC 8707 §2.2)", func() reply { return s.postToken(t, set("resource", "https://evil.example/mcp")) }, 400, "invalid_target"},
		{"malformed resource", func() reply { return s.postToken(t, set("resource", "not a uri")) }, 400, "invalid_target"},
		{"unknown code", func() reply { return s.postToken(t, set("code", oauth.NewOpaque(oauth.PrefixCode))) }, 400, "invalid_grant"},
		{"code without prefix", func() reply { return s.postToken(t, set("code", strings.TrimPrefix(g.Code, oauth.PrefixCode))) }, 400, "invalid_grant"},
		{"refresh token as code", func() reply { return s.postToken(t, set("code", oauth.NewOpaque(oauth.PrefixRefreshToken))) }, 400, "invalid_grant"},
		{"other client's code (RFC 6749 §4.1.3)", func() reply { return s.postToken(t, set("client_id", otherID)) }, 400, "invalid_grant"},
		{"missing client_id (RFC 6749 §3.2.1)", func() reply { return s.postToken(t, set("client_id", "")) }, 401, "invalid_client"},
		{"unknown client", func() reply { return s.postToken(t, set("client_id", "abc_unknown")) }, 401, "invalid_client"},
		{"long client_id", func() reply { return s.postToken(t, set("client_id", strings.Repeat("c", 600))) }, 401, "invalid_client"},
		{"public client sends a secret", func() reply { return s.postToken(t, set("client_secret", "abcs_x")) }, 401, "invalid_client"},
		{"public client uses Basic", func() reply { return s.postToken(t, set("client_id", ""), clientID, "") }, 401, "invalid_client"},
		{"Bearer authorization", func() reply {
			return do(t, http.MethodPost, s.Issuer+authserver.PathToken, formType, g.form().Encode(), "Authorization", "Bearer x")
		}, 401, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.noWrites(t, tc.name, func() { wantOAuthError(t, tc.r(), tc.status, tc.code) })
		})
	}

	// The code was never consumed by the refusals.
	r := s.postToken(t, g.form())
	if r.Status != http.StatusOK {
		t.Fatalf("genuine exchange after the refusals: %d %s", r.Status, r.Body)
	}
	tok := r.json(t)
	claims := verifyWithJWKS(t, s.Issuer, str(tok, "access_token"))
	if claims["aud"] != g.Resource || claims["client_id"] != clientID {
		t.Fatalf("claims: %v", claims)
	}
}

// RFC 6749 §4.1.2 / OAuth 2.1 §4.1.2: a code lives at most 5 minutes (CODE_TTL).
func TestRFC6749_4_1_2_ExpiredCode(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Expired", "http://127.0.0.1/cb")
	g := s.authorizeCode(t, clientID, "http://127.0.0.1:7202/cb", "")
	s.clock.advance(6 * time.Minute)
	s.noWrites(t, "expired code", func() { wantOAuthError(t, s.postToken(t, g.form()), 400, "invalid_grant") })
}

// OAuth 2.1 §4.1.3 / RFC 6749 §4.1.2: a code used twice is refused and the tokens issued
// from it are revoked; the only write is the family's revocation.
func TestRFC6749_4_1_2_ReplayedCodeRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Replay", "http://127.0.0.1/cb")
	g := s.authorizeCode(t, clientID, "http://127.0.0.1:7203/cb", "")
	first := s.postToken(t, g.form())
	if first.Status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", first.Status, first.Body)
	}
	refresh := str(first.json(t), "refresh_token")
	family := s.familyOf(t, refresh)

	count, before := s.countItems(t), s.scanItems(t)
	wantOAuthError(t, s.postToken(t, g.form()), 400, "invalid_grant")
	if got := s.countItems(t); got != count {
		t.Fatalf("replay changed the item count %d -> %d", count, got)
	}
	after := s.scanItems(t)
	changed := map[string]bool{}
	for _, b := range before {
		pk := avString(b["pk"])
		for _, a := range after {
			if avString(a["pk"]) == pk && itemString(a) != itemString(b) {
				changed[pk] = true
			}
		}
	}
	if len(changed) != 1 || !changed[`S:"FAMILY#`+family+`"`] {
		t.Fatalf("replay changed %v, want only the family item", changed)
	}
	if revoked, err := s.Store.FamilyRevoked(context.Background(), family); err != nil || !revoked {
		t.Fatalf("family revoked = %v, %v", revoked, err)
	}
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, refresh)), 400, "invalid_grant")
}

// RFC 6749 §2.3.1, RFC 7591 §2: a confidential client authenticates with the method it
// registered; wrong or missing secrets and the other method are 401 invalid_client with
// WWW-Authenticate, and write nothing.
func TestRFC6749_2_3_1_ConfidentialClientAuthentication(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, method := range []string{"client_secret_basic", "client_secret_post"} {
		t.Run(method, func(t *testing.T) {
			id, secret := s.confidentialClient(t, method, "https://app.example/cb")
			g := s.authorizeCode(t, id, "https://app.example/cb", "")
			noID := with(g.form(), "client_id", "")
			post := func(sec string) reply { return s.postToken(t, with(g.form(), "client_secret", sec)) }
			basic := func(sec string) reply { return s.postToken(t, noID, id, sec) }
			refusals := map[string]func() reply{
				"no credentials":       func() reply { return s.postToken(t, g.form()) },
				"wrong secret (post)":  func() reply { return post(secret + "x") },
				"wrong secret (basic)": func() reply { return basic(secret + "x") },
				"empty secret (basic)": func() reply { return basic("") },
				"other client's secret": func() reply {
					_, other := s.confidentialClient(t, method, "https://app.example/cb")
					return post(other)
				},
			}
			if method == "client_secret_basic" {
				refusals["right secret, post method"] = func() reply { return post(secret) }
			} else {
				refusals["right secret, basic method"] = func() reply { return basic(secret) }
			}
			for name, r := range refusals {
				if name == "other client's secret" {
					wantOAuthError(t, r(), 401, "invalid_client")
					continue
				}
				s.noWrites(t, name, func() { wantOAuthError(t, r(), 401, "invalid_client") })
			}
			// RFC 6749 §2.3: one authentication method per request.
			s.noWrites(t, "both methods", func() {
				wantOAuthError(t, s.postToken(t, with(g.form(), "client_secret", secret), id, secret), 400, "invalid_request")
			})

			var ok reply
			if method == "client_secret_basic" {
				ok = basic(secret)
			} else {
				ok = post(secret)
			}
			if ok.Status != http.StatusOK {
				t.Fatalf("right secret: %d %s", ok.Status, ok.Body)
			}
			refresh := str(ok.json(t), "refresh_token")
			// The refresh grant authenticates the same way.
			s.noWrites(t, "refresh without secret", func() {
				wantOAuthError(t, s.postToken(t, refreshForm(id, refresh)), 401, "invalid_client")
			})
			var rot reply
			if method == "client_secret_basic" {
				rot = s.postToken(t, with(refreshForm(id, refresh), "client_id", ""), id, secret)
			} else {
				rot = s.postToken(t, with(refreshForm(id, refresh), "client_secret", secret))
			}
			if rot.Status != http.StatusOK {
				t.Fatalf("confidential refresh: %d %s", rot.Status, rot.Body)
			}
		})
	}
}

// RFC 6749 §6: the scope may narrow, never widen; a new refresh token keeps exactly the
// scope of the one presented, so a later refresh may ask for the original grant again.
func TestRFC6749_6_RefreshScope(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Scope", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:7204/cb", "mcp:tools orgs:read")
	rt := str(tok, "refresh_token")

	s.noWrites(t, "widening", func() {
		wantOAuthError(t, s.postToken(t, with(refreshForm(clientID, rt), "scope", "mcp:tools orgs:read admin")), 400, "invalid_scope")
		wantOAuthError(t, s.postToken(t, with(refreshForm(clientID, rt), "scope", `bad"scope`)), 400, "invalid_scope")
		wantOAuthError(t, s.postToken(t, with(refreshForm(clientID, rt), "resource", "https://evil.example/mcp")), 400, "invalid_target")
	})

	r := s.postToken(t, with(refreshForm(clientID, rt), "scope", "mcp:tools"))
	if r.Status != http.StatusOK {
		t.Fatalf("narrowing: %d %s", r.Status, r.Body)
	}
	narrow := r.json(t)
	if narrow["scope"] != "mcp:tools" {
		t.Fatalf("narrowed response scope = %v", narrow["scope"])
	}
	if claims := verifyWithJWKS(t, s.Issuer, str(narrow, "access_token")); claims["scope"] != "mcp:tools" {
		t.Fatalf("narrowed access token scope = %v", claims["scope"])
	}

	r = s.postToken(t, with(refreshForm(clientID, str(narrow, "refresh_token")), "scope", "mcp:tools orgs:read"))
	if r.Status != http.StatusOK {
		t.Fatalf("RFC 6749 §6: the rotated refresh token must keep the original scope: %d %s", r.Status, r.Body)
	}
	r = s.postToken(t, refreshForm(clientID, str(r.json(t), "refresh_token")))
	if got := r.json(t)["scope"]; r.Status != http.StatusOK || got != "mcp:tools orgs:read" {
		t.Fatalf("scope omitted = original grant (RFC 6749 §6): %d %v", r.Status, got)
	}
}

// OAuth 2.0 Security BCP §4.14.2 / OAuth 2.1 §4.3.1: a rotated refresh token presented
// after the grace window revokes the whole family, the newest token included.
func TestOAuth21_4_3_1_RefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Reuse", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7205/cb", ""), "refresh_token")
	r := s.postToken(t, refreshForm(clientID, r1))
	if r.Status != http.StatusOK {
		t.Fatalf("rotation: %d %s", r.Status, r.Body)
	}
	r2 := str(r.json(t), "refresh_token")

	s.clock.advance(s.Server.Config.RefreshReuseGrace + 11*time.Second)
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r2)), 400, "invalid_grant")
}

// OAuth 2.0 Security BCP §4.14.2 with a grace window for a client's retry: a rotated
// token reused within REFRESH_REUSE_GRACE gets the same successor again (and a fresh access
// token), revokes nothing and writes nothing; the successor keeps working.
func TestOAuth21_4_3_1_RefreshReuseWithinGrace(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Retry", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7206/cb", ""), "refresh_token")
	r := s.postToken(t, refreshForm(clientID, r1))
	r2 := str(r.json(t), "refresh_token")
	s.clock.advance(s.Server.Config.RefreshReuseGrace - 2*time.Second)
	s.noWrites(t, "reuse within grace", func() {
		again := s.postToken(t, refreshForm(clientID, r1))
		if again.Status != http.StatusOK {
			t.Fatalf("reuse within the grace window: %d %s", again.Status, again.Body)
		}
		if got := str(again.json(t), "refresh_token"); got != r2 {
			t.Fatalf("reuse within the grace window returned another refresh token")
		}
		verifyWithJWKS(t, s.Issuer, str(again.json(t), "access_token"))
	})
	if r := s.postToken(t, refreshForm(clientID, r2)); r.Status != http.StatusOK {
		t.Fatalf("newest token after a retry within the grace window: %d %s", r.Status, r.Body)
	}
}

// REFRESH_REUSE_GRACE=0s: any reuse of a rotated token revokes the family.
func TestOAuth21_4_3_1_RefreshReuseNoGrace(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{"REFRESH_REUSE_GRACE": "0s"})
	clientID := s.publicClient(t, "Strict", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7207/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	s.clock.advance(time.Second)
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r2)), 400, "invalid_grant")
}

// RFC 6749 §6 / §10.4: a refresh token is bound to its client; another client's use is
// invalid_grant, writes nothing, and does not harm the owner.
func TestRFC6749_6_RefreshTokenOfAnotherClient(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	a := s.publicClient(t, "A", "http://127.0.0.1/cb")
	b := s.publicClient(t, "B", "http://127.0.0.1/cb")
	rt := str(s.tokens(t, a, "http://127.0.0.1:7208/cb", ""), "refresh_token")
	s.noWrites(t, "client B", func() { wantOAuthError(t, s.postToken(t, refreshForm(b, rt)), 400, "invalid_grant") })
	if r := s.postToken(t, refreshForm(a, rt)); r.Status != http.StatusOK {
		t.Fatalf("owner's refresh after B's attempt: %d %s", r.Status, r.Body)
	}
}

// RFC 6749 §5.2: refresh requests that are malformed are refused without writing.
func TestRFC6749_6_RefreshErrors(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "RefreshErr", "http://127.0.0.1/cb")
	codeOnly := str(s.register(t, `{"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code"]}`), "client_id")
	rt := str(s.tokens(t, clientID, "http://127.0.0.1:7209/cb", ""), "refresh_token")
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"missing refresh_token", with(refreshForm(clientID, rt), "refresh_token", ""), 400, "invalid_request"},
		{"unknown refresh token", refreshForm(clientID, oauth.NewOpaque(oauth.PrefixRefreshToken)), 400, "invalid_grant"},
		{"code as refresh token", refreshForm(clientID, oauth.NewOpaque(oauth.PrefixCode)), 400, "invalid_grant"},
		{"overlong refresh token", refreshForm(clientID, oauth.PrefixRefreshToken+strings.Repeat("a", 200)), 400, "invalid_grant"},
		{"client not registered for refresh_token (RFC 7591 §2)", refreshForm(codeOnly, rt), 400, "unauthorized_client"},
	}
	for _, tc := range cases {
		s.noWrites(t, tc.name, func() { wantOAuthError(t, s.postToken(t, tc.form), tc.status, tc.code) })
	}
	// A client registered without refresh_token gets no refresh token (RFC 6749 §5.1: OPTIONAL).
	if tok := s.tokens(t, codeOnly, "http://127.0.0.1:7210/cb", ""); tok["refresh_token"] != nil {
		t.Fatalf("refresh token for a client without the refresh_token grant: %v", tok)
	}
}

// garbage is a table of malformed token-endpoint-style bodies: none may cause a 5xx.
func garbage(clientID string) []struct{ name, contentType, body, auth string } {
	long := strings.Repeat("x", 600)
	return []struct{ name, contentType, body, auth string }{
		{"empty", formType, "", ""},
		{"binary", formType, "\x00\x01\xff\xfe=\x00", ""},
		{"bad escape", formType, "grant_type=%zz&client_id=%", ""},
		{"only ampersands", formType, "&&&&=&=", ""},
		{"semicolons", formType, "grant_type=refresh_token;client_id=x", ""},
		{"over 16 KiB", formType, "grant_type=authorization_code&pad=" + strings.Repeat("a", 17<<10), ""},
		{"long client_id", formType, "grant_type=authorization_code&client_id=" + long + "&code=abac_x&code_verifier=" + strings.Repeat("a", 43), ""},
		{"invalid UTF-8 client_id", formType, "grant_type=refresh_token&client_id=%FF%FE&refresh_token=abrt_x&token=abrt_x", ""},
		{"NUL client_id", formType, "grant_type=refresh_token&client_id=%00&refresh_token=abrt_x&token=x", ""},
		{"empty Basic id", formType, "grant_type=refresh_token&refresh_token=abrt_x&token=x", "Basic " + base64.StdEncoding.EncodeToString([]byte(":secret"))},
		{"long Basic id", formType, "grant_type=refresh_token&refresh_token=abrt_x&token=x", "Basic " + base64.StdEncoding.EncodeToString([]byte(long+":s"))},
		{"Basic not base64", formType, "grant_type=refresh_token&token=x", "Basic %%%"},
		{"Basic without colon", formType, "grant_type=refresh_token&token=x", "Basic " + base64.StdEncoding.EncodeToString([]byte("abc"))},
		{"Basic bad escape", formType, "grant_type=refresh_token&token=x", "Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:%zz"))},
		{"Basic only", formType, "grant_type=refresh_token&token=x", "Basic"},
		{"Digest", formType, "grant_type=refresh_token&token=x", "Digest abc"},
		{"huge code", formType, "grant_type=authorization_code&client_id=" + clientID + "&code=abac_" + strings.Repeat("c", 10000) + "&code_verifier=" + strings.Repeat("a", 43) + "&redirect_uri=x", ""},
		{"huge refresh", formType, "grant_type=refresh_token&client_id=" + clientID + "&refresh_token=abrt_" + strings.Repeat("r", 10000) + "&token=abrt_" + strings.Repeat("r", 10000), ""},
		{"weird scope", formType, "grant_type=refresh_token&client_id=" + clientID + "&refresh_token=abrt_x&scope=%00%FF", ""},
		{"weird resource", formType, "grant_type=authorization_code&client_id=" + clientID + "&code=abac_x&code_verifier=" + strings.Repeat("a", 43) + "&resource=http://[::1", ""},
		{"JSON", "application/json", `{"grant_type":"authorization_code"}`, ""},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\n\r\n--x--", ""},
		{"bad media type", "application/x-www-form-urlencoded; charset", "grant_type=x", ""},
		{"token hint only", formType, "token_type_hint=access_token", ""},
		{"token is JWT", formType, "token=eyJhbGciOiJFUzI1NiJ9.e30.sig&client_id=" + clientID, ""},
	}
}

// RFC 6749 §5.2: malformed input is a 4xx OAuth error, never a 5xx, and writes nothing.
func TestRFC6749_5_2_NeverA5xx(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Fuzz", "http://127.0.0.1/cb")
	for _, path := range []string{authserver.PathToken, authserver.PathRevoke} {
		for _, g := range garbage(clientID) {
			s.noWrites(t, path+" "+g.name, func() {
				var hdr []string
				if g.auth != "" {
					hdr = []string{"Authorization", g.auth}
				}
				r := do(t, http.MethodPost, s.Issuer+path, g.contentType, g.body, hdr...)
				if r.Status >= 500 {
					t.Fatalf("%s %s: %d %s", path, g.name, r.Status, r.Body)
				}
				if r.Status != http.StatusOK { // revoke answers 200 for unknown tokens
					body := r.json(t)
					wantOAuthError(t, r, r.Status, str(body, "error"))
				}
			})
		}
	}
	for _, body := range []string{"", "null", "[]", "{", `{"redirect_uris":null}`, `{"redirect_uris":[null]}`, `{"redirect_uris":[1]}`,
		`{"redirect_uris":["https://a.example/cb"],"client_name":"\ud800"}`, `{"redirect_uris":["https://a.example/cb"],"scope":"\u0000"}`,
		`{"redirect_uris":["https://a.example/cb"],"client_name":` + `"` + strings.Repeat("é", 201) + `"}`,
		`{"redirect_uris":["https://a.example/cb"],"logo_uri":"javascript:alert(1)"}`, `{"redirect_uris":["https://a.example/cb"],"grant_types":[]}`,
		`{"redirect_uris":["https://a.example/cb"],"grant_types":["refresh_token"]}`, `{"redirect_uris":["http://[::1"]}`,
		`{"redirect_uris":["` + "https://a.example/" + strings.Repeat("p", 2100) + `"]}`} {
		r := s.postRegister(t, "application/json", body)
		if r.Status >= 500 {
			t.Fatalf("register %q: %d %s", body, r.Status, r.Body)
		}
		if r.Status != http.StatusCreated {
			wantOAuthError(t, r, r.Status, str(r.json(t), "error"))
		}
	}
}
