// Command load drives a running local stack (infra/local/stack.sh) with N concurrent
// simulated MCP clients through the whole flow, for a bounded time, and reports throughput,
// latency per endpoint, errors, 5xx, lost grants and the functions' peak memory.
//
// Each simulated client is one MCP client application (its own registration, a loopback
// redirect URI on which nothing listens) used by one person (a seed user of
// infra/workos-seed.json, with a cookie jar of their own):
//
//	discovery     GET /mcp → 401 (WWW-Authenticate resource_metadata), GET the protected
//	              resource metadata, GET the authorization server metadata
//	registration  POST /api/ext/auth/register
//	authorization GET /api/ext/auth/authorize (PKCE S256) → consent page → POST consent →
//	              WorkOS emulator sign-in page → email → (organization picker) →
//	              GET /api/ext/auth/callback → 302 to the redirect URI: the code is read
//	              from the Location header, never followed
//	exchange      POST /api/ext/auth/token (authorization_code)
//	MCP           POST /mcp initialize, notifications/initialized
//
// then, until the time is up: tools/call whoami (the answer must name the person and the
// client) and, once the access token's expires_in has passed, a refresh (the refresh token
// rotates each time). When the time is up every client refreshes one last time; a client
// whose grant no longer refreshes is a lost grant. Exit status 1 when any response was a
// 5xx, any request got no answer at all (transport error), any grant was lost or a client
// never signed in; 2 for a usage or setup error.
//
//	go run ./infra/cmd/load -stack load                       (the issuer and emulator from .run/load/stack.env)
//	go run ./infra/cmd/load -url http://127.0.0.1:3700 -clients 50 -duration 60s
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/net/html"
)

type options struct {
	issuer    string
	workosURL string
	stack     string
	runDir    string
	clients   int
	duration  time.Duration
	think     time.Duration
	ramp      time.Duration
	timeout   time.Duration
	users     []string
	verbose   bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var users string
	fs.StringVar(&o.issuer, "url", os.Getenv("LOAD_URL"), "the stack's issuer, e.g. http://127.0.0.1:3700 (default: ISSUER of .run/STACK/stack.env)")
	fs.StringVar(&o.workosURL, "workos-url", os.Getenv("LOAD_WORKOS_URL"), "the WorkOS emulator's URL (default: WORKOS_URL of .run/STACK/stack.env); only labels its endpoints in the report")
	fs.StringVar(&o.stack, "stack", os.Getenv("LOAD_STACK"), "name of the local stack (.run/NAME): its stack.env and its function processes (peak memory)")
	fs.StringVar(&o.runDir, "run-dir", "", "the stacks' folder (default: .run in the repository holding the current directory)")
	fs.IntVar(&o.clients, "clients", envInt("CLIENTS", 50), "concurrent simulated MCP clients (env CLIENTS)")
	fs.DurationVar(&o.duration, "duration", envDuration("DURATION", 60*time.Second), "how long the clients loop, before the last refresh (env DURATION)")
	fs.DurationVar(&o.think, "think", time.Second, "pause of each client between two tool calls (a model deciding to call a tool; 0: back to back, a saturation test)")
	fs.DurationVar(&o.ramp, "ramp", 0, "spread the clients' starts over this time (0: all at once)")
	fs.DurationVar(&o.timeout, "timeout", 35*time.Second, "per-request timeout (above API Gateway's 29 s integration timeout)")
	fs.StringVar(&users, "users", "ada@example.com,grace@example.com,alan@example.com", "comma-separated seed users; client i signs in as user i mod len")
	fs.BoolVar(&o.verbose, "v", false, "print every error as it happens")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.users = append(o.users, u)
		}
	}
	if err := o.resolve(); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	if o.clients < 1 || o.duration <= 0 || len(o.users) == 0 {
		fmt.Fprintln(stderr, "load: -clients, -duration and -users must be positive")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := newGenerator(o, stderr)
	if err := g.preflight(ctx); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	g.run(ctx)
	return g.report(stdout)
}

// resolve fills the issuer and emulator URL from the stack's stack.env.
func (o *options) resolve() error {
	if o.stack != "" {
		if o.runDir == "" {
			root, err := repoRoot()
			if err != nil {
				return err
			}
			o.runDir = filepath.Join(root, ".run")
		}
		env, err := readEnvFile(filepath.Join(o.runDir, o.stack, "stack.env"))
		if err != nil {
			return fmt.Errorf("stack %s: %w (start it with infra/local/stack.sh up %s PORT)", o.stack, err, o.stack)
		}
		if o.issuer == "" {
			o.issuer = env["ISSUER"]
		}
		if o.workosURL == "" {
			o.workosURL = env["WORKOS_URL"]
		}
	}
	if o.issuer == "" {
		return errors.New("give -url (the issuer) or -stack NAME")
	}
	o.issuer = strings.TrimRight(o.issuer, "/")
	if u, err := url.Parse(o.issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q is not an http(s) URL", o.issuer)
	}
	o.workosURL = strings.TrimRight(o.workosURL, "/")
	return nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return dir, nil
		}
	}
}

