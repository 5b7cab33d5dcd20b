package authserver_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
)

// stack is the authorization server in one process against DynamoDB Local, local-kms and
// the WorkOS emulator, served at Issuer.
type stack struct {
	Issuer string
	Server *authserver.Server
	Store  *store.Store
	Keys   *tokens.KeySet
	Logs   *testenv.Buffer
	DB     *dynamodb.Client // the DynamoDB Local client, to inspect Table directly
	Table  string
	clock  *testClock
	// WorkOS is the emulator's URL; WorkOSDown, while set, makes it drop every connection
	// unanswered (an outage as the WorkOS client sees one).
	WorkOS     string
	WorkOSDown *atomic.Bool
}

// envStage is a test-only key of newStack's env (config never reads it): the stack is
// served under this path prefix, stripped before the handler as API Gateway strips its
// stage, and ISSUER becomes <server URL><stage>. Requests outside it get API Gateway's 403.
const envStage = "test:stage"

// envWebhooks is a test-only key of newStack's env: when set, the WorkOS emulator sends its
// signed events to the stack's webhook endpoint.
const envWebhooks = "test:webhooks"

type testClock struct{ offset time.Duration }

func (c *testClock) now() time.Time          { return time.Now().Add(c.offset) }
func (c *testClock) advance(d time.Duration) { c.offset += d }

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// newStack starts the whole authorization server; env overrides configuration values.
func newStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	ctx := context.Background()
	ddb, kmsClient := testenv.DynamoDB(t), testenv.KMS(t)
	table := testenv.UniqueName("authbridge-flow")
	if err := store.CreateTable(ctx, ddb, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() { _, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	keyID := testenv.NewSigningKey(t, kmsClient)

	var handler http.Handler
	stage := env[envStage]
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stage == "" {
			handler.ServeHTTP(w, r)
		} else if strings.HasPrefix(r.URL.Path, stage+"/") {
			http.StripPrefix(stage, handler).ServeHTTP(w, r)
		} else {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"Missing Authentication Token"}`)
		}
	}))
	t.Cleanup(as.Close)
	issuer := as.URL + stage

	seed, err := workosemu.LoadSeed(filepath.Join(repoRoot(), "infra", "workos-seed.json"))
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	opts := workosemu.Options{
		ClientID: workosemu.DefaultClientID, APIKey: workosemu.DefaultAPIKey,
		RedirectURIs: []string{issuer + authserver.PathCallback}, Seed: seed, StateDir: t.TempDir(),
	}
	if env[envWebhooks] != "" {
		// The emulator signs its events with the stack's secret and posts them to the stack.
		opts.WebhookURL, opts.WebhookSecret = issuer+authserver.PathWebhook, testWebhookSecret
	}
	emu, err := workosemu.New(opts)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	workosDown := &atomic.Bool{}
	workos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if workosDown.Load() {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
			return
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(workos.Close)

	vars := map[string]string{"ISSUER": issuer, "TABLE_NAME": table, "SIGNING_KEY_ID": keyID, "WORKOS_ENDPOINT": workos.URL}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	keys, err := tokens.LoadKeySet(ctx, kmsClient, cfg.AcceptedKeyIDs)
	if err != nil {
		t.Fatalf("keys: %v", err)
	}
	clock := &testClock{}
	logs := &testenv.Buffer{}
	st := store.New(ddb, table).WithClock(clock.now)
	srv := &authserver.Server{
		Config: cfg,
		Store:  st,
		Minter: tokens.NewMinter(kmsClient, keyID, issuer, cfg.AccessTokenTTL).WithClock(clock.now),
		Keys:   keys,
		SignIn: upstream.NewSignIn(workos.URL, workosemu.DefaultAPIKey, workosemu.DefaultClientID, issuer+authserver.PathCallback),
		Log:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    clock.now,
		// The WorkOS webhook endpoint, its events signed with this secret (conformance_webhook_test.go).
		Webhooks: &authserver.Webhooks{Secret: testWebhookSecret},
	}
	if handler, err = srv.Routes(); err != nil {
		t.Fatalf("routes: %v", err)
	}
	return &stack{Issuer: issuer, Server: srv, Store: st, Keys: keys, Logs: logs, DB: ddb, Table: table, clock: clock,
		WorkOS: workos.URL, WorkOSDown: workosDown}
}

// browser is a person's browser: it keeps cookies and does not follow redirects, so the
// test can see each hop.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(raw string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Get(raw)
	if err != nil {
		b.t.Fatalf("GET %s: %v", raw, err)
	}
	return resp, readBody(b.t, resp)
}

func (b *browser) postForm(raw string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.PostForm(raw, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", raw, err)
	}
	return resp, readBody(b.t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

var (
	formRE  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
)

// submit finds the first form whose body contains marker, fills its inputs (plus extra),
// and posts it as a browser would.
func (b *browser) submit(pageURL, page, marker string, extra url.Values) *http.Response {
	b.t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[2], marker) {
			continue
		}
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		for k, v := range extra {
			form[k] = v
		}
		action, _ := url.Parse(html.UnescapeString(m[1]))
		base, _ := url.Parse(pageURL)
		resp, body := b.postForm(base.ResolveReference(action).String(), form)
		resp.Body = io.NopCloser(strings.NewReader(body)) // still readable by the caller
		return resp
	}
	b.t.Fatalf("no form containing %q on page:\n%s", marker, page)
	return nil
}

// pkce returns a fresh RFC 7636 verifier and its S256 challenge.
func pkce() (string, string) {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	v := base64.RawURLEncoding.EncodeToString(buf)
	return v, authserverChallenge(v)
}

func authserverChallenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// register posts a registration and returns the decoded response.
func (s *stack) register(t *testing.T, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(s.Issuer+authserver.PathRegister, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	text := readBody(t, resp)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, text)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// authorizeParams builds an authorization request.
func authorizeParams(clientID, redirectURI, challenge, state, resource, scope string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {state}}
	if resource != "" {
		q.Set("resource", resource)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	return q
}

// signIn drives a browser from the authorization request to the client's redirect:
// consent (approve) when shown, the WorkOS sign-in page as email, then the callback.
// It returns the final redirect to the client.
func (s *stack) signIn(t *testing.T, b *browser, q url.Values, email string) *url.URL {
	t.Helper()
	authURL := s.Issuer + authserver.PathAuthorize + "?" + q.Encode()
	resp, page := b.get(authURL)
	if resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`) {
		resp = b.submit(authURL, page, `name="decision"`, url.Values{"decision": {"approve"}})
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("expected a redirect to WorkOS, got %d", resp.StatusCode)
	}
	resp, body := b.get(s.workosSignIn(t, b, resp.Header.Get("Location"), email))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	final, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return final
}

