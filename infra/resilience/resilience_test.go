// Package resilience_test puts each dependency of the OAuth endpoints — DynamoDB (Local),
// KMS (local-kms) and WorkOS (the emulator) — behind a real fault proxy (infra/faults:
// Toxiproxy, plus an answer layer for throttling and 5xx) and checks, for every fault of
// every dependency, what a client sees, how long it waits, what the table holds afterwards,
// and that everything works again once the dependency is back, with the same server (no
// restart). The server is built as the functions build theirs: the AWS SDK configuration,
// the request budget and the WorkOS timeout of shared/wiring and shared/upstream.
package resilience_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/infra/faults"
	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/infra/workosemu/emutest"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/wiring"
)

// answerBound is the longest any answer may take during a fault: the request budget plus
// scheduling slack on a busy machine, far below the function's timeout (10 s) and API
// Gateway's (29 s).
const answerBound = wiring.RequestBudget + 1500*time.Millisecond

// lab is the authorization server with its three dependencies behind fault proxies.
type lab struct {
	issuer     string
	server     *authserver.Server
	authorizer *guard.Authorizer
	ddb, kms   *faults.Dependency
	workos     *faults.Dependency
	direct     *dynamodb.Client // the table without the proxy, to inspect it
	table      string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	ctx := context.Background()
	direct, kmsDirect := testenv.DynamoDB(t), testenv.KMS(t)
	table := testenv.UniqueName("authbridge-resilience")
	if err := store.CreateTable(ctx, direct, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = direct.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	keyID := testenv.NewSigningKey(t, kmsDirect)

	var handler http.Handler
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(as.Close)
	issuer := as.URL

	emuServer := emutest.Start(t, issuer+authserver.PathCallback)

	fl, err := faults.NewLab()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	add := func(s faults.Service, upstream string) *faults.Dependency {
		d, err := fl.Add(s, upstream)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	l := &lab{issuer: issuer, direct: direct, table: table,
		ddb:    add(faults.DynamoDB, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")),
		kms:    add(faults.KMS, os.Getenv("AWS_ENDPOINT_URL_KMS")),
		workos: add(faults.WorkOS, emuServer.URL)}

	// As the functions build them (shared/wiring): the same retries and timeouts, pointed at
	// the proxies.
	awsCfg, err := wiring.LoadAWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddbClient := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(l.ddb.URL) })
	kmsClient := kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(l.kms.URL) })
	vars := map[string]string{"ISSUER": issuer, "TABLE_NAME": table, "SIGNING_KEY_ID": keyID, "WORKOS_ENDPOINT": l.workos.URL}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.LoadKeySet(ctx, kmsClient, cfg.AcceptedKeyIDs) // at cold start, KMS healthy
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	l.server = &authserver.Server{
		Config: cfg, Store: store.New(ddbClient, table), Keys: keys, Log: log,
		Minter:        tokens.NewMinter(kmsClient, keyID, issuer, cfg.AccessTokenTTL),
		SignIn:        upstream.NewSignIn(l.workos.URL, workosemu.DefaultAPIKey, workosemu.DefaultClientID, issuer+authserver.PathCallback),
		Webhooks:      &authserver.Webhooks{},
		RequestBudget: wiring.RequestBudget,
	}
	l.authorizer = guard.New(cfg, keys, log)
	if handler, err = l.server.Routes(); err != nil {
		t.Fatal(err)
	}
	return l
}

// ---- the person's browser and the client ----

type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

func (b *browser) do(method, raw string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, raw, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil { // status 0: the caller's expectation fails with the error as body
		return answer{body: err.Error(), took: time.Since(start), header: http.Header{}}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data), took: time.Since(start)}
}

var (
	formRE  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
)

// submit posts the first form of page containing marker, with its inputs and extra.
func (b *browser) submit(pageURL, page, marker string, extra url.Values) answer {
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
		return b.do(http.MethodPost, base.ResolveReference(action).String(), form)
	}
	b.t.Fatalf("no form with %q in:\n%s", marker, page)
	return answer{}
}

// mcpClient is one registered public client of the lab and its person's browser.
type mcpClient struct {
	id, redirectURI string
	browser         *browser
}

func (l *lab) register(t *testing.T, name string) (answer, string) {
	t.Helper()
	body := fmt.Sprintf(`{"client_name":%q,"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`, name)
	start := time.Now()
	resp, err := http.Post(l.issuer+authserver.PathRegister, "application/json", strings.NewReader(body))
	if err != nil {
		return answer{body: err.Error(), took: time.Since(start), header: http.Header{}}, ""
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(data), took: time.Since(start)}
	var out struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal(data, &out)
	return a, out.ClientID
}