func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k != "" && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil { // DURATION=60 means seconds
		return time.Duration(n) * time.Second
	}
	return def
}

// ---------------------------------------------------------------------------------------
// Statistics

// recorder collects every request's outcome. Safe for concurrent use.
type recorder struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration // by endpoint label, answered requests only
	failures  map[string]int             // by endpoint label: requests counted as errors
	errors    map[string]int             // by kind: "label: status oauth_error" etc.
	requests  int64
	status5xx int64
	transport int64

	signIns, toolCalls, refreshes atomic.Int64
	signInFailures                atomic.Int64
	lostFinal, lostMidRun         atomic.Int64
	neverSignedIn                 atomic.Int64
	lostDetails                   []string

	verbose io.Writer
}

func newRecorder() *recorder {
	return &recorder{latencies: map[string][]time.Duration{}, failures: map[string]int{}, errors: map[string]int{}}
}

func (r *recorder) answered(label string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.latencies[label] = append(r.latencies[label], d)
	if status >= 500 {
		r.status5xx++
	}
}

func (r *recorder) transportError(label string, err error) {
	r.mu.Lock()
	r.requests++
	r.transport++
	r.mu.Unlock()
	r.fail(label, "transport: "+transportKind(err))
}

// fail counts an error of a kind on an endpoint (label "" for errors of the flow itself).
func (r *recorder) fail(label, kind string) {
	key := kind
	if label != "" {
		key = label + ": " + kind
	}
	r.mu.Lock()
	r.errors[key]++
	if label != "" {
		r.failures[label]++
	}
	r.mu.Unlock()
	if r.verbose != nil {
		fmt.Fprintf(r.verbose, "%s error %s\n", time.Now().Format("15:04:05.000"), key)
	}
}

func (r *recorder) lost(detail string, final bool) {
	if final {
		r.lostFinal.Add(1)
	} else {
		r.lostMidRun.Add(1)
	}
	r.mu.Lock()
	r.lostDetails = append(r.lostDetails, detail)
	r.mu.Unlock()
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 { // drop "Get "URL": " prefixes
		msg = msg[i+2:]
	}
	return msg
}

// percentile is the nearest-rank percentile (p in (0,100]) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// ---------------------------------------------------------------------------------------
// The generator

type generator struct {
	o         options
	rec       *recorder
	transport *http.Transport
	issuerURL *url.URL
	workos    *url.URL
	mem       *memSampler
	stderr    io.Writer
	started   time.Time
	elapsed   time.Duration
}

func newGenerator(o options, stderr io.Writer) *generator {
	g := &generator{o: o, rec: newRecorder(), stderr: stderr}
	if o.verbose {
		g.rec.verbose = stderr
	}
	g.issuerURL, _ = url.Parse(o.issuer)
	if o.workosURL != "" {
		g.workos, _ = url.Parse(o.workosURL)
	}
	g.transport = &http.Transport{
		Proxy:               nil, // loopback: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * o.clients,
		MaxIdleConnsPerHost: 2 * o.clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	if o.stack != "" {
		g.mem = newMemSampler(filepath.Join(o.runDir, o.stack))
	}
	return g
}

func (g *generator) preflight(ctx context.Context) error {
	c := &http.Client{Transport: g.transport, Timeout: 10 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.o.issuer+"/.well-known/oauth-authorization-server", nil)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("the stack does not answer at %s: %w", g.o.issuer, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/.well-known/oauth-authorization-server answered %d", g.o.issuer, resp.StatusCode)
	}
	return nil
}

func (g *generator) run(ctx context.Context) {
	fmt.Fprintf(g.stderr, "load: %d clients against %s for %s (users %s)\n", g.o.clients, g.o.issuer, g.o.duration, strings.Join(g.o.users, ", "))
	g.started = time.Now()
	deadline := g.started.Add(g.o.duration)
	memCtx, memStop := context.WithCancel(context.Background())
	defer memStop()
	var memDone chan struct{}
	if g.mem != nil {
		memDone = make(chan struct{})
		go func() { defer close(memDone); g.mem.loop(memCtx, time.Second) }()
	}
	progCtx, progStop := context.WithCancel(context.Background())
	defer progStop()
	go g.progress(progCtx)

	var wg sync.WaitGroup
	for i := 0; i < g.o.clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := g.newClient(i)
			if g.o.ramp > 0 && g.o.clients > 1 {
				sleepCtx(ctx, time.Duration(int64(g.o.ramp)*int64(i)/int64(g.o.clients-1)))
			}
			c.run(ctx, deadline)
		}(i)
	}
	wg.Wait()
	g.elapsed = time.Since(g.started)
	progStop()
	if g.mem != nil {
		g.mem.sample() // a last look, after the final refreshes
		memStop()
		<-memDone
	}
}

