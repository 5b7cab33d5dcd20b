package authserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/testenv"
)

// loadRealClients is the embedded data set of real MCP clients' registrations.
func loadRealClients(t *testing.T) testenv.RealClients { return testenv.LoadRealClients(t) }

func (s *stack) postRegister(t *testing.T, contentType, body string) reply {
	t.Helper()
	return do(t, http.MethodPost, s.Issuer+authserver.PathRegister, contentType, body)
}

// RFC 7591 §3.2.2: every refused registration is a 400 JSON error and stores nothing.
func TestRFC7591_RegistrationErrors(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const okURIs = `"redirect_uris":["https://app.example/cb"]`
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf(`"https://app.example/cb%d"`, i)
	}
	cases := []struct {
		name, contentType, body, code string
	}{
		// RFC 7591 §3: the request is a JSON document (application/json).
		{"form content type", formType, "redirect_uris=https://app.example/cb", "invalid_client_metadata"},
		{"text content type", "text/plain", `{` + okURIs + `}`, "invalid_client_metadata"},
		{"no content type", "", `{` + okURIs + `}`, "invalid_client_metadata"},
		{"body over 16 KiB", "application/json", `{` + okURIs + `,"client_name":"` + strings.Repeat("a", 17<<10) + `"}`, "invalid_client_metadata"},
		{"not JSON", "application/json", `redirect_uris`, "invalid_client_metadata"},
		{"JSON array", "application/json", `[` + okURIs + `]`, "invalid_client_metadata"},
		{"trailing data", "application/json", `{` + okURIs + `}{}`, "invalid_client_metadata"},
		{"wrong type", "application/json", `{"redirect_uris":"https://app.example/cb"}`, "invalid_client_metadata"},
		// RFC 7591 §2: redirect_uris is required for the authorization code grant.
		{"missing redirect_uris", "application/json", `{"client_name":"x"}`, "invalid_redirect_uri"},
		{"empty redirect_uris", "application/json", `{"redirect_uris":[]}`, "invalid_redirect_uri"},
		{"21 redirect URIs", "application/json", `{"redirect_uris":[` + strings.Join(many, ",") + `]}`, "invalid_redirect_uri"},
		// RFC 7591 §2 token_endpoint_auth_method: only the methods in the metadata.
		{"private_key_jwt", "application/json", `{` + okURIs + `,"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata"},
		{"unknown auth method", "application/json", `{` + okURIs + `,"token_endpoint_auth_method":"magic"}`, "invalid_client_metadata"},
		// OAuth 2.1: no implicit or password grants.
		{"implicit grant", "application/json", `{` + okURIs + `,"grant_types":["implicit"]}`, "invalid_client_metadata"},
		{"token response type", "application/json", `{` + okURIs + `,"response_types":["token"]}`, "invalid_client_metadata"},
		{"http client_uri", "application/json", `{` + okURIs + `,"client_uri":"http://app.example"}`, "invalid_client_metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.noWrites(t, tc.name, func() {
				wantOAuthError(t, s.postRegister(t, tc.contentType, tc.body), http.StatusBadRequest, tc.code)
			})
		})
	}
}

// RFC 7591 §3.2.2 invalid_redirect_uri; MCP: redirect URIs are HTTPS or loopback; RFC 6749
// §3.1.2 no fragment; RFC 8252 §8.6 no user info. Every must_reject entry, over HTTP.
func TestRFC7591_MustRejectRedirectURIs(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	rc := loadRealClients(t)
	for _, uri := range rc.MustReject {
		s.noWrites(t, uri, func() {
			body, _ := json.Marshal(map[string]any{"client_name": "x", "redirect_uris": []string{"https://ok.example/cb", uri}})
			r := s.postRegister(t, "application/json", string(body))
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_redirect_uri")
		})
	}
}

// RFC 7591 §3.2.1: a confidential client gets client_secret and client_secret_expires_at
// (0 = never) and its metadata echoed; only the secret's hash is stored.
func TestRFC7591_ConfidentialClientResponseAndStoredHash(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, method := range []string{"client_secret_post", "client_secret_basic"} {
		before := time.Now().Unix()
		r := s.postRegister(t, "application/json; charset=utf-8",
			`{"client_name":"Server App","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"`+method+`","grant_types":["authorization_code","refresh_token"],"scope":"mcp:tools unknown:scope"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("registration response carries a secret but Cache-Control is %q", r.Header.Get("Cache-Control"))
		}
		reg := r.json(t)
		secret := str(reg, "client_secret")
		if !strings.HasPrefix(secret, oauth.PrefixClientSecret) || len(secret) < 40 {
			t.Fatalf("client_secret: %q", secret)
		}
		if v, ok := reg["client_secret_expires_at"].(float64); !ok || v != 0 {
			t.Fatalf("client_secret_expires_at = %v, want 0 (RFC 7591 §3.2.1: REQUIRED with a secret)", reg["client_secret_expires_at"])
		}
		if reg["token_endpoint_auth_method"] != method {
			t.Fatalf("token_endpoint_auth_method echoed as %v, want %s", reg["token_endpoint_auth_method"], method)
		}
		if iat, ok := reg["client_id_issued_at"].(float64); !ok || int64(iat) < before-1 || int64(iat) > time.Now().Unix()+1 {
			t.Fatalf("client_id_issued_at = %v", reg["client_id_issued_at"])
		}
		if reg["scope"] != "mcp:tools" { // RFC 7591 §3.2.1: the server may replace requested values
			t.Fatalf("scope = %v, want unsupported tokens dropped", reg["scope"])
		}

		// The store holds the SHA-256 of the secret and never the secret itself.
		clientID := str(reg, "client_id")
		c, err := s.Store.GetClient(context.Background(), clientID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.SecretHash, oauth.HashSecret(secret)) {
			t.Fatal("stored secret hash is not SHA-256 of the issued secret")
		}
		fields := []string{c.Name, c.TokenEndpointAuthMethod, c.Scope, c.ClientURI, c.LogoURI, string(c.SecretHash)}
		fields = append(append(fields, c.RedirectURIs...), c.GrantTypes...)
		for _, f := range fields {
			if strings.Contains(f, secret) {
				t.Fatal("a stored client attribute holds the client secret")
			}
		}
		for _, it := range s.scanItems(t) {
			for name, v := range it {
				if avContains(v, secret) || avContains(v, strings.TrimPrefix(secret, oauth.PrefixClientSecret)) {
					t.Fatalf("raw item attribute %s holds the client secret", name)
				}
			}
		}
	}
}

