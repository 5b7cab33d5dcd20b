package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// runtimeURI replaces a port 0 (the client picks a free port at run time) by a free port.
func runtimeURI(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "0" {
		u.Host = u.Hostname() + ":" + strconv.Itoa(freePort(t))
	}
	return u.String()
}

// coveredBy says, independently of the server's code, whether a registration covers a
// runtime redirect URI: exact match (OAuth 2.1 §2.3.1), or an http loopback URI with the
// same host name and path on any port (RFC 8252 §7.3).
func coveredBy(registered []string, runtime string) bool {
	if slices.Contains(registered, runtime) {
		return true
	}
	rt, err := url.Parse(runtime)
	if err != nil || rt.Scheme != "http" {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err == nil && ru.Scheme == "http" && ru.Hostname() == rt.Hostname() && ru.Path == rt.Path && ru.RawQuery == rt.RawQuery &&
			(rt.Hostname() == "localhost" || rt.Hostname() == "127.0.0.1" || rt.Hostname() == "::1") {
			return true
		}
	}
	return false
}

// MCP authorization with the registration shapes of real MCP clients (shared/testenv/realclients.json):
// each registers over HTTP (RFC 7591), and completes authorization (PKCE, RFC 8707
// resource, consent, WorkOS) for every runtime redirect URI, getting an access token whose
// aud is the resource (RFC 8707 §2, RFC 9068 §2.2) and a working refresh token.
func TestRealClients_RegisterAndCompleteFlow(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	resource := s.Issuer + "/mcp"
	for _, c := range loadRealClients(t).Clients {
		t.Run(c.Name, func(t *testing.T) {
			var meta struct {
				RedirectURIs []string `json:"redirect_uris"`
				AuthMethod   string   `json:"token_endpoint_auth_method"`
			}
			if err := json.Unmarshal(c.Registration, &meta); err != nil {
				t.Fatal(err)
			}
			reg := s.postRegister(t, "application/json", string(c.Registration))
			if reg.Status != http.StatusCreated {
				t.Fatalf("registration refused: %d %s", reg.Status, reg.Body)
			}
			client := reg.json(t)
			clientID, secret := str(client, "client_id"), str(client, "client_secret")
			if confidential := meta.AuthMethod != "none"; confidential != (secret != "") {
				t.Fatalf("auth method %s, secret issued: %v", meta.AuthMethod, secret != "")
			}

			for _, raw := range c.RuntimeRedirectURIs {
				redirectURI := runtimeURI(t, raw)
				id, sec := clientID, secret
				if !coveredBy(meta.RedirectURIs, redirectURI) {
					// OAuth 2.1 §2.3.1 exact matching: a URI outside the registration is refused
					// on a page, never redirected to. Such a client registers the URI it uses
					// (a per-connector registration), which then completes.
					_, challenge := pkce()
					wantErrorPage(t, do(t, http.MethodGet, s.authorizeURL(authorizeParams(id, redirectURI, challenge, "s", resource, "")), "", ""), "redirect_uri")
					var m map[string]any
					_ = json.Unmarshal(c.Registration, &m)
					m["redirect_uris"] = append(meta.RedirectURIs, redirectURI)
					body, _ := json.Marshal(m)
					perConnector := s.register(t, string(body))
					id, sec = str(perConnector, "client_id"), str(perConnector, "client_secret")
				}
				t.Run(redirectURI, func(t *testing.T) {
					completeRealFlow(t, s, id, sec, meta.AuthMethod, redirectURI, resource)
				})
			}
		})
	}
}

func completeRealFlow(t *testing.T, s *stack, clientID, secret, method, redirectURI, resource string) {
	verifier, challenge := pkce()
	state := "rc-" + strconv.Itoa(freePort(t))
	final := s.signIn(t, newBrowser(t), authorizeParams(clientID, redirectURI, challenge, state, resource, ""), "grace@example.com")
	want, _ := url.Parse(redirectURI)
	if final.Scheme != want.Scheme || final.Host != want.Host || final.Path != want.Path {
		t.Fatalf("redirected to %s, want %s", final, redirectURI)
	}
	q := final.Query()
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != s.Issuer {
		t.Fatalf("authorization response %v", q)
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "resource": {resource}, "client_id": {clientID}}
	refresh := refreshForm(clientID, "")
	var basic []string
	switch method {
	case "client_secret_post":
		form.Set("client_secret", secret)
		refresh.Set("client_secret", secret)
	case "client_secret_basic":
		form.Del("client_id")
		refresh.Del("client_id")
		basic = []string{clientID, secret}
	}
	r := s.postToken(t, form, basic...)
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	tok := r.json(t)
	claims := verifyWithJWKS(t, s.Issuer, str(tok, "access_token"))
	if claims["aud"] != resource || claims["client_id"] != clientID || claims["email"] != "grace@example.com" {
		t.Fatalf("access token claims %v", claims)
	}
	if !strings.Contains(str(tok, "scope"), "mcp:tools") || str(tok, "refresh_token") == "" {
		t.Fatalf("token response %v", tok)
	}
	refresh.Set("refresh_token", str(tok, "refresh_token"))
	if r := s.postToken(t, refresh, basic...); r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
}