func (g *generator) progress(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.rec.mu.Lock()
			reqs, e5, errs := g.rec.requests, g.rec.status5xx, 0
			for _, n := range g.rec.errors {
				errs += n
			}
			g.rec.mu.Unlock()
			fmt.Fprintf(g.stderr, "load: %5.0fs  %7d requests  %4d sign-ins  %7d tool calls  %6d refreshes  %5d errors  %4d 5xx\n",
				time.Since(g.started).Seconds(), reqs, g.rec.signIns.Load(), g.rec.toolCalls.Load(), g.rec.refreshes.Load(), errs, e5)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// label names an endpoint: method and route template relative to the issuer, "workos" and
// the path for the emulator, plus a detail (grant type, JSON-RPC method, form action).
func (g *generator) label(method string, u *url.URL, detail string) string {
	var route string
	switch {
	case u.Host == g.issuerURL.Host && strings.HasPrefix(u.Path, g.issuerURL.Path):
		route = "/" + strings.TrimLeft(strings.TrimPrefix(u.Path, g.issuerURL.Path), "/")
	case g.workos != nil && u.Host == g.workos.Host:
		route = "workos " + u.Path
	default:
		route = u.Host + u.Path
	}
	s := method + " " + route
	if detail != "" {
		s += " (" + detail + ")"
	}
	return s
}

// ---------------------------------------------------------------------------------------
// One simulated MCP client and its person

type client struct {
	g      *generator
	n      int
	email  string
	http   *http.Client
	rpcID  int
	mcpURL string

	// discovered
	resource, scope                  string
	authzEndpoint, tokenEndpoint     string
	registrationEndpoint             string
	clientID, redirectURI            string
	access, refresh, protocolVersion string
	expiresAt                        time.Time
	granted                          bool
}

func (g *generator) newClient(n int) *client {
	jar, _ := cookiejar.New(nil)
	return &client{
		g: g, n: n, email: g.o.users[n%len(g.o.users)],
		mcpURL: g.o.issuer + "/mcp",
		http: &http.Client{
			Transport: g.transport, Jar: jar, Timeout: g.o.timeout,
			// Every hop is its own request (its own latency); the last one, to the
			// client's redirect URI, is never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (c *client) run(ctx context.Context, deadline time.Time) {
	rec := c.g.rec
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !c.granted {
			if err := c.signIn(ctx); err != nil {
				rec.signInFailures.Add(1) // its error is already counted, by endpoint
				sleepCtx(ctx, time.Second)
				continue
			}
			c.granted = true
			rec.signIns.Add(1)
			continue
		}
		if !time.Now().Before(c.expiresAt) {
			if status, code, err := c.doRefresh(ctx); err != nil {
				if status == http.StatusBadRequest && code == "invalid_grant" {
					rec.lost(fmt.Sprintf("client %d (%s): refresh refused mid-run: invalid_grant", c.n, c.email), false)
					c.granted = false // sign in again
				}
				sleepCtx(ctx, 500*time.Millisecond)
				continue
			}
			rec.refreshes.Add(1)
		}
		status, err := c.toolCall(ctx)
		if err != nil {
			if status == http.StatusUnauthorized {
				c.expiresAt = time.Time{} // refresh before the next call
			} else {
				sleepCtx(ctx, 200*time.Millisecond)
			}
			continue
		}
		rec.toolCalls.Add(1)
		sleepCtx(ctx, c.g.o.think)
	}
	if !c.granted {
		rec.neverSignedIn.Add(1)
		return
	}
	// The last refresh. A transient failure (5xx, no answer) is retried with the same
	// refresh token, as a client would; the grant is lost when it is refused, or after
	// three attempts.
	final, cancel := context.WithTimeout(context.Background(), 3*c.g.o.timeout)
	defer cancel()
	var status int
	var code string
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if status, code, err = c.doRefresh(final); err == nil {
			rec.refreshes.Add(1)
			return
		}
		if status > 0 && status < 500 {
			break
		}
		sleepCtx(final, time.Duration(attempt+1)*500*time.Millisecond)
	}
	what := code
	if status == 0 {
		what = "no answer"
	} else if what == "" {
		what = strconv.Itoa(status)
	}
	rec.lost(fmt.Sprintf("client %d (%s): last refresh failed: %d %s", c.n, c.email, status, what), true)
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL
}

// do sends a request, records its latency under its label and reads the body. A
// transport error is recorded as an error here; HTTP errors are the caller's to judge.
func (c *client) do(ctx context.Context, method, rawURL, detail string, header http.Header, body []byte) (*response, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	label := c.g.label(method, u, detail)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, label, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "authbridge-load/1.0")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err == nil {
			c.g.rec.answered(label, resp.StatusCode, time.Since(start))
			return &response{status: resp.StatusCode, header: resp.Header, body: b, url: u}, label, nil
		}
	}
	c.g.rec.transportError(label, err)
	return nil, label, fmt.Errorf("%s: %s", label, transportKind(err))
}

