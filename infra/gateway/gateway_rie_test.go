package gateway_test

// End-to-end tests: the fixture template's API in front of real functions (testdata/echo,
// testdata/authorizer) running under the Lambda Runtime Interface Emulator.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
	"github.com/authbridge/authbridge/infra/lambdarun"
	"github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/testenv"
)

var stack struct {
	err     error
	tmpl    *gateway.Template
	runner  *lambdarun.Runner
	authLog string
	logs    *syncBuffer
}

type syncBuffer = testenv.Buffer

// findRIE looks for aws-lambda-rie: $AWS_LAMBDA_RIE, the repository's .tools/bin (where
// infra/local/services.sh install puts it), then PATH.
func findRIE() (string, error) {
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p, nil
	}
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, ".tools", "bin", "aws-lambda-rie")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("aws-lambda-rie not found: run infra/local/services.sh install (or set AWS_LAMBDA_RIE)")
}

// buildLambda builds a testdata program the way the local stack builds functions.
func buildLambda(pkgDir, out string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./"+pkgDir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkgDir, err, b)
	}
	return nil
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gateway-test-")
	if err != nil {
		panic(err)
	}
	stack.err = startStack(dir)
	code := m.Run()
	if stack.runner != nil {
		stack.runner.Close()
	}
	if realDoor.runner != nil {
		realDoor.runner.Close()
		os.RemoveAll(realDoor.dir)
	}
	if realDoor.upstream != nil {
		realDoor.upstream.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func startStack(dir string) error {
	rie, err := findRIE()
	if err != nil {
		return err
	}
	tmpl, err := gateway.Load("testdata/template.yaml", nil)
	if err != nil {
		return err
	}
	stack.tmpl = tmpl
	stack.authLog = filepath.Join(dir, "auth.log")
	overrides := gateway.EnvVars{
		"Parameters":         {"FROM_PARAMS": "p", "AUTH_LOG": stack.authLog},
		"EchoFunction":       {"OVERRIDE_ME": "local"},
		"AuthorizerFunction": {"OVERRIDE_ME": "authorizer"},
	}
	var fns []lambdarun.Function
	for _, id := range []string{"EchoFunction", "AuthorizerFunction"} {
		f := tmpl.Functions[id]
		bootstrap := filepath.Join(dir, f.Dir, "bootstrap") // the -bin-dir layout
		if err := buildLambda(filepath.Join("testdata", f.Dir), bootstrap); err != nil {
			return err
		}
		fns = append(fns, lambdarun.Function{ID: id, Name: f.Name, Bootstrap: bootstrap, Handler: f.Handler,
			Env: f.Environment(overrides), Timeout: f.Timeout, MemoryMB: f.MemorySize})
	}
	stack.logs = &syncBuffer{}
	stack.runner, err = lambdarun.Start(context.Background(), lambdarun.Config{RIE: rie, Functions: fns, Output: stack.logs, Region: samtemplate.Region})
	return err
}

// server serves the fixture API; stage is the URL prefix ("" serves at the root).
func server(t *testing.T, stage string, tweak ...func(*gateway.Config)) *httptest.Server {
	t.Helper()
	if stack.err != nil {
		t.Fatalf("local stack: %v", stack.err)
	}
	cfg := gateway.Config{Stage: stage, Invoker: stack.runner}
	for _, f := range tweak {
		f(&cfg)
	}
	h, err := gateway.NewHandler(stack.tmpl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// echoed is what testdata/echo answers: the event it received.
type echoed struct {
	Event struct {
		Resource                        string              `json:"resource"`
		Path                            string              `json:"path"`
		HTTPMethod                      string              `json:"httpMethod"`
		Headers                         map[string]string   `json:"headers"`
		MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
		QueryStringParameters           map[string]string   `json:"queryStringParameters"`
		MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
		PathParameters                  map[string]string   `json:"pathParameters"`
		StageVariables                  map[string]string   `json:"stageVariables"`
		Body                            *string             `json:"body"`
		IsBase64Encoded                 bool                `json:"isBase64Encoded"`
		RequestContext                  struct {
			RequestID        string         `json:"requestId"`
			Stage            string         `json:"stage"`
			ResourcePath     string         `json:"resourcePath"`
			HTTPMethod       string         `json:"httpMethod"`
			Path             string         `json:"path"`
			RequestTimeEpoch int64          `json:"requestTimeEpoch"`
			DomainName       string         `json:"domainName"`
			APIID            string         `json:"apiId"`
			AccountID        string         `json:"accountId"`
			Authorizer       map[string]any `json:"authorizer"`
			Identity         struct {
				SourceIP  string `json:"sourceIp"`
				UserAgent string `json:"userAgent"`
			} `json:"identity"`
		} `json:"requestContext"`
	} `json:"event"`
	Raw json.RawMessage `json:"-"`
}

func decodeEcho(t *testing.T, r response) echoed {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var e echoed
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("echo body %s: %v", r.body, err)
	}
	var raw struct {
		Event json.RawMessage `json:"event"`
	}
	_ = json.Unmarshal(r.body, &raw)
	e.Raw = raw.Event
	return e
}

// authCalls returns the events the authorizer received whose Authorization header
// carries token.
func authCalls(t *testing.T, token string) []map[string]any {
	t.Helper()
	f, err := os.Open(stack.authLog)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("auth log line %q: %v", sc.Text(), err)
		}
		hs, _ := ev["headers"].(map[string]any)
		if token == "" || hs["Authorization"] == "Bearer "+token {
			out = append(out, ev)
		}
	}
	return out
}

