package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/infra/workosemu/emutest"
)

const callback = "http://127.0.0.1:3000/api/ext/auth/callback"

func startEmulator(t *testing.T) *httptest.Server {
	t.Helper()
	return emutest.Start(t, callback)
}

// signInAs drives the emulator's sign-in page and returns the code WorkOS sends to the callback.
func signInAs(t *testing.T, authURL, userID string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u, _ := url.Parse(authURL)
	form := url.Values{"action": {"user"}, "user_id": {userID}}
	for k, v := range u.Query() {
		form[k] = v
	}
	resp, err := c.PostForm(u.Scheme+"://"+u.Host+"/user_management/authorize/complete", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("no code in redirect %q (status %d)", resp.Header.Get("Location"), resp.StatusCode)
	}
	return loc.Query().Get("code")
}

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthKit sign-in with PKCE toward WorkOS: the identity, organization and session id come back.
func TestAuthenticateReturnsIdentity(t *testing.T) {
	srv := startEmulator(t)
	s := NewSignIn(srv.URL+"/", workosemu.DefaultAPIKey, workosemu.DefaultClientID, callback) // trailing slash trimmed
	verifier := strings.Repeat("v", 50)
	authURL, err := s.AuthorizationURL("state-123", challenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, authURL)
	if q.Get("provider") != "authkit" || q.Get("code_challenge_method") != "S256" || q.Get("state") != "state-123" || q.Get("redirect_uri") != callback {
		t.Fatalf("authorization URL: %s", authURL)
	}
	code := signInAs(t, authURL, "user_01JADAGS1DPDFA9S9S631SFWJ6")
	id, err := s.Authenticate(context.Background(), code, verifier, "203.0.113.7", "test-agent")
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "user_01JADAGS1DPDFA9S9S631SFWJ6" || id.Email != "ada@example.com" || id.FirstName != "Ada" ||
		id.OrganizationID != "org_01JENGINESADMFHXS2JFX687EA" || !strings.HasPrefix(id.SessionID, "session_") {
		t.Fatalf("identity: %+v", id)
	}
}

// A wrong PKCE verifier or a reused code is the person's problem (start again), not an outage.
func TestAuthenticateRejectedCodes(t *testing.T) {
	srv := startEmulator(t)
	s := NewSignIn(srv.URL, workosemu.DefaultAPIKey, workosemu.DefaultClientID, callback)
	verifier := strings.Repeat("w", 50)
	authURL, _ := s.AuthorizationURL("st", challenge(verifier))
	code := signInAs(t, authURL, "user_01JADAGS1DPDFA9S9S631SFWJ6")
	if _, err := s.Authenticate(context.Background(), code, strings.Repeat("x", 50), "", ""); !errors.Is(err, ErrRejected) {
		t.Fatalf("wrong verifier: %v, want ErrRejected", err)
	}
	if _, err := s.Authenticate(context.Background(), "bogus", verifier, "", ""); !errors.Is(err, ErrRejected) {
		t.Fatalf("unknown code: %v, want ErrRejected", err)
	}
}

// A wrong API key (401) or an unreachable WorkOS is an outage, not a rejected sign-in.
func TestAuthenticateOutages(t *testing.T) {
	srv := startEmulator(t)
	bad := NewSignIn(srv.URL, "sk_wrong", workosemu.DefaultClientID, callback)
	if _, err := bad.Authenticate(context.Background(), "code", strings.Repeat("v", 50), "", ""); err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("wrong API key: %v, want a non-rejection error", err)
	}
	down := NewSignIn("http://127.0.0.1:1", workosemu.DefaultAPIKey, workosemu.DefaultClientID, callback)
	if _, err := down.Authenticate(context.Background(), "code", strings.Repeat("v", 50), "", ""); err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("unreachable: %v, want a non-rejection error", err)
	}
}

func TestSessionIDFromAccessToken(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sid":"session_abc","sub":"user_1"}`))
	if got := sessionID("h." + payload + ".s"); got != "session_abc" {
		t.Fatalf("sid = %q", got)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c"} {
		if got := sessionID(bad); got != "" {
			t.Fatalf("sessionID(%q) = %q, want empty", bad, got)
		}
	}
}

func TestAPIKeyFromSecret(t *testing.T) {
	for in, want := range map[string]string{
		"sk_live_abc":                  "sk_live_abc",
		"  sk_live_abc\n":              "sk_live_abc",
		`{"api_key":"sk_live_json"}`:   "sk_live_json",
		`{"api_key":"k","other":true}`: "k",
	} {
		if got, err := apiKeyFromSecret(in); err != nil || got != want {
			t.Fatalf("apiKeyFromSecret(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "  ", `{"key":"x"}`, `{"api_key":""}`, `{not json`} {
		if _, err := apiKeyFromSecret(bad); err == nil {
			t.Fatalf("apiKeyFromSecret(%q) accepted", bad)
		}
	}
	if _, err := LoadAPIKey(context.Background(), nil, "", ""); err == nil {
		t.Fatal("no secret ARN and no plain key must be an error")
	}
	if got, err := LoadAPIKey(context.Background(), nil, "", "sk_local"); err != nil || got != "sk_local" {
		t.Fatalf("plain key: %q %v", got, err)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// docs/decisions.md "Refresh follows the WorkOS session": the sign-in hands back WorkOS's
// refresh token; a refresh answers the same person, organization and session with a new
// token, and the one presented is spent (WorkOS rotates it).
func TestRefreshRotatesTheWorkOSToken(t *testing.T) {
	srv := startEmulator(t)
	s := NewSignIn(srv.URL, workosemu.DefaultAPIKey, workosemu.DefaultClientID, callback)
	verifier := strings.Repeat("r", 50)
	authURL, _ := s.AuthorizationURL("st", challenge(verifier))
	id, err := s.Authenticate(context.Background(), signInAs(t, authURL, "user_01JADAGS1DPDFA9S9S631SFWJ6"), verifier, "", "")
	if err != nil || id.RefreshToken == "" {
		t.Fatalf("sign-in: %v, refresh token present = %v", err, id.RefreshToken != "")
	}
	next, err := s.Refresh(context.Background(), id.RefreshToken, id.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if next.UserID != id.UserID || next.OrganizationID != id.OrganizationID || next.SessionID != id.SessionID ||
		next.RefreshToken == "" || next.RefreshToken == id.RefreshToken {
		t.Fatalf("refreshed identity: user %q org %q session %q, new token %v", next.UserID, next.OrganizationID, next.SessionID, next.RefreshToken != id.RefreshToken)
	}
	if _, err := s.Refresh(context.Background(), id.RefreshToken, id.OrganizationID); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("the spent WorkOS token: %v, want ErrSessionEnded", err)
	}
	down := NewSignIn("http://127.0.0.1:1", workosemu.DefaultAPIKey, workosemu.DefaultClientID, callback)
	if _, err := down.Refresh(context.Background(), next.RefreshToken, ""); err == nil || errors.Is(err, ErrSessionEnded) {
		t.Fatalf("unreachable: %v, want an outage", err)
	}
}
