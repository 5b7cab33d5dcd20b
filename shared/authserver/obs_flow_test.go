package authserver_test

// The observed flow shared by obs_logs_test.go and obs_metrics_test.go: the whole
// authorization server, logging and emitting metrics as it does in Lambda, driven through
// every path that logs or counts, while the test keeps every secret value it sees.

import (
	"bytes"
	"context"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/wiring"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	text := strings.TrimSpace(b.buf.String())
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// flakySignIn is WorkOS that can be made to fail the code exchange like an outage.
type flakySignIn struct {
	authserver.SignIn
	fail atomic.Bool
}

func (f *flakySignIn) Authenticate(ctx context.Context, code, verifier, ip, ua string) (upstream.Identity, error) {
	if f.fail.Load() {
		return upstream.Identity{}, errors.New("upstream: authenticate: dial tcp 127.0.0.1:443: connect: connection refused")
	}
	return f.SignIn.Authenticate(ctx, code, verifier, ip, ua)
}

// observedFlow is what one run of the flow left behind.
type observedFlow struct {
	Logs    []string          // every log line
	Metrics []string          // every EMF line
	Secrets map[string]string // what each secret value seen in the flow was, by value
	Public  string            // client ids
	Confid  string
}

func (f *observedFlow) secret(what, value string) {
	if value == "" {
		panic("empty secret: " + what)
	}
	f.Secrets[value] = what
}

// runObservedFlow runs the whole server with its logger built as wiring builds it (obs
// handler over a JSON handler with Lambda's key names) and metrics through wiring's DynamoDB
// and KMS hooks, and drives: a refused registration; a public and a confidential client
// registered; for the public client consent, sign-in, code exchange, refresh, and a rotated
// refresh token replayed after the grace window; a cancelled WorkOS sign-in; a WorkOS outage;
// a second grant; for the confidential client a denied consent, then consent, sign-in, code
// exchange with client_secret_basic and the code replayed; a wrong client secret; and
// revocation.
func runObservedFlow(t *testing.T) *observedFlow {
	t.Helper()
	s := newStack(t, nil)
	logs, metrics := &syncBuffer{}, &syncBuffer{}
	m := obs.NewMetrics(metrics, "authbridge-test")
	fn := &wiring.Function{Metrics: m}
	s.Server.Log = slog.New(obs.NewHandler(slog.NewJSONHandler(logs,
		&slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: lambdacontext.ReplaceAttr})))
	s.Server.Metrics = m
	s.Server.Store = store.New(dynamodb.New(s.DB.Options(), fn.DynamoDBMetrics), s.Table).WithClock(s.clock.now)
	s.Server.Minter.WithSignObserver(fn.KMSSignMetrics)
	workos := &flakySignIn{SignIn: s.Server.SignIn}
	s.Server.SignIn = workos

	f := &observedFlow{Secrets: map[string]string{}}
	redirectURI := "http://localhost:49321/callback"

	// Discovery logs nothing but goes through the same handlers.
	var doc map[string]any
	getJSON(t, s.Issuer+"/.well-known/oauth-protected-resource/mcp", &doc)
	getJSON(t, s.Issuer+authserver.PathASMetadata, &doc)
	getJSON(t, s.Issuer+authserver.PathJWKS, &doc)

	// Registration: one refused, a public and a confidential client.
	r := do(t, http.MethodPost, s.Issuer+authserver.PathRegister, "application/json", `{"client_name":"No redirect"}`)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_redirect_uri")
	f.Public = s.publicClient(t, "Observed public", "http://localhost/callback")
	var secret string
	f.Confid, secret = s.confidentialClient(t, "client_secret_basic", "https://app.example.com/cb")
	f.secret("client secret", secret)

	// Public client: consent, sign-in, code, tokens, refresh.
	b1 := newBrowser(t)
	w := f.authorize(t, s, b1, f.Public, redirectURI, "approve", "email")
	tok := f.exchange(t, s, w.grant.form())
	first := str(tok, "refresh_token")
	f.tokens(t, "refresh", s.postToken(t, refreshForm(f.Public, first)))
	f.secret("browser cookie", cookieValue(t, b1, s.Issuer))

	// The rotated refresh token comes back after the grace window: reuse, family revoked.
	s.clock.advance(s.Server.Config.RefreshReuseGrace + time.Second)
	wantOAuthError(t, s.postToken(t, refreshForm(f.Public, first)), http.StatusBadRequest, "invalid_grant")

	// Consent remembered: straight to WorkOS, where the person cancels.
	w = f.authorize(t, s, b1, f.Public, redirectURI, "", "cancel")
	if w.final.Query().Get("error") != "access_denied" {
		t.Fatalf("cancelled sign-in: %s", w.final)
	}
	// WorkOS down during the code exchange.
	workos.fail.Store(true)
	w = f.authorize(t, s, b1, f.Public, redirectURI, "", "email")
	workos.fail.Store(false)
	// The person is offered the same authorization request again (the client still waits).
	link := regexp.MustCompile(`<a class="retry" href="([^"]+)">Try again</a>`).FindStringSubmatch(w.retry)
	if link == nil {
		t.Fatalf("WorkOS outage at the callback: want a page offering to try again, got:\n%s", w.retry)
	}
	again, _ := url.Parse(html.UnescapeString(link[1]))
	sent, _ := url.Parse(w.authURL)
	for k, v := range sent.Query() {
		if again.Query().Get(k) != v[0] || again.Path != sent.Path {
			t.Errorf("the retry link %s differs from the authorization request %s in %s", again, sent, k)
		}
	}
	// A second grant for the public client.
	w = f.authorize(t, s, b1, f.Public, redirectURI, "", "email")
	second := f.exchange(t, s, w.grant.form())

	// Confidential client in another browser: approved; its code is replayed.
	b2 := newBrowser(t)
	w = f.authorize(t, s, b2, f.Confid, "https://app.example.com/cb", "approve", "email")
	form := w.grant.form()
	form.Del("client_id")
	conf := f.tokens(t, "code", s.postToken(t, form, f.Confid, secret))
	wantOAuthError(t, s.postToken(t, form, f.Confid, secret), http.StatusBadRequest, "invalid_grant")
	f.secret("browser cookie", cookieValue(t, b2, s.Issuer))
	// Denied in a third browser: the redirect URI was approved above, so the denial goes
	// back to the client (RFC 9700 §4.11.2).
	b3 := newBrowser(t)
	w = f.authorize(t, s, b3, f.Confid, "https://app.example.com/cb", "deny", "")
	if w.final.Query().Get("error") != "access_denied" {
		t.Fatalf("denied consent: %s", w.final)
	}
	f.secret("browser cookie", cookieValue(t, b3, s.Issuer))

	// A wrong client secret.
	wrong := "abcs_" + strings.Repeat("Wr0ngSecret", 4)[:43]
	f.secret("wrong client secret", wrong)
	wantOAuthError(t, s.postToken(t, refreshForm("", str(conf, "refresh_token")), f.Confid, wrong), http.StatusUnauthorized, "invalid_client")

	// Revocation (RFC 7009) by the public client, and by the confidential one with Basic.
	if r := s.postFormRaw(t, authserver.PathRevoke, url.Values{"token": {str(second, "refresh_token")}, "client_id": {f.Public}}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := s.postFormRaw(t, authserver.PathRevoke, url.Values{"token": {str(conf, "refresh_token")}}, f.Confid, secret); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}

	f.Logs, f.Metrics = logs.lines(), metrics.lines()
	if len(f.Logs) == 0 || len(f.Metrics) == 0 {
		t.Fatalf("%d log lines, %d metric lines", len(f.Logs), len(f.Metrics))
	}
	return f
}