func uniqueToken(kind string) string {
	return fmt.Sprintf("%s-%d", kind, time.Now().UnixNano())
}

func TestEventShape(t *testing.T) {
	srv := server(t, "")
	before := time.Now().UnixMilli()
	r := do(t, "GET", srv.URL+"/items/42?a=1&a=2&b=x%20y", nil,
		"X-Multi", "one", "X-Multi", "two", "User-Agent", "gateway-test/1")
	e := decodeEcho(t, r)
	ev := e.Event
	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("resource", ev.Resource, "/items/{id}")
	check("path", ev.Path, "/items/42")
	check("httpMethod", ev.HTTPMethod, "GET")
	check("headers[X-Multi] (last value)", ev.Headers["X-Multi"], "two")
	check("multiValueHeaders[X-Multi]", ev.MultiValueHeaders["X-Multi"], []string{"one", "two"})
	check("headers[User-Agent]", ev.Headers["User-Agent"], "gateway-test/1")
	check("headers[Host]", ev.Headers["Host"], strings.TrimPrefix(srv.URL, "http://"))
	check("headers[X-Forwarded-For]", ev.Headers["X-Forwarded-For"], "127.0.0.1")
	check("queryStringParameters", ev.QueryStringParameters, map[string]string{"a": "2", "b": "x y"})
	check("multiValueQueryStringParameters[a]", ev.MultiValueQueryStringParameters["a"], []string{"1", "2"})
	check("pathParameters", ev.PathParameters, map[string]string{"id": "42"})
	check("stageVariables (the API has none)", ev.StageVariables == nil, true)
	check("body is null", ev.Body == nil, true)
	check("isBase64Encoded", ev.IsBase64Encoded, false)
	rc := ev.RequestContext
	check("requestContext.stage", rc.Stage, "Prod")
	check("requestContext.resourcePath", rc.ResourcePath, "/items/{id}")
	check("requestContext.httpMethod", rc.HTTPMethod, "GET")
	check("requestContext.path", rc.Path, "/items/42")
	check("requestContext.identity.sourceIp", rc.Identity.SourceIP, "127.0.0.1")
	check("requestContext.identity.userAgent", rc.Identity.UserAgent, "gateway-test/1")
	check("requestContext.apiId", rc.APIID, stack.tmpl.API.ID)
	check("requestContext.accountId", rc.AccountID, "123456789012")
	check("requestContext.domainName", rc.DomainName, strings.TrimPrefix(srv.URL, "http://"))
	check("requestContext.authorizer on an open route", rc.Authorizer == nil, true)
	if rc.RequestTimeEpoch < before || rc.RequestTimeEpoch > time.Now().UnixMilli() {
		t.Errorf("requestTimeEpoch %d is not the time of the request", rc.RequestTimeEpoch)
	}
	if rc.RequestID == "" || rc.RequestID != r.header.Get("X-Amzn-Requestid") {
		t.Errorf("requestId %q, x-amzn-RequestId %q", rc.RequestID, r.header.Get("X-Amzn-Requestid"))
	}
	// Without a query string, both query maps are null (not {}).
	var raw map[string]json.RawMessage
	e2 := decodeEcho(t, do(t, "GET", srv.URL+"/items/43", nil))
	_ = json.Unmarshal(e2.Raw, &raw)
	for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters", "body", "stageVariables"} {
		if string(raw[k]) != "null" {
			t.Errorf("%s = %s, want null", k, raw[k])
		}
	}
	if e2.Event.RequestContext.RequestID == rc.RequestID {
		t.Errorf("two requests share the requestId %s", rc.RequestID)
	}
}

