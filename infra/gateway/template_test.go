package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
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
	if echo.Dir != "echo" || echo.Name != "EchoFunction" || echo.Handler != "bootstrap" || echo.Runtime != "provided.al2023" {
		t.Errorf("echo: %+v", echo)
	}
	if echo.Timeout != 10*time.Second || tmpl.Functions["AuthorizerFunction"].Timeout != 5*time.Second || echo.MemorySize != 128 {
		t.Errorf("timeouts %s %s, memory %d", echo.Timeout, tmpl.Functions["AuthorizerFunction"].Timeout, echo.MemorySize)
	}
	want := map[string]string{
		"ISSUER":      "http://127.0.0.1:3000/Prod", // parameter override
		"TABLE_NAME":  "local-table",                // !Ref Table -> TableName (!Sub ${AWS::StackName}-table)
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
	api := tmpl.APIs["AuthbridgeApi"]
	if api == nil || api.StageName != "Prod" || len(api.ID) != 10 {
		t.Fatalf("api: %+v", api)
	}
	a := api.Authorizers["BearerAuth"]
	if a.Function != "AuthorizerFunction" || a.Type != "REQUEST" || a.TTL != 300*time.Second || strings.Join(a.Headers, ",") != "Authorization" {
		t.Errorf("BearerAuth: %+v", a)
	}
	if api.Authorizers["NoCacheAuth"].TTL != 0 {
		t.Errorf("NoCacheAuth TTL %s", api.Authorizers["NoCacheAuth"].TTL)
	}
	wa := api.GatewayResponses["UNAUTHORIZED"].Headers["WWW-Authenticate"]
	if wa != `'Bearer error="invalid_token", resource_metadata="http://127.0.0.1:3000/Prod/.well-known/oauth-protected-resource/mcp"'` {
		t.Errorf("UNAUTHORIZED WWW-Authenticate = %s", wa)
	}
	routes := map[string]string{}
	for _, rt := range api.Routes {
		routes[rt.Method+" "+rt.Path] = rt.Authorizer
	}
	for k, auth := range map[string]string{
		"GET /items/{id}": "", "POST /items/{id}": "", "ANY /files/{proxy+}": "", "POST /mcp": "BearerAuth",
		"GET /nocache": "NoCacheAuth", "OPTIONS /mcp": "", "OPTIONS /items/{id}": "",
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

// parse loads an inline template; src uses two-space indentation.
func parse(t *testing.T, src string, params map[string]string) (*gateway.Template, error) {
	t.Helper()
	return gateway.Parse("inline.yaml", []byte(src), params)
}

const intrinsicsTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Env:
    Type: String
    Default: dev
  Names:
    Type: CommaDelimitedList
    Default: "a,b,c"
  Port:
    Type: Number
    Default: 8080
Mappings:
  Sizes:
    dev: {Memory: 256}
    prod: {Memory: 1024}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, {"Fn::Equals": [!Ref Port, "8080"]}]
  Either: {"Fn::Or": [{Condition: IsProd}, !Equals [a, b]]}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Join ["-", [!Ref "AWS::StackName", q]]
  Key:
    Type: AWS::KMS::Key
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub "alias/${AWS::StackName}-key"
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-fn"
      MemorySize: !FindInMap [Sizes, !Ref Env, Memory]
      Environment:
        Variables:
          SUB: !Sub "https://${AWS::Region}.example/${Env}/${Table}/${Table.Arn}/${!Literal}"
          SUB2: !Sub ["${a}-${b}", {a: !Ref Port, b: x}]
          LONG_REF: {Ref: Env}
          LONG_SUB: {"Fn::Sub": "${AWS::AccountId}"}
          JOIN: !Join [",", !Ref Names]
          SELECT: !Select [1, !Ref Names]
          SPLIT_SELECT: !Select [2, !Split ["/", "x/y/z"]]
          IF: !If [IsProd, p, !If [Both, both, neither]]
          EITHER: !If [Either, yes, no]
          QUEUE: !Ref Queue
          QUEUE_ARN: !GetAtt Queue.Arn
          KEY: !Ref Key
          KEY_ARN: !GetAtt [Key, Arn]
          ALIAS: !Ref Alias
          SELF: !Ref Fn
          SELF_ARN: !GetAtt Fn.Arn
          B64: !Base64 hi
          NUM: 42
          BOOL: true
          GONE: !If [IsProd, x, !Ref "AWS::NoValue"]
`

func TestIntrinsics(t *testing.T) {
	tmpl, err := parse(t, intrinsicsTemplate, map[string]string{"AWS::StackName": "stk", "AWS::Region": "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	fn := tmpl.Functions["Fn"]
	if fn.Name != "stk-fn" || fn.MemorySize != 256 || fn.ARN != "arn:aws:lambda:eu-west-1:123456789012:function:stk-fn" {
		t.Errorf("fn: name %s memory %d arn %s", fn.Name, fn.MemorySize, fn.ARN)
	}
	env := fn.Env
	keyID := env["KEY"]
	want := map[string]string{
		"SUB":          "https://eu-west-1.example/dev/Table/arn:aws:dynamodb:eu-west-1:123456789012:table/Table/${Literal}",
		"SUB2":         "8080-x",
		"LONG_REF":     "dev",
		"LONG_SUB":     "123456789012",
		"JOIN":         "a,b,c",
		"SELECT":       "b",
		"SPLIT_SELECT": "z",
		"IF":           "both",
		"EITHER":       "no",
		"QUEUE":        "https://sqs.eu-west-1.amazonaws.com/123456789012/stk-q",
		"QUEUE_ARN":    "arn:aws:sqs:eu-west-1:123456789012:stk-q",
		"KEY_ARN":      "arn:aws:kms:eu-west-1:123456789012:key/" + keyID,
		"ALIAS":        "alias/stk-key",
		"SELF":         "stk-fn",
		"SELF_ARN":     fn.ARN,
		"B64":          "aGk=",
		"NUM":          "42",
		"BOOL":         "true",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if len(keyID) != 36 || strings.Count(keyID, "-") != 4 {
		t.Errorf("KEY = %q, want a UUID-shaped key id", keyID)
	}
	if _, ok := env["GONE"]; ok {
		t.Errorf("AWS::NoValue left GONE set")
	}
	// Deterministic: the same template gives the same stand-ins.
	again, _ := parse(t, intrinsicsTemplate, map[string]string{"AWS::StackName": "stk", "AWS::Region": "eu-west-1"})
	if again.Functions["Fn"].Env["KEY"] != keyID {
		t.Errorf("key id changed between loads")
	}
	// Parameters change the outcome.
	prod, err := parse(t, intrinsicsTemplate, map[string]string{"Env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if e := prod.Functions["Fn"].Env; e["IF"] != "p" || e["EITHER"] != "yes" || e["GONE"] != "x" || prod.Functions["Fn"].MemorySize != 1024 {
		t.Errorf("prod: IF %q EITHER %q GONE %q memory %d", e["IF"], e["EITHER"], e["GONE"], prod.Functions["Fn"].MemorySize)
	}
}

func TestTemplateErrors(t *testing.T) {
	fn := func(env string) string {
		return `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          X: ` + env + `
Conditions:
  IsProd: !Equals [a, b]
  Loop: !Not [!Condition Loop]
Parameters:
  Required:
    Type: String
  Choice:
    Type: String
    Default: a
    AllowedValues: [a, b]
  Pattern:
    Type: String
    Default: abc
    AllowedPattern: "[a-z]+"
  Count:
    Type: Number
    Default: 1
`
	}
	cases := []struct {
		name, env string
		params    map[string]string
		want      []string // substrings of the error
	}{
		{"unsupported intrinsic", "!ImportValue shared-table", nil,
			[]string{"inline.yaml:13", "Resources.Fn.Properties.Environment.Variables.X", "Fn::ImportValue", "not supported"}},
		{"unsupported long form", `{"Fn::Cidr": ["10.0.0.0/16", 2, 8]}`, nil,
			[]string{"Variables.X", "Fn::Cidr"}},
		{"unknown tag", "!Bogus x", nil, []string{"line 13", "unknown tag !Bogus"}},
		{"Ref to nothing", "!Ref Nothing", nil, []string{"Variables.X", `"Nothing"`, "no such parameter or resource"}},
		{"GetAtt of nothing", "!GetAtt Nothing.Arn", nil, []string{"Variables.X", `no resource "Nothing"`}},
		{"GetAtt without attribute", "!GetAtt Table", nil, []string{"line 13", "Resource.Attribute"}},
		{"resource not created", "!Ref ProdOnly", nil, []string{"ProdOnly is not created", "IsProd"}},
		{"unknown condition", "!If [Nope, a, b]", nil, []string{`unknown condition "Nope"`}},
		{"circular condition", "!If [Loop, a, b]", nil, []string{`condition "Loop" refers to itself`}},
		{"parameter without value", "!Ref Required", nil, []string{"parameter Required has no Default", "Required=VALUE"}},
		{"list in a variable", "!Split [',', 'a,b']", nil, []string{"Variables.X", "must be a string"}},
		{"bad Select index", "!Select [5, [a, b]]", nil, []string{"index 5 out of range"}},
		{"Sub of a list", `!Sub "${AWS::NotificationARNs}"`, nil, []string{"not a string"}},
		{"undeclared parameter", "x", map[string]string{"Nope": "1"}, []string{"parameter Nope is not declared"}},
		{"AllowedValues", "x", map[string]string{"Choice": "c"}, []string{"parameter Choice", "AllowedValues"}},
		{"AllowedPattern", "x", map[string]string{"Pattern": "ABC"}, []string{"parameter Pattern", "AllowedPattern"}},
		{"Number", "x", map[string]string{"Count": "many"}, []string{"parameter Count", "not a number"}},
	}
	for _, c := range cases {
		_, err := parse(t, fn(c.env), c.params)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

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
          A: {FunctionPayloadType: REQUEST, FunctionArn: "arn:aws:lambda:us-east-1:1:function:x"}`, ev("/a", "GET", ""), "is not the Arn of a function in this template"},
		{"default authorizer missing", `      Auth:
        DefaultAuthorizer: B`, ev("/a", "GET", ""), `no authorizer "B"`},
		{"static header without quotes", `      GatewayResponses:
        UNAUTHORIZED:
          ResponseParameters:
            Headers: {WWW-Authenticate: Bearer}`, ev("/a", "GET", ""), "single quotes"},
		{"unknown response type", `      GatewayResponses:
        NOT_A_TYPE: {StatusCode: 400}`, ev("/a", "GET", ""), "unknown gateway response type"},
		{"other API", "", `        X:
          Type: Api
          Properties: {RestApiId: Other, Path: /a, Method: GET}
`, "is not an AWS::Serverless::Api"},
	}
	for _, c := range cases {
		src := strings.Replace(strings.Replace(base, "%s", c.api, 1), "%s", c.events, 1)
		_, err := parse(t, src, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestImplicitAPIAndGlobals(t *testing.T) {
	tmpl, err := parse(t, `
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    Cors: "'https://app.example'"
  Function:
    Environment:
      Variables: {A: global, B: global}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables: {B: mine}
      Events:
        Get:
          Type: Api
          Properties: {Path: /x, Method: any}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := tmpl.APIs["ServerlessRestApi"]
	if api == nil || api.StageName != "Prod" || api.Cors == nil || api.Cors.AllowOrigin != "https://app.example" {
		t.Fatalf("implicit API: %+v", api)
	}
	if env := tmpl.Functions["Fn"].Env; env["A"] != "global" || env["B"] != "mine" {
		t.Errorf("env %v", env)
	}
	ev, err := gateway.ParseEnvVars([]byte(`{"Parameters": {"B": "all", "N": 1}, "Fn": {"C": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if env := tmpl.Functions["Fn"].Environment(ev); env["A"] != "global" || env["B"] != "all" || env["N"] != "1" || env["C"] != "true" {
		t.Errorf("Environment with overrides: %v", env)
	}
	if _, err := gateway.ParseEnvVars([]byte(`{"Parameters": {"X": {"nested": 1}}}`)); err == nil {
		t.Errorf("a nested env-vars value was accepted")
	}
}
