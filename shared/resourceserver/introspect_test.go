package resourceserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/resourceserver"
)

const (
	rsClientID = "abrs_resource-server"
	// A secret with characters that RFC 6749 §2.3.1's form-urlencoding changes.
	rsSecret = "abrss_s3cr3t +/:%"
)

// introspectionEndpoint plays Authbridge's POST /api/ext/auth/introspect (RFC 7662): it
// records each request and answers with answer(token).
type introspectionEndpoint struct {
	server *httptest.Server
	mu     sync.Mutex
	seen   []*http.Request
	forms  []url.Values
	answer func(token string) (int, string)
}

func newIntrospectionEndpoint(t *testing.T, answer func(token string) (int, string)) *introspectionEndpoint {
	e := &introspectionEndpoint{answer: answer}
	e.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != resourceserver.PathIntrospect {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		e.mu.Lock()
		e.seen = append(e.seen, r)
		e.forms = append(e.forms, r.PostForm)
		e.mu.Unlock()
		status, body := e.answer(r.PostForm.Get("token"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(e.server.Close)
	return e
}

func (e *introspectionEndpoint) verifier(t *testing.T, at time.Time) *resourceserver.IntrospectionVerifier {
	t.Helper()
	v, err := resourceserver.NewIntrospectionVerifier(resourceserver.Config{
		Issuer: e.server.URL, Resource: testResource, Timeout: 300 * time.Millisecond,
	}, rsClientID, rsSecret)
	if err != nil {
		t.Fatal(err)
	}
	return v.WithClock(func() time.Time { return at })
}

// activeJSON is Authbridge's answer for a valid token of ada's issued at t0 by issuer.
func activeJSON(issuer string, change map[string]any) string {
	m := map[string]any{
		"active": true, "scope": ada.Scope, "client_id": ada.ClientID, "sub": ada.Subject, "aud": testResource,
		"iss": issuer, "exp": t0.Add(ttl).Unix(), "iat": t0.Unix(), "nbf": t0.Unix(), "jti": "jti_01",
		"token_type": "Bearer", "email": ada.Email, "org_id": ada.OrgID,
	}
	for k, v := range change {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// RFC 7662 §2.1: the token goes in a form POST, authenticated with the resource server's
// credentials (HTTP Basic, RFC 6749 §2.3.1 form-urlencoded first); §2.2: an active answer
// gives the identity.
func TestRFC7662_2_1_IntrospectionRequestAndActiveAnswer(t *testing.T) {
	var e *introspectionEndpoint
	e = newIntrospectionEndpoint(t, func(string) (int, string) { return 200, activeJSON(e.server.URL, nil) })
	id, err := e.verifier(t, t0.Add(time.Minute)).Verify(context.Background(), "eyJ.token.sig")
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := resourceserver.Identity{
		Subject: ada.Subject, Email: ada.Email, OrgID: ada.OrgID, ClientID: ada.ClientID,
		Scopes: []string{"mcp:tools", "orgs:read"}, Audience: testResource, JTI: "jti_01", ExpiresAt: t0.Add(ttl),
	}
	if !identityEqual(id, want) {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	r, form := e.seen[0], e.forms[0]
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("RFC 7662 §2.1: %s with %q", r.Method, r.Header.Get("Content-Type"))
	}
	if form.Get("token") != "eyJ.token.sig" || form.Get("token_type_hint") != "access_token" {
		t.Fatalf("RFC 7662 §2.1 form %v", form)
	}
	// RFC 6749 §2.3.1: id and secret are form-urlencoded, then Basic-encoded.
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(rsClientID)+":"+url.QueryEscape(rsSecret)))
	if got := r.Header.Get("Authorization"); got != wantAuth {
		t.Fatalf("Authorization %q, want %q", got, wantAuth)
	}
	if form.Has("client_secret") || form.Has("client_id") {
		t.Fatal("RFC 6749 §2.3: credentials sent in the body as well as in Basic")
	}
}

// RFC 7662 §2.2: active:false (revoked, expired, another resource's, unknown) is a refusal;
// so is an active answer that is not for this resource, this issuer, or now.
func TestRFC7662_2_2_IntrospectionRefusals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		body   func(issuer string) string
		at     time.Time
		reason string
	}{
		{"RFC 7662 §2.2 inactive", func(string) string { return `{"active":false}` }, t0, "active is false"},
		{"RFC 7662 §2.2 active missing", func(string) string { return `{"sub":"x"}` }, t0, "active is absent"},
		{"RFC 7662 §2.2 active is a string", func(iss string) string { return activeJSON(iss, map[string]any{"active": "true"}) }, t0, "active is \"true\""},
		{"RFC 8707 aud of another resource", func(iss string) string { return activeJSON(iss, map[string]any{"aud": "https://other.example/mcp"}) }, t0, "aud"},
		{"RFC 8707 aud missing", func(iss string) string { return activeJSON(iss, map[string]any{"aud": nil}) }, t0, "aud"},
		{"RFC 8725 §3.8 another issuer", func(string) string { return activeJSON("https://evil.example", nil) }, t0, "iss"},
		{"RFC 9068 §2.2 sub missing", func(iss string) string { return activeJSON(iss, map[string]any{"sub": nil}) }, t0, "sub"},
		{"RFC 7519 §4.1.4 exp missing", func(iss string) string { return activeJSON(iss, map[string]any{"exp": nil}) }, t0, "exp"},
		{"RFC 7519 §4.1.4 past exp plus leeway", func(iss string) string { return activeJSON(iss, nil) }, t0.Add(ttl + resourceserver.DefaultLeeway), "exp"},
		{"RFC 7519 §4.1.5 before nbf minus leeway", func(iss string) string { return activeJSON(iss, nil) }, t0.Add(-resourceserver.DefaultLeeway - time.Second), "nbf"},
		{"RFC 6749 §3.3 scope not scope tokens", func(iss string) string { return activeJSON(iss, map[string]any{"scope": `mcp:tools "x"`}) }, t0, "scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e *introspectionEndpoint
			e = newIntrospectionEndpoint(t, func(string) (int, string) { return 200, tt.body(e.server.URL) })
			id, err := e.verifier(t, tt.at).Verify(context.Background(), "eyJ.token.sig")
			wantRefused(t, id, err, nil)
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error %q does not name %q", err, tt.reason)
			}
		})
	}
}