// workosSignIn signs email in on the WorkOS (emulator) page at workosURL, choosing the first
// organization when asked, and returns the callback URL WorkOS redirects to.
func (s *stack) workosSignIn(t *testing.T, b *browser, workosURL, email string) string {
	t.Helper()
	resp, page := b.get(workosURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("WorkOS sign-in page: %d %s", resp.StatusCode, page)
	}
	resp = b.submit(workosURL, page, `name="email"`, url.Values{"email": {email}})
	for hops := 0; resp.StatusCode == http.StatusOK && hops < 3; hops++ { // organization picker
		_, orgPage := resp, readBody(t, resp)
		resp = b.submit(workosURL, orgPage, `selected_organization_id`, nil)
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("expected WorkOS to redirect to the callback, got %d", resp.StatusCode)
	}
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, s.Issuer+authserver.PathCallback) {
		t.Fatalf("WorkOS redirected to %s, not the callback", callback)
	}
	return callback
}

// tokenRequest posts a token request and decodes the JSON answer.
func (s *stack) tokenRequest(t *testing.T, form url.Values, basic ...string) (int, http.Header, map[string]any) {
	t.Helper()
	return s.postForm(t, authserver.PathToken, form, basic...)
}

func (s *stack) postForm(t *testing.T, path string, form url.Values, basic ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text := readBody(t, resp)
	var out map[string]any
	if text != "" {
		if err := json.Unmarshal([]byte(text), &out); err != nil {
			t.Fatalf("%s answered non-JSON %q", path, text)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func mustStatus(t *testing.T, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("status %d, want %d (body %v)", got, want, body)
	}
}