func TestResponseMapping(t *testing.T) {
	srv := server(t, "")
	r := do(t, "GET", srv.URL+"/items/1", nil)
	if got := r.header.Values("Set-Cookie"); fmt.Sprint(got) != "[a=1 b=2]" {
		t.Errorf("multiValueHeaders Set-Cookie = %v", got)
	}
	if r.header.Get("X-Echo") != "1" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	if r := do(t, "GET", srv.URL+"/echo/status/201", nil); r.status != 201 || string(r.body) != "status" {
		t.Errorf("status/201: %d %s", r.status, r.body)
	} else if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("default Content-Type = %q, want API Gateway's application/json", r.header.Get("Content-Type"))
	}
	// isBase64Encoded: without BinaryMediaTypes API Gateway passes the base64 text on.
	r = do(t, "GET", srv.URL+"/echo/binary", nil, "Accept", "image/png")
	if string(r.body) != base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0, 0xff}) {
		t.Errorf("isBase64Encoded body = %q, want the base64 text", r.body)
	}
}

func TestRequestBodyIsText(t *testing.T) {
	srv := server(t, "")
	// Without BinaryMediaTypes every body reaches the function as text, whatever its type.
	for _, ct := range []string{"application/json", "application/octet-stream"} {
		ev := decodeEcho(t, do(t, "POST", srv.URL+"/items/7", strings.NewReader(`{"a":1}`), "Content-Type", ct)).Event
		if ev.IsBase64Encoded || ev.Body == nil || *ev.Body != `{"a":1}` {
			t.Errorf("%s body: isBase64Encoded=%v body=%v", ct, ev.IsBase64Encoded, ev.Body)
		}
	}
}

