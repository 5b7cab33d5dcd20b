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
)

func TestWildcardMatch(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/mcp/tools"
	cases := []struct {
		pattern string
		want    bool
	}{
		{arn, true},
		{"*", true},
		{"arn:aws:execute-api:*:*:abc123/Prod/*", true},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/mcp/*", true},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/*", false},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/mcp", false},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Pro?/POST/mcp/tools", true},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Pro?/POST/mcp/tool", false},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*", false}, // resources are case-sensitive
		{"*/POST/*", true},
		{"**", true},
		{"", false},
	}
	for _, c := range cases {
		if got := wildcardMatch(c.pattern, arn); got != c.want {
			t.Errorf("wildcardMatch(%q) = %v, want %v", c.pattern, got, c.want)
		}
	}
}

func TestPolicyEvaluation(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:1:api/Prod/GET/a"
	cases := []struct {
		name, policy string
		want         bool
	}{
		{"allow", `{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`, true},
		{"statement object, action wildcard", `{"Statement":{"Effect":"Allow","Action":"execute-api:*","Resource":["x","*/GET/*"]}}`, true},
		{"action case-insensitive", `{"Statement":[{"Effect":"Allow","Action":"Execute-API:invoke","Resource":"*"}]}`, true},
		{"other action", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, false},
		{"deny wins", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*/GET/a"}]}`, false},
		{"deny elsewhere", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*/POST/*"}]}`, true},
		{"allow elsewhere only", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*/POST/*"}]}`, false},
		{"NotResource", `{"Statement":[{"Effect":"Allow","Action":"*","NotResource":"*/POST/*"}]}`, true},
		{"empty", `{"Statement":[]}`, false},
	}
	for _, c := range cases {
		res, err := parseAuthorizerResponse([]byte(`{"principalId":"u","policyDocument":` + c.policy + `}`))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := res.allows(arn); got != c.want {
			t.Errorf("%s: allows = %v, want %v", c.name, got, c.want)
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
      Cors: "'*'"
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt AuthFunction.Arn
            Identity:
              ValidationExpression: "Bearer [a-z]+"
      GatewayResponses:
        DEFAULT_4XX:
          StatusCode: 400
          ResponseParameters:
            Headers:
              X-Origin: method.request.header.Origin
              X-Stage: context.stage
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

func TestTokenAuthorizerAndDefault4XX(t *testing.T) {
	var event authorizerTokenEvent
	inv := &fakeInvoker{fn: func(fn string, payload []byte) ([]byte, error) {
		if fn == "AuthFunction" {
			_ = json.Unmarshal(payload, &event)
			return []byte(`{"principalId":"p","policyDocument":{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}}`), nil
		}
		return []byte(`{"statusCode":204}`), nil
	}}
	h := unitHandler(t, inv)
	// The token fails the ValidationExpression: 401 without invoking; DEFAULT_4XX's status
	// code replaces every 4XX type's status, and its headers apply.
	w := serve(h, "GET", "/p", "Authorization", "Basic xyz", "Origin", "https://o.example")
	if w.Code != 400 || w.Body.String() != `{"message":"Unauthorized"}` || w.Header().Get("X-Origin") != "https://o.example" || w.Header().Get("X-Stage") != "v1" {
		t.Errorf("invalid token: %d %s %v", w.Code, w.Body, w.Header())
	}
	if inv.calls.Load() != 0 {
		t.Errorf("the authorizer was invoked for a token failing the ValidationExpression")
	}
	if w := serve(h, "GET", "/p", "Authorization", "Bearer abc"); w.Code != 204 {
		t.Errorf("valid token: %d %s", w.Code, w.Body)
	}
	if event.Type != "TOKEN" || event.AuthorizationToken != "Bearer abc" || !strings.HasSuffix(event.MethodArn, "/v1/GET/p") {
		t.Errorf("TOKEN event %+v", event)
	}
	// Unknown route: MISSING_AUTHENTICATION_TOKEN, also moved to 400 by DEFAULT_4XX.
	if w := serve(h, "GET", "/nope"); w.Code != 400 || w.Body.String() != `{"message":"Missing Authentication Token"}` {
		t.Errorf("unknown route: %d %s", w.Code, w.Body)
	}
	// SAM's default AddDefaultAuthorizerToCorsPreflight (true) protects the preflight too.
	if w := serve(h, "OPTIONS", "/p"); w.Code != 400 {
		t.Errorf("preflight without a token: %d", w.Code)
	}
	if w := serve(h, "OPTIONS", "/p", "Authorization", "Bearer abc"); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Access-Control-Allow-Methods") != "GET,OPTIONS" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
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
	serve(h, "GET", "/p", "Authorization", "Bearer abc")
	serve(h, "GET", "/p", "Authorization", "Bearer abc")
	if n := authCalls(); n != 3 { // 1 authorizer + 2 integrations
		t.Fatalf("calls %d, want 3", n)
	}
	now = now.Add(299 * time.Second)
	serve(h, "GET", "/p", "Authorization", "Bearer abc")
	if n := authCalls(); n != 4 {
		t.Errorf("within the TTL: calls %d, want 4", n)
	}
	now = now.Add(2 * time.Second) // 301 s after the first answer
	serve(h, "GET", "/p", "Authorization", "Bearer abc")
	if n := authCalls(); n != 6 {
		t.Errorf("after the TTL: calls %d, want 6", n)
	}
	serve(h, "GET", "/p", "Authorization", "Bearer xyz") // another identity
	if n := authCalls(); n != 8 {
		t.Errorf("another token: calls %d, want 8", n)
	}
}