// RFC 7591 §3.2.1: a public client (none) gets no client_secret.
func TestRFC7591_PublicClientHasNoSecret(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, body := range []string{
		`{"redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"none"}`,
		`{"redirect_uris":["http://localhost/cb"]}`, // MCP clients are public by default
	} {
		r := s.postRegister(t, "application/json", body)
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		reg := r.json(t)
		if _, ok := reg["client_secret"]; ok {
			t.Fatalf("public client got a secret: %v", reg)
		}
		if _, ok := reg["client_secret_expires_at"]; ok {
			t.Fatalf("public client got client_secret_expires_at: %v", reg)
		}
		if reg["token_endpoint_auth_method"] != "none" || str(reg, "client_id") == "" || reg["client_id_issued_at"] == nil {
			t.Fatalf("public registration: %v", reg)
		}
		if reg["grant_types"].([]any)[0] != "authorization_code" || reg["response_types"].([]any)[0] != "code" {
			t.Fatalf("RFC 7591 §2 defaults: %v", reg)
		}
	}
}

// RFC 7591 §3.2.1: exactly 20 redirect URIs (the limit) are accepted.
func TestRFC7591_TwentyRedirectURIsAccepted(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	uris := make([]string, 20)
	for i := range uris {
		uris[i] = fmt.Sprintf("https://app.example/cb%d", i)
	}
	body, _ := json.Marshal(map[string]any{"redirect_uris": uris})
	reg := s.register(t, string(body))
	if len(reg["redirect_uris"].([]any)) != 20 {
		t.Fatalf("redirect_uris: %v", reg["redirect_uris"])
	}
}

// RFC 7591 leaves a registration's lifetime to the server: one never used expires after
// UNUSED_CLIENT_TTL (24h); one that obtained a token is kept.
func TestRFC7591_UnusedRegistrationExpires(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	unused := s.publicClient(t, "Unused", "http://127.0.0.1/cb")
	used := s.publicClient(t, "Used", "http://127.0.0.1/cb")
	s.tokens(t, used, "http://127.0.0.1:7500/cb", "")
	s.clock.advance(25 * time.Hour)
	_, challenge := pkce()
	wantErrorPage(t, do(t, http.MethodGet, s.authorizeURL(authorizeParams(unused, "http://127.0.0.1:7501/cb", challenge, "s", "", "")), "", ""), "unknown client")
	r := do(t, http.MethodGet, s.authorizeURL(authorizeParams(used, "http://127.0.0.1:7501/cb", challenge, "s", "", "")), "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("a used registration expired: %d %s", r.Status, pageText(r.Body))
	}
}
