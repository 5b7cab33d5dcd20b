package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
	"github.com/authbridge/authbridge/infra/samtemplate"
)

func TestLoadFixture(t *testing.T) {
	tmpl, err := gateway.Load("testdata/template.yaml", map[string]string{"Issuer": "http://127.0.0.1:3000/Prod", "Mode": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	echo := tmpl.Functions["EchoFunction"]
	if echo == nil || tmpl.Functions["AuthorizerFunction"] == nil || len(tmpl.Functions) != 2 {
		t.Fatalf("functions: %v", tmpl.Functions)
	}
	if echo.Dir != "echo" || echo.Name != samtemplate.StackName+"-EchoFunction" || echo.Handler != "bootstrap" {
		t.Errorf("echo: %+v", echo)
	}
	if echo.Timeout != 10*time.Second || tmpl.Functions["AuthorizerFunction"].Timeout != 5*time.Second || echo.MemorySize != 128 {
		t.Errorf("timeouts %s %s, memory %d", echo.Timeout, tmpl.Functions["AuthorizerFunction"].Timeout, echo.MemorySize)
	}
	want := map[string]string{
		"ISSUER":      "http://127.0.0.1:3000/Prod", // parameter override
		"TABLE_NAME":  "authbridge-table",           // !Ref Table -> TableName (!Sub ${AWS::StackName}-table)
		"SHARED":      "global",                     // Globals
		"OVERRIDE_ME": "function",                   // the function's value wins over Globals
		"MODE_VALUE":  "prod-value",                 // !If on a condition
		"DROPPED":     "kept",
	}
	for k, v := range want {
		if echo.Env[k] != v {
			t.Errorf("Env[%s] = %q, want %q", k, echo.Env[k], v)
		}
	}
	api := tmpl.API
	if api == nil || api.LogicalID != "AuthbridgeApi" || api.StageName != "Prod" || len(api.ID) != 10 {
		t.Fatalf("api: %+v", api)
	}
	a := api.Authorizers["BearerAuth"]
	if a.Function != "AuthorizerFunction" || a.TTL != 300*time.Second || strings.Join(a.Headers, ",") != "Authorization" {
		t.Errorf("BearerAuth: %+v", a)
	}
	if api.Authorizers["NoCacheAuth"].TTL != 0 {
		t.Errorf("NoCacheAuth TTL %s", api.Authorizers["NoCacheAuth"].TTL)
	}
	wa := api.GatewayResponses["UNAUTHORIZED"].Headers["WWW-Authenticate"]
	if wa != `Bearer resource_metadata="http://127.0.0.1:3000/Prod/.well-known/oauth-protected-resource/mcp"` {
		t.Errorf("UNAUTHORIZED WWW-Authenticate = %s", wa)
	}
	routes := map[string]string{}
	for _, rt := range api.Routes {
		routes[rt.Method+" "+rt.Path] = rt.Authorizer
	}
	for k, auth := range map[string]string{
		"GET /items/{id}": "", "POST /items/{id}": "", "ANY /files/{proxy+}": "", "POST /mcp": "BearerAuth",
		"GET /nocache": "NoCacheAuth", "OPTIONS /mcp": "",
	} {
		got, ok := routes[k]
		if !ok || got != auth {
			t.Errorf("route %s: present %v authorizer %q, want %q", k, ok, got, auth)
		}
	}
	if d := gateway.FunctionDir("ResourceMetadataFunction"); d != "resource-metadata" {
		t.Errorf("FunctionDir = %s", d)
	}
	if d := gateway.FunctionDir("OAuthCallbackFunction"); d != "oauth-callback" {
		t.Errorf("FunctionDir(OAuthCallbackFunction) = %s (the Makefile's rule)", d)
	}
}

func TestLoadProjectTemplate(t *testing.T) {
	path := filepath.Join("..", "..", "template.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skip("no template.yaml at the repository root yet")
	}
	params := map[string]string{
		"Issuer": "http://127.0.0.1:3000", "WorkOSClientId": "client_local",
		"WorkOSApiKeySecretArn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:local",
	}
	tmpl, err := gateway.Load(path, params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.NewHandler(tmpl, gateway.Config{Invoker: gateway.InvokerFunc(nil)}); err != nil {
		t.Fatal(err)
	}
}

// parse loads an inline template.
func parse(t *testing.T, src string, params map[string]string) (*gateway.Template, error) {
	t.Helper()
	return gateway.Parse("inline.yaml", []byte(src), params)
}

// TestAPIErrors: what API Gateway refuses, and template features the emulator does not
// emulate (the project's template does not use them), are load errors.
func TestAPIErrors(t *testing.T) {
	base := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
%s
  AuthFunction:
    Type: AWS::Serverless::Function
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
%s
`
	ev := func(path, method, extra string) string {
		return "        E" + strings.NewReplacer("/", "", "{", "", "}", "", "+", "").Replace(path+method) + `:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "` + path + `", Method: ` + method + extra + `}
`
	}
	cases := []struct {
		name, api, events string
		want              string
	}{
		{"two variables at one level", "", ev("/a/{x}", "GET", "") + ev("/a/{y}", "POST", ""), "another variable path part"},
		{"greedy not last", "", ev("/a/{p+}/b", "GET", ""), "must be the last segment"},
		{"duplicate route", "", ev("/a", "GET", "") + ev("/a/", "get", ""), "defined twice"},
		{"bad method", "", ev("/a", "FETCH", ""), "not an API Gateway method"},
		{"unknown authorizer", "", ev("/a", "GET", ", Auth: {Authorizer: Nope}"), `no authorizer "Nope"`},
		{"authorizer of another template", `      Auth:
        Authorizers:
          A: {FunctionPayloadType: REQUEST, FunctionArn: "arn:aws:lambda:us-east-1:1:function:x", Identity: {Headers: [Authorization]}}`, ev("/a", "GET", ""), "is not the Arn of a function in this template"},
		{"default authorizer missing", `      Auth:
        DefaultAuthorizer: B`, ev("/a", "GET", ""), `no authorizer "B"`},
		{"TOKEN authorizer", `      Auth:
        Authorizers:
          A: {FunctionArn: !GetAtt AuthFunction.Arn}`, ev("/a", "GET", ""), "only REQUEST authorizers"},
		{"query string identity source", `      Auth:
        Authorizers:
          A: {FunctionPayloadType: REQUEST, FunctionArn: !GetAtt AuthFunction.Arn, Identity: {QueryStrings: [token]}}`, ev("/a", "GET", ""), "Identity.QueryStrings is not emulated"},
		{"header mapped from the request", `      GatewayResponses:
        UNAUTHORIZED:
          ResponseParameters:
            Headers: {X-Origin: method.request.header.Origin}`, ev("/a", "GET", ""), "only static values"},
		{"response template variable", `      GatewayResponses:
        UNAUTHORIZED:
          ResponseTemplates: {application/json: "{\"m\":$context.error.messageString}"}`, ev("/a", "GET", ""), "$context.error.messageString] not emulated"},
		{"response template media type", `      GatewayResponses:
        UNAUTHORIZED:
          ResponseTemplates: {text/html: "x"}`, ev("/a", "GET", ""), "only application/json"},
		{"Lambda integration in a DefinitionBody", `      DefinitionBody:
        paths:
          /a:
            get:
              x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "arn:aws:apigateway:us-east-1:lambda:path/x"}`, "", "only http_proxy"},
		{"uri placeholder without a path mapping", `      DefinitionBody:
        paths:
          /{proxy+}:
            x-amazon-apigateway-any-method:
              parameters: [{name: proxy, in: path}]
              x-amazon-apigateway-integration: {type: http_proxy, httpMethod: ANY, uri: "https://up.example/{proxy}"}`, "", "has no integration.request.path.proxy mapping"},
		{"undeclared method request parameter", `      DefinitionBody:
        paths:
          /{proxy+}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: ANY
                uri: "https://up.example/{proxy}"
                requestParameters: {integration.request.path.proxy: method.request.path.proxy}`, "", "not declared in the operation's parameters"},
		{"unknown mapping source", `      DefinitionBody:
        paths:
          /:
            get:
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: GET
                uri: "https://up.example/"
                requestParameters: {integration.request.header.X: method.request.body.x}`, "", "not declared"},
		{"request templates", `      DefinitionBody:
        paths:
          /:
            get:
              x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://up.example/", requestTemplates: {application/json: "{}"}}`, "", "requestTemplates is not emulated"},
		{"response type the emulator never answers", `      GatewayResponses:
        THROTTLED: {StatusCode: 429}`, ev("/a", "GET", ""), "never answers with this type"},
		{"Cors", `      Cors: "'*'"`, ev("/a", "GET", ""), "Cors is not emulated"},
		{"event on an implicit API", "", `        X:
          Type: Api
          Properties: {Path: /a, Method: GET}
`, "RestApiId must be !Ref of an AWS::Serverless::Api"},
	}
	for _, c := range cases {
		src := strings.Replace(strings.Replace(base, "%s", c.api, 1), "%s", c.events, 1)
		_, err := parse(t, src, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := parse(t, strings.Replace(strings.Replace(base, "%s", "", 1), "%s", ev("/a", "GET", ""), 1), nil); err != nil {
		t.Errorf("the valid template: %v", err)
	}
}

// TestAPIMappings: several APIs are emulated only as the custom domain's API mappings,
// one at the root ("If no path matches the request, API Gateway sends the request to the
// API that you've mapped to the empty path (none)", http-api-mappings.html).
func TestAPIMappings(t *testing.T) {
	two := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: Prod}
  Door:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      DefinitionBody:
        paths:
          /:
            get:
              x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://up.example/mcp"}
%s
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        A:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /a, Method: GET}
`
	root := `  Root:
    Type: AWS::ApiGateway::BasePathMapping
    Properties: {DomainName: d.example, RestApiId: !Ref Api, Stage: Prod}
`
	door := `  DoorMapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    Properties: {DomainName: d.example, ApiId: !Ref Door, Stage: Prod, ApiMappingKey: mcp/door}
`
	for name, c := range map[string]struct{ mappings, want string }{
		"no mapping":          {"", "several APIs are emulated only as mappings"},
		"one API unmapped":    {root, "Resources.Door has no API mapping"},
		"nothing at the root": {strings.Replace(root, "Stage: Prod}", "Stage: Prod, BasePath: auth}", 1) + door, "no API is mapped at the root"},
	} {
		if _, err := parse(t, strings.Replace(two, "%s", c.mappings, 1), nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
	tmpl, err := parse(t, strings.Replace(two, "%s", root+door, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.API.LogicalID != "Api" || tmpl.APIs["Door"].BasePath != "mcp/door" || tmpl.API.BasePath != "" {
		t.Errorf("main API %s, Door at %q", tmpl.API.LogicalID, tmpl.APIs["Door"].BasePath)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	tmpl, err := gateway.Load("testdata/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := tmpl.Functions["EchoFunction"]
	ev, err := gateway.ParseEnvVars([]byte(`{"Parameters": {"SHARED": "all", "N": 1}, "EchoFunction": {"C": true}, "AuthorizerFunction": {"D": "x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	env := fn.Environment(ev)
	if env["OVERRIDE_ME"] != "function" || env["SHARED"] != "all" || env["N"] != "1" || env["C"] != "true" || env["D"] != "" || env["AWS_LAMBDA_LOG_FORMAT"] != "JSON" {
		t.Errorf("Environment with overrides: %v", env)
	}
	if _, err := gateway.ParseEnvVars([]byte(`{"Parameters": {"X": {"nested": 1}}}`)); err == nil {
		t.Errorf("a nested env-vars value was accepted")
	}
}