func (l *lab) newClient(t *testing.T, name string) *mcpClient {
	t.Helper()
	a, id := l.register(t, name)
	if a.status != http.StatusCreated {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	return &mcpClient{id: id, redirectURI: "http://127.0.0.1:7600/cb", browser: newBrowser(t)}
}

// pendingSignIn is an authorization up to the moment WorkOS sends the browser back: the
// callback URL not yet visited, and the client's PKCE verifier.
type pendingSignIn struct {
	callback, verifier, authURL string
}

// authorizeURL is the client's authorization request.
func (l *lab) authorizeURL(c *mcpClient, challenge string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {c.redirectURI},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"st"}, "resource": {l.issuer + "/mcp"}}
	return l.issuer + authserver.PathAuthorize + "?" + q.Encode()
}

// startSignIn runs the browser through authorize, consent (when shown) and the WorkOS sign-in
// page as alan@example.com (no organization), stopping before the callback.
func (l *lab) startSignIn(t *testing.T, c *mcpClient) pendingSignIn {
	t.Helper()
	verifier := oauth.NewOpaque("")
	authURL := l.authorizeURL(c, oauth.S256Challenge(verifier))
	a := c.browser.do(http.MethodGet, authURL, nil)
	if a.status == http.StatusOK && strings.Contains(a.body, `name="decision"`) {
		a = c.browser.submit(authURL, a.body, `name="decision"`, url.Values{"decision": {"approve"}})
	}
	if a.status != http.StatusFound && a.status != http.StatusSeeOther {
		t.Fatalf("authorize: %d %s", a.status, a.body)
	}
	workosURL := a.header.Get("Location")
	a = c.browser.do(http.MethodGet, workosURL, nil)
	if a.status != http.StatusOK {
		t.Fatalf("WorkOS page: %d", a.status)
	}
	a = c.browser.submit(workosURL, a.body, `name="email"`, url.Values{"email": {"alan@example.com"}})
	callback := a.header.Get("Location")
	if !strings.HasPrefix(callback, l.issuer+authserver.PathCallback) {
		t.Fatalf("WorkOS sent the browser to %q (%d)", callback, a.status)
	}
	return pendingSignIn{callback: callback, verifier: verifier, authURL: authURL}
}

// finish visits the callback and returns the code.
func (l *lab) finish(t *testing.T, c *mcpClient, p pendingSignIn) string {
	t.Helper()
	a := c.browser.do(http.MethodGet, p.callback, nil)
	loc, _ := url.Parse(a.header.Get("Location"))
	if a.status != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("callback: %d %q %s", a.status, a.header.Get("Location"), a.body)
	}
	return loc.Query().Get("code")
}

func (l *lab) exchange(t *testing.T, c *mcpClient, code, verifier string) answer {
	return l.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirectURI},
		"code_verifier": {verifier}, "client_id": {c.id}, "resource": {l.issuer + "/mcp"}})
}

func (l *lab) refresh(t *testing.T, c *mcpClient, token string) answer {
	return l.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {c.id}})
}

func (l *lab) token(t *testing.T, form url.Values) answer {
	t.Helper()
	return newBrowser(t).do(http.MethodPost, l.issuer+authserver.PathToken, form)
}

func (l *lab) revoke(t *testing.T, c *mcpClient, token string) answer {
	t.Helper()
	return newBrowser(t).do(http.MethodPost, l.issuer+authserver.PathRevoke, url.Values{"token": {token}, "client_id": {c.id}})
}

func field(t *testing.T, a answer, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", a.status, a.body)
	}
	s, _ := m[name].(string)
	return s
}

// grant is a signed-in client with its tokens.
type grant struct {
	client                *mcpClient
	access, refreshToken  string
	spareCode, spareProof string // a code not exchanged yet, and its verifier
}

// newGrant signs a client in twice: one code exchanged (tokens), one kept for later.
func (l *lab) newGrant(t *testing.T, name string) *grant {
	t.Helper()
	c := l.newClient(t, name)
	p := l.startSignIn(t, c)
	a := l.exchange(t, c, l.finish(t, c, p), p.verifier)
	if a.status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", a.status, a.body)
	}
	p2 := l.startSignIn(t, c)
	return &grant{client: c, access: field(t, a, "access_token"), refreshToken: field(t, a, "refresh_token"),
		spareCode: l.finish(t, c, p2), spareProof: p2.verifier}
}

// ---- the table ----