// RFC 7662 §2.3: when the endpoint refuses our credentials or fails, nothing is known about
// the token: an error, not a refusal of the token (the middleware answers 503).
func TestRFC7662_2_3_IntrospectionFailureIsNotAnInvalidToken(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		{"RFC 7662 §2.3 credentials refused", 401, `{"error":"invalid_client"}`},
		{"server error", 500, `{"error":"server_error"}`},
		{"not JSON", 200, `<html>`},
		{"larger than MaxResponseBytes", 200, `{"active":false,"pad":"` + strings.Repeat("x", resourceserver.MaxResponseBytes) + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newIntrospectionEndpoint(t, func(string) (int, string) { return tt.status, tt.body })
			id, err := e.verifier(t, t0).Verify(context.Background(), "eyJ.token.sig")
			wantUnavailable(t, id, err)
		})
	}
	t.Run("slower than Timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		defer close(release)
		v, err := resourceserver.NewIntrospectionVerifier(resourceserver.Config{Issuer: slow.URL, Resource: testResource, Timeout: 200 * time.Millisecond}, rsClientID, rsSecret)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		id, err := v.Verify(context.Background(), "eyJ.token.sig")
		wantUnavailable(t, id, err)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Verify took %s with a 200ms timeout", d)
		}
	})
}

// The verifier asks every time: a grant revoked between two requests is refused at the second.
func TestRFC7662_IntrospectionAsksEveryTime(t *testing.T) {
	var e *introspectionEndpoint
	var revoked atomic.Bool
	e = newIntrospectionEndpoint(t, func(string) (int, string) {
		if revoked.Load() {
			return 200, `{"active":false}`
		}
		return 200, activeJSON(e.server.URL, nil)
	})
	v := e.verifier(t, t0)
	if _, err := v.Verify(context.Background(), "eyJ.token.sig"); err != nil {
		t.Fatal(err)
	}
	revoked.Store(true)
	id, err := v.Verify(context.Background(), "eyJ.token.sig")
	wantRefused(t, id, err, nil)
	if len(e.seen) != 2 {
		t.Fatalf("%d introspection calls, want 2", len(e.seen))
	}
	// An oversized token is refused without a call.
	id, err = v.Verify(context.Background(), strings.Repeat("a", 9<<10))
	wantRefused(t, id, err, nil)
	if len(e.seen) != 2 || !slices.Equal(e.forms[1]["token"], []string{"eyJ.token.sig"}) {
		t.Fatalf("calls %d", len(e.seen))
	}
}