func TestRouting(t *testing.T) {
	srv := server(t, "")
	cases := []struct {
		method, path string
		resource     string // "" = expect 403 Missing Authentication Token
		params       map[string]string
	}{
		{"GET", "/", "/", nil},
		{"GET", "/items/special", "/items/special", nil}, // literal beats {id}
		{"GET", "/items/other", "/items/{id}", map[string]string{"id": "other"}},
		{"GET", "/items/a%2Fb", "/items/{id}", map[string]string{"id": "a/b"}}, // an encoded slash stays in the segment
		{"POST", "/items/9", "/items/{id}", map[string]string{"id": "9"}},      // Method: post
		{"GET", "/files/a/b/c.txt", "/files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"DELETE", "/files/x", "/files/{proxy+}", map[string]string{"proxy": "x"}}, // ANY
		{"GET", "/files", "", nil},                                                 // {proxy+} needs at least one segment
		{"DELETE", "/items/1", "", nil},                                            // no such method
		{"GET", "/nothing/here", "", nil},                                          // no such resource
		{"GET", "/items/1/extra", "", nil},                                         // deeper than any resource
	}
	for _, c := range cases {
		r := do(t, c.method, srv.URL+c.path, nil)
		if c.resource == "" {
			if r.status != 403 || string(r.body) != `{"message":"Missing Authentication Token"}` {
				t.Errorf("%s %s: %d %s, want 403 Missing Authentication Token", c.method, c.path, r.status, r.body)
			}
			continue
		}
		ev := decodeEcho(t, r).Event
		if ev.Resource != c.resource || fmt.Sprint(ev.PathParameters) != fmt.Sprint(c.params) {
			t.Errorf("%s %s: resource %s params %v, want %s %v", c.method, c.path, ev.Resource, ev.PathParameters, c.resource, c.params)
		}
	}
}

func TestStagePrefix(t *testing.T) {
	srv := server(t, "/Prod")
	ev := decodeEcho(t, do(t, "GET", srv.URL+"/Prod/items/5?q=1", nil)).Event
	if ev.Path != "/items/5" || ev.Resource != "/items/{id}" || ev.RequestContext.Path != "/Prod/items/5" || ev.RequestContext.Stage != "Prod" {
		t.Errorf("path %q resource %q requestContext.path %q stage %q", ev.Path, ev.Resource, ev.RequestContext.Path, ev.RequestContext.Stage)
	}
	ev = decodeEcho(t, do(t, "GET", srv.URL+"/Prod/", nil)).Event
	if ev.Path != "/" || ev.Resource != "/" {
		t.Errorf("stage root: path %q resource %q", ev.Path, ev.Resource)
	}
	for _, p := range []string{"/items/5", "/Production/items/5", "/prod/items/5"} {
		if r := do(t, "GET", srv.URL+p, nil); r.status != 403 || string(r.body) != `{"message":"Forbidden"}` {
			t.Errorf("%s outside the stage: %d %s", p, r.status, r.body)
		}
	}
}

func TestAuthorizerAllowPassesContext(t *testing.T) {
	srv := server(t, "/Prod")
	tok := uniqueToken("allow")
	ev := decodeEcho(t, do(t, "POST", srv.URL+"/Prod/mcp", strings.NewReader("{}"), "Authorization", "Bearer "+tok)).Event
	a := ev.RequestContext.Authorizer
	// REST APIs hand the authorizer's context to the integration as strings.
	for k, want := range map[string]string{"principalId": "user-1", "sub": "user-1", "scope": "mcp:tools", "n": "42", "ok": "true"} {
		if a[k] != want {
			t.Errorf("requestContext.authorizer[%s] = %#v, want %q", k, a[k], want)
		}
	}
	if _, ok := a["integrationLatency"].(float64); !ok {
		t.Errorf("requestContext.authorizer.integrationLatency = %#v", a["integrationLatency"])
	}
	calls := authCalls(t, tok)
	if len(calls) != 1 {
		t.Fatalf("authorizer called %d times, want 1", len(calls))
	}
	wantArn := "arn:aws:execute-api:us-east-1:123456789012:" + stack.tmpl.API.ID + "/Prod/POST/mcp"
	if calls[0]["type"] != "REQUEST" || calls[0]["methodArn"] != wantArn || calls[0]["resource"] != "/mcp" || calls[0]["httpMethod"] != "POST" {
		t.Errorf("authorizer event: type %v methodArn %v (want %s) resource %v", calls[0]["type"], calls[0]["methodArn"], wantArn, calls[0]["resource"])
	}
	if rc, _ := calls[0]["requestContext"].(map[string]any); rc["stage"] != "Prod" || rc["resourcePath"] != "/mcp" {
		t.Errorf("authorizer event requestContext: %v", rc)
	}
}

// RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
func TestAuthorizerMissingIdentityIs401WithoutInvoking(t *testing.T) {
	srv := server(t, "")
	before := len(authCalls(t, ""))
	for _, hdr := range [][]string{nil, {"Authorization", ""}} {
		r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}"), hdr...)
		if r.status != 401 || string(r.body) != `{"message":"Unauthorized"}` {
			t.Fatalf("no Authorization: %d %s", r.status, r.body)
		}
		want := `Bearer resource_metadata="https://auth.example.test/.well-known/oauth-protected-resource/mcp"`
		if got := r.header.Get("WWW-Authenticate"); got != want {
			t.Errorf("WWW-Authenticate = %q, want %q", got, want)
		}
	}
	if after := len(authCalls(t, "")); after != before {
		t.Errorf("the authorizer was invoked %d times without an identity source", after-before)
	}
}