// snapshot is the table's content, canonical (items sorted).
func (l *lab) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	var start map[string]types.AttributeValue
	for {
		out, err := l.direct.Scan(context.Background(), &dynamodb.ScanInput{TableName: &l.table, ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			lines = append(lines, itemString(it))
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func itemString(it map[string]types.AttributeValue) string { return testenv.ItemString(it) }

var pkRE = regexp.MustCompile(`pk=S:"([A-Z]+)#`)

// pkPrefixes counts the table's items by key prefix (CODE#, REFRESH#, ...).
func (l *lab) pkPrefixes(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(l.snapshot(t), "\n") {
		if m := pkRE.FindStringSubmatch(line); m != nil {
			out[m[1]]++
		}
	}
	return out
}

// ---- expectations ----

// unavailableJSON: 503 temporarily_unavailable (RFC 6749 §5.2) with Retry-After (RFC 9110
// §10.2.3), within the bound.
func unavailableJSON(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, `"error":"temporarily_unavailable"`) ||
		a.header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: %d Retry-After %q %s, want 503 temporarily_unavailable with Retry-After", what, a.status, a.header.Get("Retry-After"), a.body)
	}
	within(t, what, a)
}

// unavailablePage: the browser's page, 503 with Retry-After, offering to try again.
func unavailablePage(t *testing.T, what string, a answer, retry string) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(a.body, "temporarily unavailable") {
		t.Errorf("%s: %d %q, want the 503 page with Retry-After", what, a.status, a.header.Get("Content-Type"))
	}
	if retry != "" && !offersRetry(a.body, retry) {
		t.Errorf("%s: the page does not offer to try %s again:\n%s", what, retry, a.body)
	}
	within(t, what, a)
}

var retryRE = regexp.MustCompile(`<a class="retry" href="([^"]+)">Try again</a>`)

// offersRetry: the page's "Try again" link is want: the same path and every parameter of want
// with the same value (the link may add the defaults the server filled in, such as scope).
func offersRetry(page, want string) bool {
	m := retryRE.FindStringSubmatch(page)
	if m == nil {
		return false
	}
	got, err1 := url.Parse(html.UnescapeString(m[1]))
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || got.Scheme+got.Host+got.Path != w.Scheme+w.Host+w.Path {
		return false
	}
	for k, v := range w.Query() {
		if got.Query().Get(k) != v[0] {
			return false
		}
	}
	return true
}

func within(t *testing.T, what string, a answer) {
	t.Helper()
	if a.took > answerBound {
		t.Errorf("%s answered after %v, want within %v", what, a.took.Round(time.Millisecond), answerBound)
	}
}

func wantStatus(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: %d %s, want %d", what, a.status, a.body, status)
	}
	within(t, what, a)
}

// authorizerAllows: the Lambda authorizer verifies an access token with the keys it loaded at
// cold start, whatever KMS does.
func (l *lab) authorizerAllows(t *testing.T, what, access string) {
	t.Helper()
	arn := gatewaytest.Default.MethodARN(http.MethodPost, "/mcp")
	ev := gatewaytest.Default.AuthorizerEvent(gatewaytest.Request{Method: http.MethodPost, Path: "/mcp",
		Header: http.Header{"Authorization": {"Bearer " + access}, "Content-Type": {"application/json"}}})
	start := time.Now()
	resp, err := l.authorizer.Handle(context.Background(), ev)
	if got := gatewaytest.Status(resp, err, arn); got != http.StatusOK {
		t.Errorf("%s: the authorizer answered %d, want Allow", what, got)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("%s: the authorizer took %v", what, took)
	}
}

// parallel runs the checks at once (each waits out its own timeouts).
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); fn() }()
	}
	wg.Wait()
}

// recovered proves the dependency is back for the same server: the grant prepared before the
// fault refreshes, its spare code exchanges (unused by the failed attempts), and a new
// client goes through the whole flow.
func (l *lab) recovered(t *testing.T, g *grant) {
	t.Helper()
	if a := l.refresh(t, g.client, g.refreshToken); a.status != http.StatusOK {
		t.Fatalf("after recovery, the refresh token that failed during the fault: %d %s", a.status, a.body)
	}
	if a := l.exchange(t, g.client, g.spareCode, g.spareProof); a.status != http.StatusOK {
		t.Fatalf("after recovery, the code that failed during the fault: %d %s", a.status, a.body)
	}
	c := l.newClient(t, "after recovery")
	p := l.startSignIn(t, c)
	a := l.exchange(t, c, l.finish(t, c, p), p.verifier)
	if a.status != http.StatusOK {
		t.Fatalf("after recovery, a whole new sign-in: %d %s", a.status, a.body)
	}
	l.authorizerAllows(t, "after recovery", field(t, a, "access_token"))
}