// unexpected records an unexpected answer: status, and the OAuth or JSON-RPC error code
// when the body or WWW-Authenticate names one; returns it as an error.
func (c *client) unexpected(label string, r *response, what string) error {
	kind := strconv.Itoa(r.status)
	if code := errorCode(r); code != "" {
		kind += " " + code
	}
	if what != "" {
		kind += " " + what
	}
	c.g.rec.fail(label, kind)
	return fmt.Errorf("%s: %s", label, kind)
}

var (
	reResourceMetadata = regexp.MustCompile(`resource_metadata="([^"]*)"`)
	reAuthError        = regexp.MustCompile(`error="([^"]*)"`)
)

func errorCode(r *response) string {
	if m := reAuthError.FindStringSubmatch(r.header.Get("WWW-Authenticate")); m != nil {
		return m[1]
	}
	var doc struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(r.body, &doc) == nil {
		var s string
		if json.Unmarshal(doc.Error, &s) == nil && s != "" {
			return s
		}
		var rpc struct {
			Code int `json:"code"`
		}
		if json.Unmarshal(doc.Error, &rpc) == nil && rpc.Code != 0 {
			return "jsonrpc " + strconv.Itoa(rpc.Code)
		}
		if doc.Message != "" {
			return strconv.Quote(doc.Message)
		}
	}
	return ""
}

func (c *client) signIn(ctx context.Context) error {
	if c.clientID == "" {
		if err := c.discover(ctx); err != nil {
			return err
		}
		if err := c.register(ctx); err != nil {
			return err
		}
	}
	code, verifier, err := c.authorize(ctx)
	if err != nil {
		return err
	}
	if err := c.exchange(ctx, code, verifier); err != nil {
		return err
	}
	return c.initialize(ctx)
}