// authorization is one trip through authorize → (consent) → WorkOS → callback.
type authorization struct {
	final *url.URL // the client's redirect
	grant grant    // when a code came back
	// retry is the callback's "try again" page (503) when WorkOS was unavailable, and authURL
	// the authorization request it started from.
	retry, authURL string
}

// authorize drives a browser from the authorization request to the client's redirect,
// keeping every secret on the way. decision is the consent answer when the page is shown
// ("" when it must not be); action is what the person does at WorkOS: "email" (sign in as
// Ada), "cancel", or "" when the flow must stop before WorkOS (denied consent).
func (f *observedFlow) authorize(t *testing.T, s *stack, b *browser, clientID, redirectURI, decision, action string) authorization {
	t.Helper()
	verifier, challenge := pkce()
	f.secret("PKCE verifier", verifier)
	q := authorizeParams(clientID, redirectURI, challenge, "client-state", s.Issuer+"/mcp", "")
	authURL := s.Issuer + authserver.PathAuthorize + "?" + q.Encode()
	resp, page := b.get(authURL)
	shown := resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`)
	if shown != (decision != "") {
		t.Fatalf("consent page shown = %v, want %v (%d)", shown, decision != "", resp.StatusCode)
	}
	if shown {
		for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
			switch in[1] {
			case "request_id":
				f.secret("consent request id", in[2])
			case "csrf_token":
				f.secret("CSRF token", in[2])
			}
		}
		resp = b.submit(authURL, page, `name="decision"`, url.Values{"decision": {decision}})
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if action == "" {
		return authorization{final: loc}
	}
	f.secret("WorkOS state", loc.Query().Get("state"))
	workosURL := loc.String()
	signIn, page := b.get(workosURL)
	if signIn.StatusCode != http.StatusOK {
		t.Fatalf("WorkOS sign-in page: %d", signIn.StatusCode)
	}
	if action == "cancel" {
		resp = b.submit(workosURL, page, `value="cancel"`, nil)
	} else {
		resp = b.submit(workosURL, page, `name="email"`, url.Values{"email": {"ada@example.com"}})
		for hops := 0; resp.StatusCode == http.StatusOK && hops < 3; hops++ {
			resp = b.submit(workosURL, readBody(t, resp), `selected_organization_id`, nil)
		}
	}
	callback, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(callback.String(), s.Issuer+authserver.PathCallback) {
		t.Fatalf("WorkOS redirected to %q", callback)
	}
	if code := callback.Query().Get("code"); code != "" {
		f.secret("WorkOS code", code)
	}
	resp, body := b.get(callback.String())
	if resp.StatusCode == http.StatusServiceUnavailable {
		return authorization{retry: body, authURL: authURL}
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	final, _ := url.Parse(resp.Header.Get("Location"))
	out := authorization{final: final}
	if code := final.Query().Get("code"); code != "" {
		f.secret("authorization code", code)
		out.grant = grant{ClientID: clientID, RedirectURI: redirectURI, Code: code, Verifier: verifier, Resource: s.Issuer + "/mcp"}
	}
	return out
}

// exchange redeems a code at the token endpoint as a public client.
func (f *observedFlow) exchange(t *testing.T, s *stack, form url.Values) map[string]any {
	t.Helper()
	return f.tokens(t, "code", s.postToken(t, form))
}

// tokens checks a successful token response and keeps its tokens and their JWT parts.
func (f *observedFlow) tokens(t *testing.T, what string, r reply) map[string]any {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("token (%s): %d %s", what, r.Status, r.Body)
	}
	tok := r.json(t)
	access := str(tok, "access_token")
	f.secret("access token", access)
	for i, part := range strings.Split(access, ".") {
		f.secret([]string{"JWT header", "JWT payload", "JWT signature"}[i], part)
	}
	if rt := str(tok, "refresh_token"); rt != "" {
		f.secret("refresh token", rt)
	}
	return tok
}

func cookieValue(t *testing.T, b *browser, issuer string) string {
	t.Helper()
	u, _ := url.Parse(issuer)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "__Host-authbridge-browser" {
			return c.Value
		}
	}
	t.Fatal("the browser has no Authbridge cookie")
	return ""
}