func TestAuthorizerUnauthorizedIs401(t *testing.T) {
	srv := server(t, "")
	tok := uniqueToken("bogus")
	r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}"), "Authorization", "Bearer "+tok)
	if r.status != 401 || string(r.body) != `{"message":"Unauthorized"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `resource_metadata="https://auth.example.test/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("X-Amzn-Errortype") != "UnauthorizedException" {
		t.Errorf("headers %v", r.header)
	}
	if n := len(authCalls(t, tok)); n != 1 {
		t.Errorf("authorizer called %d times, want 1", n)
	}
}

func TestAuthorizerDenyIs403(t *testing.T) {
	srv := server(t, "")
	r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}"), "Authorization", "Bearer "+uniqueToken("deny"))
	if r.status != 403 || string(r.body) != `{"message":"User is not authorized to access this resource"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="insufficient_scope"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func TestAuthorizerFailuresAre500(t *testing.T) {
	srv := server(t, "")
	for _, kind := range []string{"crash", "malformed", "badcontext"} {
		r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}"), "Authorization", "Bearer "+uniqueToken(kind))
		if r.status != 500 || string(r.body) != `{"message":null}` || r.header.Get("X-Amzn-Errortype") != "AuthorizerConfigurationException" {
			t.Errorf("%s: %d %s %v, want 500 {\"message\":null}", kind, r.status, r.body, r.header)
		}
	}
	// The crashed authorizer's environment is replaced; the next request works.
	tok := uniqueToken("allow")
	if r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}"), "Authorization", "Bearer "+tok); r.status != 200 {
		t.Errorf("after a crash: %d %s", r.status, r.body)
	}
}

func TestAuthorizerCache(t *testing.T) {
	srv := server(t, "")
	tok := uniqueToken("allow")
	for i := 0; i < 3; i++ {
		if r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}"), "Authorization", "Bearer "+tok); r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	if n := len(authCalls(t, tok)); n != 1 {
		t.Errorf("ReauthorizeEvery 300: authorizer called %d times for 3 requests, want 1", n)
	}
	// ReauthorizeEvery 0: every request is authorized again.
	tok0 := uniqueToken("allow")
	for i := 0; i < 3; i++ {
		if r := do(t, "GET", srv.URL+"/nocache", nil, "Authorization", "Bearer "+tok0); r.status != 200 {
			t.Fatalf("nocache %d: %d %s", i, r.status, r.body)
		}
	}
	if n := len(authCalls(t, tok0)); n != 3 {
		t.Errorf("ReauthorizeEvery 0: authorizer called %d times for 3 requests, want 3", n)
	}
}

func TestCachedPolicyIsEvaluatedPerMethodArn(t *testing.T) {
	srv := server(t, "")
	tok := uniqueToken("narrow") // allows only the methodArn of the first request
	if r := do(t, "GET", srv.URL+"/secure/a", nil, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Fatalf("first request: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/secure/b", nil, "Authorization", "Bearer "+tok); r.status != 403 {
		t.Errorf("another resource with the cached policy: %d %s, want 403", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/secure/a", nil, "Authorization", "Bearer "+tok); r.status != 200 {
		t.Errorf("the first resource again: %d %s", r.status, r.body)
	}
	if n := len(authCalls(t, tok)); n != 1 {
		t.Errorf("authorizer called %d times, want 1 (cached)", n)
	}
}

// TestPreflightRoute: as in template.yaml, the /mcp preflight is an OPTIONS event of the
// function with Authorizer: NONE; it reaches the function without a token, while the
// protected methods of the same path do not.
func TestPreflightRoute(t *testing.T) {
	srv := server(t, "")
	r := do(t, "OPTIONS", srv.URL+"/mcp", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if ev := decodeEcho(t, r).Event; ev.HTTPMethod != "OPTIONS" || ev.Resource != "/mcp" || ev.RequestContext.Authorizer != nil {
		t.Errorf("preflight event: %s %s authorizer %v", ev.HTTPMethod, ev.Resource, ev.RequestContext.Authorizer)
	}
	if r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}")); r.status != 401 {
		t.Errorf("POST /mcp without a token: %d", r.status)
	}
}

func TestPayloadTooLarge(t *testing.T) {
	srv := server(t, "")
	big := bytes.Repeat([]byte("a"), gateway.DefaultMaxBodyBytes+1)
	r := do(t, "POST", srv.URL+"/items/1", bytes.NewReader(big))
	if r.status != 413 || string(r.body) != `{"message":"Request Too Long"}` {
		t.Errorf("%d %s", r.status, r.body)
	}
	// Under the gateway's limit but over Lambda's 6 MB for the event: refused too.
	r = do(t, "POST", srv.URL+"/items/1", bytes.NewReader(bytes.Repeat([]byte("a"), 7<<20)))
	if r.status != 413 {
		t.Errorf("7 MB body: %d %.200s", r.status, r.body)
	}
	if r := do(t, "POST", srv.URL+"/items/1", bytes.NewReader(bytes.Repeat([]byte("a"), 5<<20))); r.status != 200 {
		t.Errorf("5 MB body: %d %.200s", r.status, r.body)
	}
}

func TestFunctionFailuresAre502(t *testing.T) {
	srv := server(t, "")
	for _, action := range []string{"panic", "malformed", "bad-body"} {
		r := do(t, "GET", srv.URL+"/echo/"+action, nil)
		if r.status != 502 || string(r.body) != `{"message": "Internal server error"}` {
			t.Errorf("%s: %d %s", action, r.status, r.body)
		}
		if r.header.Get("X-Amzn-Errortype") != "InternalServerErrorException" {
			t.Errorf("%s: headers %v", action, r.header)
		}
	}
	if r := do(t, "GET", srv.URL+"/items/1", nil); r.status != 200 {
		t.Errorf("after a panic: %d", r.status)
	}
}

func TestIntegrationTimeout(t *testing.T) {
	srv := server(t, "", func(c *gateway.Config) { c.IntegrationTimeout = 300 * time.Millisecond })
	start := time.Now()
	r := do(t, "GET", srv.URL+"/echo/sleep?ms=2000", nil)
	if r.status != 504 || string(r.body) != `{"message": "Endpoint request timed out"}` {
		t.Errorf("%d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("the timeout answered after %s", d)
	}
	// The busy environment does not block the next request: another one starts.
	if r := do(t, "GET", srv.URL+"/items/1", nil); r.status != 200 {
		t.Errorf("during the slow invocation: %d", r.status)
	}
}

func TestFunctionEnvironment(t *testing.T) {
	srv := server(t, "")
	r := do(t, "GET", srv.URL+"/echo/env", nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var env map[string]string
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ISSUER":                      "https://auth.example.test",
		"TABLE_NAME":                  "authbridge-table",
		"SHARED":                      "global",
		"OVERRIDE_ME":                 "local",
		"FROM_PARAMS":                 "p",
		"MODE_VALUE":                  "dev-value",
		"AWS_LAMBDA_FUNCTION_NAME":    samtemplate.StackName + "-EchoFunction",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "10",
		"AWS_LAMBDA_LOG_FORMAT":       "JSON",
		"AWS_LAMBDA_LOG_LEVEL":        "INFO",
		"AWS_REGION":                  "us-east-1",
		"_HANDLER":                    "bootstrap",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(env["KEY_ARN"], "arn:aws:kms:us-east-1:123456789012:key/") {
		t.Errorf("KEY_ARN = %q", env["KEY_ARN"])
	}
	if _, ok := env["DROPPED"]; ok {
		t.Errorf("DROPPED (AWS::NoValue) is set")
	}
	if env["AWS_LAMBDA_RUNTIME_API"] == "" {
		t.Errorf("AWS_LAMBDA_RUNTIME_API is not set")
	}
	if _, ok := env["HOME"]; ok && os.Getenv("HOME") != "" {
		t.Errorf("the host environment leaked into the function (HOME)")
	}
	if !strings.Contains(stack.logs.String(), "[EchoFunction] ") {
		t.Errorf("function output is not prefixed with [EchoFunction]")
	}
}