func (c *client) discover(ctx context.Context) error {
	r, label, err := c.do(ctx, http.MethodGet, c.mcpURL, "", http.Header{"Accept": {"application/json, text/event-stream"}}, nil)
	if err != nil {
		return err
	}
	m := reResourceMetadata.FindStringSubmatch(r.header.Get("WWW-Authenticate"))
	if r.status != http.StatusUnauthorized || m == nil {
		return c.unexpected(label, r, "(want 401 with resource_metadata)")
	}
	r, label, err = c.do(ctx, http.MethodGet, m[1], "", http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return err
	}
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &prm) != nil || prm.Resource == "" || len(prm.AuthorizationServers) == 0 {
		return c.unexpected(label, r, "(protected resource metadata)")
	}
	c.resource, c.scope = prm.Resource, strings.Join(prm.ScopesSupported, " ")
	as := strings.TrimRight(prm.AuthorizationServers[0], "/")
	r, label, err = c.do(ctx, http.MethodGet, as+"/.well-known/oauth-authorization-server", "", http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return err
	}
	var md struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		RegistrationEndpoint  string   `json:"registration_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &md) != nil || md.Issuer != as || md.RegistrationEndpoint == "" {
		return c.unexpected(label, r, "(authorization server metadata)")
	}
	c.authzEndpoint, c.tokenEndpoint, c.registrationEndpoint = md.AuthorizationEndpoint, md.TokenEndpoint, md.RegistrationEndpoint
	return nil
}

func (c *client) register(ctx context.Context) error {
	port := 20000 + c.n%40000
	c.redirectURI = fmt.Sprintf("http://127.0.0.1:%d/callback", port)
	body, _ := json.Marshal(map[string]any{
		"client_name":                fmt.Sprintf("Authbridge load client %d", c.n),
		"redirect_uris":              []string{c.redirectURI},
		"token_endpoint_auth_method": "none",
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      c.scope,
	})
	r, label, err := c.do(ctx, http.MethodPost, c.registrationEndpoint, "", http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, body)
	if err != nil {
		return err
	}
	var out struct {
		ClientID string `json:"client_id"`
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &out) != nil || out.ClientID == "" {
		return c.unexpected(label, r, "")
	}
	c.clientID = out.ClientID
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize plays the person's browser from the authorization request to the redirect to
// the client, and returns the code.
func (c *client) authorize(ctx context.Context) (code, verifier string, err error) {
	verifier = randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomString(16)
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {c.redirectURI},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {state}, "scope": {c.scope}, "resource": {c.resource},
	}
	method, target, detail := http.MethodGet, c.authzEndpoint+"?"+q.Encode(), ""
	var body []byte
	browser := http.Header{"Accept": {"text/html"}, "User-Agent": {"Mozilla/5.0 (authbridge-load)"}}
	for step := 0; step < 12; step++ {
		h := browser.Clone()
		if body != nil {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r, label, err := c.do(ctx, method, target, detail, h, body)
		if err != nil {
			return "", "", err
		}
		switch {
		case r.status == http.StatusFound || r.status == http.StatusSeeOther || r.status == http.StatusMovedPermanently:
			loc, err := r.url.Parse(r.header.Get("Location"))
			if err != nil || r.header.Get("Location") == "" {
				return "", "", c.unexpected(label, r, "(redirect without Location)")
			}
			if strings.HasPrefix(loc.String(), c.redirectURI) && loc.Path == "/callback" {
				lq := loc.Query()
				switch {
				case lq.Get("error") != "":
					kind := "redirect to the client with error=" + lq.Get("error")
					c.g.rec.fail(label, kind)
					return "", "", fmt.Errorf("%s: %s", label, kind)
				case lq.Get("state") != state:
					c.g.rec.fail(label, "redirect to the client with the wrong state")
					return "", "", fmt.Errorf("%s: wrong state", label)
				case lq.Get("code") == "":
					c.g.rec.fail(label, "redirect to the client without a code")
					return "", "", fmt.Errorf("%s: no code", label)
				}
				return lq.Get("code"), verifier, nil
			}
			method, target, detail, body = http.MethodGet, loc.String(), "", nil
		case r.status == http.StatusOK:
			forms := parseForms(r.body)
			var f *form
			var extra url.Values
			if f = findForm(forms, func(f *form) bool { return f.has("request_id") && f.button("decision") != nil }); f != nil {
				extra, detail = url.Values{"decision": {"approve"}}, "approve"
			} else if f = findForm(forms, func(f *form) bool { return f.ID == "email-form" }); f != nil {
				extra, detail = url.Values{"email": {c.email}}, "email"
			} else if orgs := filterForms(forms, func(f *form) bool { return strings.HasPrefix(f.ID, "org-") }); len(orgs) > 0 {
				f, detail = orgs[c.n%len(orgs)], "organization"
			} else {
				return "", "", c.unexpected(label, r, "(page without a known form: "+pageTitle(r.body)+")")
			}
			action, err := r.url.Parse(f.Action)
			if err != nil {
				return "", "", c.unexpected(label, r, "(form action)")
			}
			method, target, body = strings.ToUpper(f.Method), action.String(), []byte(f.values(extra).Encode())
			if method == "" {
				method = http.MethodGet
			}
			if method == http.MethodGet {
				target, body = action.String()+"?"+string(body), nil
			}
		default:
			return "", "", c.unexpected(label, r, "")
		}
	}
	c.g.rec.fail("", "sign-in did not reach the client's redirect URI in 12 steps")
	return "", "", errors.New("too many steps")
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (c *client) tokenRequest(ctx context.Context, grant string, form url.Values) (int, string, error) {
	r, label, err := c.do(ctx, http.MethodPost, c.tokenEndpoint, grant,
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}}, []byte(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	var t tokenResponse
	if r.status != http.StatusOK || json.Unmarshal(r.body, &t) != nil || t.AccessToken == "" || !strings.EqualFold(t.TokenType, "bearer") {
		return r.status, errorCode(r), c.unexpected(label, r, "")
	}
	if t.RefreshToken == "" && grant == "authorization_code" {
		return r.status, "", c.unexpected(label, r, "(no refresh token)")
	}
	c.access = t.AccessToken
	if t.RefreshToken != "" {
		c.refresh = t.RefreshToken
	}
	ttl := time.Duration(t.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Minute
	}
	c.expiresAt = time.Now().Add(ttl)
	return r.status, "", nil
}

func (c *client) exchange(ctx context.Context, code, verifier string) error {
	_, _, err := c.tokenRequest(ctx, "authorization_code", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.redirectURI},
		"client_id": {c.clientID}, "code_verifier": {verifier}, "resource": {c.resource},
	})
	return err
}

func (c *client) doRefresh(ctx context.Context) (int, string, error) {
	return c.tokenRequest(ctx, "refresh_token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}, "resource": {c.resource},
	})
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// rpc posts one JSON-RPC message to /mcp; a notification (no id) expects 202.
func (c *client) rpc(ctx context.Context, method string, params any, notification bool) (*rpcResponse, int, error) {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	if !notification {
		c.rpcID++
		msg["id"] = c.rpcID
	}
	body, _ := json.Marshal(msg)
	h := http.Header{
		"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"},
		"Authorization": {"Bearer " + c.access},
	}
	if c.protocolVersion != "" {
		h.Set("MCP-Protocol-Version", c.protocolVersion)
	}
	r, label, err := c.do(ctx, http.MethodPost, c.mcpURL, method, h, body)
	if err != nil {
		return nil, 0, err
	}
	if notification {
		if r.status != http.StatusAccepted {
			return nil, r.status, c.unexpected(label, r, "")
		}
		return nil, r.status, nil
	}
	var out rpcResponse
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil {
		return nil, r.status, c.unexpected(label, r, "")
	}
	if out.Error != nil {
		kind := fmt.Sprintf("jsonrpc %d %s", out.Error.Code, out.Error.Message)
		c.g.rec.fail(label, kind)
		return nil, r.status, fmt.Errorf("%s: %s", label, kind)
	}
	return &out, r.status, nil
}

func (c *client) initialize(ctx context.Context) error {
	c.protocolVersion = ""
	out, _, err := c.rpc(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "authbridge-load", "version": "1.0.0"},
	}, false)
	if err != nil {
		return err
	}
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if json.Unmarshal(out.Result, &res) != nil || res.ProtocolVersion == "" {
		c.g.rec.fail("POST /mcp (initialize)", "result without protocolVersion")
		return errors.New("initialize: no protocolVersion")
	}
	c.protocolVersion = res.ProtocolVersion
	_, _, err = c.rpc(ctx, "notifications/initialized", nil, true)
	return err
}

// toolCall calls whoami and checks that the answer names this client's person and client.
func (c *client) toolCall(ctx context.Context) (int, error) {
	out, status, err := c.rpc(ctx, "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}}, false)
	if err != nil {
		return status, err
	}
	var res struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			Email    string `json:"email"`
			ClientID string `json:"client_id"`
		} `json:"structuredContent"`
	}
	label := "POST /mcp (tools/call)"
	switch {
	case json.Unmarshal(out.Result, &res) != nil:
		c.g.rec.fail(label, "whoami: unreadable result")
	case res.IsError:
		c.g.rec.fail(label, "whoami: isError")
	case res.StructuredContent.Email != c.email || res.StructuredContent.ClientID != c.clientID:
		c.g.rec.fail(label, "whoami: another person or client")
	default:
		return status, nil
	}
	return status, errors.New("whoami: bad result")
}

// ---------------------------------------------------------------------------------------
// HTML forms

type form struct {
	ID, Action, Method string
	Fields             []field // inputs with a name, in document order
	Buttons            []field // submit buttons with a name
}

type field struct{ Name, Value, Type string }

func (f *form) has(name string) bool {
	for _, x := range f.Fields {
		if x.Name == name {
			return true
		}
	}
	return false
}

func (f *form) button(name string) *field {
	for i := range f.Buttons {
		if f.Buttons[i].Name == name {
			return &f.Buttons[i]
		}
	}
	return nil
}

// values is what submitting the form sends: its fields, with extra's values replacing
// (or adding) fields and naming the submit button pressed.
func (f *form) values(extra url.Values) url.Values {
	v := url.Values{}
	for _, x := range f.Fields {
		if _, over := extra[x.Name]; !over {
			v.Add(x.Name, x.Value)
		}
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

func findForm(forms []*form, ok func(*form) bool) *form {
	for _, f := range forms {
		if ok(f) {
			return f
		}
	}
	return nil
}

func filterForms(forms []*form, ok func(*form) bool) []*form {
	var out []*form
	for _, f := range forms {
		if ok(f) {
			out = append(out, f)
		}
	}
	return out
}

// parseForms lists the forms of an HTML page with their inputs and named buttons.
func parseForms(page []byte) []*form {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil
	}
	var forms []*form
	var walk func(n *html.Node, cur *form)
	walk = func(n *html.Node, cur *form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				cur = &form{ID: attr(n, "id"), Action: attr(n, "action"), Method: strings.ToUpper(attr(n, "method"))}
				if cur.Method == "" {
					cur.Method = http.MethodGet
				}
				forms = append(forms, cur)
			case "input":
				if cur != nil && attr(n, "name") != "" {
					typ := strings.ToLower(attr(n, "type"))
					switch typ {
					case "submit":
						cur.Buttons = append(cur.Buttons, field{Name: attr(n, "name"), Value: attr(n, "value"), Type: typ})
					case "checkbox", "radio":
						if hasAttr(n, "checked") {
							cur.Fields = append(cur.Fields, field{Name: attr(n, "name"), Value: valueOr(n, "on"), Type: typ})
						}
					default:
						cur.Fields = append(cur.Fields, field{Name: attr(n, "name"), Value: attr(n, "value"), Type: typ})
					}
				}
			case "button":
				if t := strings.ToLower(attr(n, "type")); cur != nil && attr(n, "name") != "" && (t == "" || t == "submit") {
					cur.Buttons = append(cur.Buttons, field{Name: attr(n, "name"), Value: attr(n, "value"), Type: "submit"})
				}
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch, cur)
		}
	}
	walk(doc, nil)
	return forms
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func valueOr(n *html.Node, def string) string {
	if hasAttr(n, "value") {
		return attr(n, "value")
	}
	return def
}

var reTitle = regexp.MustCompile(`(?is)<title>(.*?)</title>`)

func pageTitle(page []byte) string {
	if m := reTitle.FindSubmatch(page); m != nil {
		return strings.TrimSpace(html.UnescapeString(string(m[1])))
	}
	return "no title"
}

// ---------------------------------------------------------------------------------------
// Peak memory of the stack's function processes

// memSampler finds the function processes of a stack — each function's bootstrap, which the
// Runtime Interface Emulator under infra/lambdarun starts as its child, one per execution
// environment — by their executable (.run/NAME/bin/functions/<function>/bootstrap), and
// keeps each one's VmHWM (peak resident set, /proc/<pid>/status). It samples periodically
// so that an environment replaced during the run is not missed.
type memSampler struct {
	funcsDir string
	pidFiles map[string]string // other processes of the stack: label → pid file
	mu       sync.Mutex
	procs    map[int]*procMem
}

type procMem struct {
	function string
	hwmKB    int64
}

func newMemSampler(stackDir string) *memSampler {
	return &memSampler{
		funcsDir: filepath.Join(stackDir, "bin", "functions") + string(filepath.Separator),
		pidFiles: map[string]string{
			"API Gateway emulator (local-api, runs the RIEs)": filepath.Join(stackDir, "api.pid"),
			"WorkOS emulator": filepath.Join(stackDir, "workos.pid"),
		},
		procs: map[int]*procMem{},
	}
}

func (m *memSampler) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *memSampler) sample() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fn := m.functionOf(pid)
		if fn == "" {
			continue
		}
		hwm, ok := vmHWM(pid)
		if !ok {
			continue
		}
		m.mu.Lock()
		p := m.procs[pid]
		if p == nil || p.function != fn {
			p = &procMem{function: fn}
			m.procs[pid] = p
		}
		p.hwmKB = max(p.hwmKB, hwm)
		m.mu.Unlock()
	}
}

// functionOf names the function whose bootstrap pid runs, or "".
func (m *memSampler) functionOf(pid int) string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			return ""
		}
		exe, _, _ = strings.Cut(string(b), "\x00")
	}
	return functionOfExe(m.funcsDir, exe)
}

// functionOfExe names the function of an executable path under funcsDir
// (funcsDir<function>/bootstrap), or "".
func functionOfExe(funcsDir, exe string) string {
	exe = strings.TrimSuffix(exe, " (deleted)")
	rest, ok := strings.CutPrefix(exe, funcsDir)
	if !ok {
		return ""
	}
	fn, ok := strings.CutSuffix(rest, string(filepath.Separator)+"bootstrap")
	if !ok || strings.Contains(fn, string(filepath.Separator)) {
		return ""
	}
	return fn
}

// vmHWM reads the peak resident set size, in kB.
func vmHWM(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return parseVmHWM(f)
}

func parseVmHWM(r io.Reader) (int64, bool) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0, false
			}
			n, err := strconv.ParseInt(fields[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

type functionMem struct {
	name      string
	instances int
	maxKB     int64
}

func (m *memSampler) byFunction() []functionMem {
	m.mu.Lock()
	defer m.mu.Unlock()
	agg := map[string]*functionMem{}
	for _, p := range m.procs {
		a := agg[p.function]
		if a == nil {
			a = &functionMem{name: p.function}
			agg[p.function] = a
		}
		a.instances++
		a.maxKB = max(a.maxKB, p.hwmKB)
	}
	var out []functionMem
	for _, a := range agg {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// ---------------------------------------------------------------------------------------
// Report

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func mb(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func (g *generator) report(w io.Writer) int {
	r := g.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := g.elapsed.Seconds()
	if secs <= 0 {
		secs = 1
	}
	errTotal := 0
	for _, n := range r.errors {
		errTotal += n
	}
	lost := r.lostFinal.Load() + r.lostMidRun.Load()

	fmt.Fprintf(w, "\nAuthbridge load: %d clients, %s of tool calls and refreshes, then one last refresh each; %.1f s in all\n", g.o.clients, g.o.duration, secs)
	fmt.Fprintf(w, "  issuer %s", g.o.issuer)
	if g.o.workosURL != "" {
		fmt.Fprintf(w, ", WorkOS emulator %s", g.o.workosURL)
	}
	fmt.Fprintf(w, ", users %s", strings.Join(g.o.users, " "))
	if g.o.think > 0 {
		fmt.Fprintf(w, ", think %s", g.o.think)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nThroughput")
	fmt.Fprintf(w, "  requests            %8d   %8.1f /s\n", r.requests, float64(r.requests)/secs)
	fmt.Fprintf(w, "  sign-ins completed  %8d   %8.1f /s\n", r.signIns.Load(), float64(r.signIns.Load())/secs)
	fmt.Fprintf(w, "  tool calls (whoami) %8d   %8.1f /s\n", r.toolCalls.Load(), float64(r.toolCalls.Load())/secs)
	fmt.Fprintf(w, "  refreshes           %8d   %8.1f /s\n", r.refreshes.Load(), float64(r.refreshes.Load())/secs)

	fmt.Fprintln(w, "\nLatency per endpoint (ms; answered requests; errors = answers judged wrong, transport errors included)")
	labels := make([]string, 0, len(r.latencies))
	for l := range r.latencies {
		labels = append(labels, l)
	}
	for l := range r.failures {
		if _, ok := r.latencies[l]; !ok {
			labels = append(labels, l)
		}
	}
	sort.Slice(labels, func(i, j int) bool { return flowOrder(labels[i]) < flowOrder(labels[j]) })
	width := len("endpoint")
	for _, l := range labels {
		width = max(width, len(l))
	}
	fmt.Fprintf(w, "  %-*s %7s %6s %8s %8s %8s %8s\n", width, "endpoint", "count", "errors", "p50", "p95", "p99", "max")
	for _, l := range labels {
		d := append([]time.Duration(nil), r.latencies[l]...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		var mx time.Duration
		if len(d) > 0 {
			mx = d[len(d)-1]
		}
		fmt.Fprintf(w, "  %-*s %7d %6d %8s %8s %8s %8s\n", width, l, len(d), r.failures[l], ms(percentile(d, 50)), ms(percentile(d, 95)), ms(percentile(d, 99)), ms(mx))
	}

	fmt.Fprintln(w, "\nErrors by kind")
	if errTotal == 0 {
		fmt.Fprintln(w, "  none")
	}
	kinds := make([]string, 0, len(r.errors))
	for k := range r.errors {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if r.errors[kinds[i]] != r.errors[kinds[j]] {
			return r.errors[kinds[i]] > r.errors[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		fmt.Fprintf(w, "  %6d  %s\n", r.errors[k], k)
	}

	fmt.Fprintln(w)
	fmt.Fprintf(w, "5xx responses:          %d\n", r.status5xx)
	fmt.Fprintf(w, "transport errors:       %d\n", r.transport)
	fmt.Fprintf(w, "lost grants:            %d (last refresh failed: %d; refused mid-run: %d)\n", lost, r.lostFinal.Load(), r.lostMidRun.Load())
	for _, d := range r.lostDetails {
		fmt.Fprintf(w, "    %s\n", d)
	}
	fmt.Fprintf(w, "failed sign-in attempts: %d\n", r.signInFailures.Load())
	fmt.Fprintf(w, "clients never signed in: %d\n", r.neverSignedIn.Load())

	fmt.Fprintln(w, "\nPeak memory of the functions (VmHWM of each function process, max over its execution environments)")
	if g.mem == nil {
		fmt.Fprintln(w, "  not measured: give -stack NAME")
	} else {
		fns := g.mem.byFunction()
		if len(fns) == 0 {
			fmt.Fprintf(w, "  no function process found under %s\n", g.mem.funcsDir)
		}
		var top functionMem
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range fns {
			fmt.Fprintf(tw, "  %s\t%s\t(%d environment%s)\n", f.name, mb(f.maxKB), f.instances, plural(f.instances))
			if f.maxKB > top.maxKB {
				top = f
			}
		}
		tw.Flush()
		if top.name != "" {
			fmt.Fprintf(w, "  max: %s (%s)\n", mb(top.maxKB), top.name)
		}
		var others []string
		for label, pf := range g.mem.pidFiles {
			b, err := os.ReadFile(pf)
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				continue
			}
			if hwm, ok := vmHWM(pid); ok {
				others = append(others, fmt.Sprintf("  %s: %s", label, mb(hwm)))
			}
		}
		sort.Strings(others)
		if len(others) > 0 {
			fmt.Fprintln(w, "  (not functions, for comparison)")
			for _, o := range others {
				fmt.Fprintln(w, "  "+o)
			}
		}
	}

	failed := r.status5xx > 0 || r.transport > 0 || lost > 0 || r.neverSignedIn.Load() > 0
	fmt.Fprintln(w)
	if failed {
		fmt.Fprintf(w, "FAIL: %d 5xx, %d transport errors, %d lost grants, %d clients never signed in (want all zero)\n", r.status5xx, r.transport, lost, r.neverSignedIn.Load())
		return 1
	}
	fmt.Fprintln(w, "PASS: no 5xx, no transport error, no lost grant")
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// flowOrder sorts endpoint labels in the order of the flow.
func flowOrder(label string) string {
	order := []string{
		"GET /mcp", "GET /.well-known/oauth-protected-resource", "GET /.well-known/oauth-authorization-server",
		"POST /api/ext/auth/register", "GET /api/ext/auth/authorize", "POST /api/ext/auth/consent",
		"GET workos /user_management/authorize", "POST workos /user_management/authorize/complete (email)",
		"POST workos /user_management/authorize/complete (organization)", "GET /api/ext/auth/callback",
		"POST /api/ext/auth/token (authorization_code)", "POST /mcp (initialize)", "POST /mcp (notifications/initialized)",
		"POST /mcp (tools/call)", "POST /api/ext/auth/token (refresh_token)",
	}
	for i, p := range order {
		if strings.HasPrefix(label, p) {
			return fmt.Sprintf("%02d %s", i, label)
		}
	}
	return "99 " + label
}
