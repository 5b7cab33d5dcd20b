package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/guard"
)

// TestAuthorizerResponsePolicy: the policy of an authorizer's answer as API Gateway reads
// it (a statement object or a list, a string or a list of actions and resources, keys in
// any case), evaluated by guard.InvokeAllowed.
func TestAuthorizerResponsePolicy(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:1:api/Prod/GET/a"
	cases := []struct {
		name, policy string
		want         bool
	}{
		{"allow", `{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`, true},
		{"statement object, lists", `{"Statement":{"Effect":"Allow","Action":["execute-api:*"],"Resource":["x","*/GET/*"]}}`, true},
		{"keys in lower case", `{"statement":[{"effect":"Allow","action":"execute-api:Invoke","resource":"*/GET/a"}]}`, true},
		{"deny wins", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*/GET/a"}]}`, false},
		{"allow elsewhere only", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*/POST/*"}]}`, false},
		{"empty", `{"Statement":[]}`, false},
	}
	for _, c := range cases {
		res, err := parseAuthorizerResponse([]byte(`{"principalId":"u","policyDocument":` + c.policy + `}`))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := guard.InvokeAllowed(res.statements, arn); got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMalformedAuthorizerResponses(t *testing.T) {
	for _, out := range []string{
		`"Allow"`,
		`{}`,
		`{"principalId":"u"}`,
		`{"principalId":"","policyDocument":{"Statement":[]}}`,
		`{"principalId":"u","policyDocument":{"Version":"2012-10-17"}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Resource":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"x"}]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[]},"context":{"a":[1]}}`,
		`{"principalId":"u","policyDocument":{"Statement":[]},"context":{"a":null}}`,
	} {
		if _, err := parseAuthorizerResponse([]byte(out)); err == nil {
			t.Errorf("accepted %s", out)
		}
	}
	res, err := parseAuthorizerResponse([]byte(`{"principalId":"u","policyDocument":{"Statement":[]},"context":{"s":"x","n":1.5,"b":false}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.context["s"] != "x" || res.context["n"] != "1.5" || res.context["b"] != "false" {
		t.Errorf("context %v", res.context)
	}
}

func TestParseProxyResponse(t *testing.T) {
	bad := []string{
		`"hello"`, `null`, `[]`, `{}`, `{"body":"x"}`,
		`{"statusCode":"abc"}`, `{"statusCode":99}`, `{"statusCode":200,"body":{"a":1}}`,
		`{"statusCode":200,"headers":{"A":{"b":1}}}`, `{"statusCode":200,"multiValueHeaders":{"A":"b"}}`,
		`{"statusCode":200,"isBase64Encoded":"yes"}`,
	}
	for _, out := range bad {
		if _, err := parseProxyResponse([]byte(out)); err == nil {
			t.Errorf("accepted %s", out)
		}
	}
	r, err := parseProxyResponse([]byte(`{"statusCode":"201","headers":{"x-one":"1","X-Both":"h","X-Num":5},"multiValueHeaders":{"x-both":["m1","m2"]},"body":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 201 || r.body != "" || r.header.Get("X-One") != "1" || r.header.Get("X-Num") != "5" ||
		strings.Join(r.header.Values("X-Both"), ",") != "m1,m2" {
		t.Errorf("%+v", r)
	}
}

const unitTemplate = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Auth:
        DefaultAuthorizer: Req
        Authorizers:
          Req:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt AuthFunction.Arn
            Identity:
              Headers: [Authorization, X-Tenant]
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 418
          ResponseParameters:
            Headers:
              WWW-Authenticate: "'Bearer'"
  AuthFunction:
    Type: AWS::Serverless::Function
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/a/b/c", Method: GET, Auth: {Authorizer: NONE}}}
        B: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/a/{x}/d", Method: GET, Auth: {Authorizer: NONE}}}
        C: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/a/{x}/{y+}", Method: GET, Auth: {Authorizer: NONE}}}
        D: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/p", Method: GET}}
`

type fakeInvoker struct {
	calls atomic.Int32
	fn    func(function string, payload []byte) ([]byte, error)
}

func (f *fakeInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	f.calls.Add(1)
	return f.fn(function, payload)
}

func unitHandler(t *testing.T, inv *fakeInvoker) *Handler {
	t.Helper()
	tmpl, err := Parse("unit.yaml", []byte(unitTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(tmpl, Config{Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestRoutePriorityWithFallback(t *testing.T) {
	var got proxyEvent
	inv := &fakeInvoker{fn: func(fn string, payload []byte) ([]byte, error) {
		got = proxyEvent{}
		_ = json.Unmarshal(payload, &got)
		return []byte(`{"statusCode":200}`), nil
	}}
	h := unitHandler(t, inv)
	for path, want := range map[string]string{
		"/a/b/c":   "/a/b/c",
		"/a/b/d":   "/a/{x}/d", // literal b leads nowhere for d: back to {x}
		"/a/b/e/f": "/a/{x}/{y+}",
		"/a/z/d":   "/a/{x}/d",
		"/a/b/c/":  "/a/b/c", // a trailing slash
	} {
		if w := serve(h, "GET", path); w.Code != 200 || got.Resource != want {
			t.Errorf("%s: %d resource %q, want %q", path, w.Code, got.Resource, want)
		}
	}
}

func TestRequestAuthorizerAndGatewayResponse(t *testing.T) {
	var event authorizerEvent
	inv := &fakeInvoker{fn: func(fn string, payload []byte) ([]byte, error) {
		if fn == "AuthFunction" {
			_ = json.Unmarshal(payload, &event)
			return []byte(`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}`), nil
		}
		return []byte(`{"statusCode":204}`), nil
	}}
	h := unitHandler(t, inv)
	// One identity source missing: 401 without invoking, with the template's status code
	// and header for UNAUTHORIZED.
	w := serve(h, "GET", "/p", "Authorization", "Bearer abc")
	if w.Code != 418 || w.Body.String() != `{"message":"Unauthorized"}` || w.Header().Get("WWW-Authenticate") != "Bearer" || w.Header().Get("X-Amzn-Errortype") != "UnauthorizedException" {
		t.Errorf("missing X-Tenant: %d %s %v", w.Code, w.Body, w.Header())
	}
	if inv.calls.Load() != 0 {
		t.Errorf("the authorizer was invoked without all identity sources")
	}
	if w := serve(h, "GET", "/p", "Authorization", "Bearer abc", "X-Tenant", "t1"); w.Code != 204 {
		t.Errorf("with both identity sources: %d %s", w.Code, w.Body)
	}
	if event.Type != "REQUEST" || event.MethodArn != "arn:aws:execute-api:us-east-1:123456789012:"+h.api.ID+"/v1/GET/p" || event.Headers["X-Tenant"] != "t1" {
		t.Errorf("REQUEST event %+v", event)
	}
	// Unknown route: MISSING_AUTHENTICATION_TOKEN, not customized.
	if w := serve(h, "GET", "/nope"); w.Code != 403 || w.Body.String() != `{"message":"Missing Authentication Token"}` || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("unknown route: %d %s %v", w.Code, w.Body, w.Header())
	}
}

func TestAuthorizerCacheExpires(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	inv := &fakeInvoker{fn: func(fn string, payload []byte) ([]byte, error) {
		if fn == "AuthFunction" {
			return []byte(`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`), nil
		}
		return []byte(`{"statusCode":200}`), nil
	}}
	tmpl, err := Parse("unit.yaml", []byte(unitTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(tmpl, Config{Invoker: inv, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	authCalls := inv.calls.Load // authorizer and integration calls together
	serve(h, "GET", "/p", "Authorization", "Bearer abc", "X-Tenant", "t")
	serve(h, "GET", "/p", "Authorization", "Bearer abc", "X-Tenant", "t")
	if n := authCalls(); n != 3 { // 1 authorizer + 2 integrations
		t.Fatalf("calls %d, want 3", n)
	}
	now = now.Add(299 * time.Second)
	serve(h, "GET", "/p", "Authorization", "Bearer abc", "X-Tenant", "t")
	if n := authCalls(); n != 4 {
		t.Errorf("within the TTL: calls %d, want 4", n)
	}
	now = now.Add(2 * time.Second) // 301 s after the first answer
	serve(h, "GET", "/p", "Authorization", "Bearer abc", "X-Tenant", "t")
	if n := authCalls(); n != 6 {
		t.Errorf("after the TTL: calls %d, want 6", n)
	}
	serve(h, "GET", "/p", "Authorization", "Bearer abc", "X-Tenant", "u") // another identity
	if n := authCalls(); n != 8 {
		t.Errorf("another token: calls %d, want 8", n)
	}
}

// An authorizer without identity sources (ReauthorizeEvery 0, as the project's MCP routes
// have it) is invoked for every request, without credentials too, and caches nothing; with
// a cache, SAM and API Gateway require an identity source.
func TestAuthorizerWithoutIdentitySources(t *testing.T) {
	noSources := strings.Replace(unitTemplate, "Headers: [Authorization, X-Tenant]", "ReauthorizeEvery: 0", 1)
	var events []authorizerEvent
	inv := &fakeInvoker{fn: func(fn string, payload []byte) ([]byte, error) {
		if fn == "AuthFunction" {
			var ev authorizerEvent
			_ = json.Unmarshal(payload, &ev)
			events = append(events, ev)
			if ev.Headers["Origin"] == "https://evil.example" {
				return []byte(`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}]}}`), nil
			}
			return nil, &FunctionError{Payload: []byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`)}
		}
		return []byte(`{"statusCode":204}`), nil
	}}
	tmpl, err := Parse("unit.yaml", []byte(noSources), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(tmpl, Config{Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(h, "GET", "/p"); w.Code != 418 || w.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("no credentials, no Origin: %d %s %v", w.Code, w.Body, w.Header())
	}
	if w := serve(h, "GET", "/p", "Origin", "https://evil.example"); w.Code != 403 {
		t.Errorf("no credentials, the authorizer denies: %d %s", w.Code, w.Body)
	}
	serve(h, "GET", "/p")
	if len(events) != 3 || events[1].Headers["Origin"] != "https://evil.example" {
		t.Errorf("authorizer events %+v, want one per request", events)
	}
	withCache := strings.Replace(noSources, "ReauthorizeEvery: 0", "ReauthorizeEvery: 60", 1)
	if _, err := Parse("unit.yaml", []byte(withCache), nil); err == nil || !strings.Contains(err.Error(), "Identity.Headers is required") {
		t.Errorf("a cached authorizer without identity sources: %v", err)
	}
}
