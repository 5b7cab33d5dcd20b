package templatecheck_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/infra/gateway"
	sam "github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/store"
)

// TestLocalStackLoadsEveryScenario: the local stack (make dev) reads template.yaml with
// infra/gateway; whatever the parameters, it must still load.
func TestLocalStackLoadsEveryScenario(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		tmpl, err := gateway.Load(templatePath, s.params)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gateway.NewHandler(tmpl, gateway.Config{Invoker: gateway.InvokerFunc(nil)}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFunctionsMatchFolders: every folder in functions/ is a function of the template
// (built from it by `make build-<LogicalId>`) and every function has its folder.
func TestFunctionsMatchFolders(t *testing.T) {
	dirs := functionDirs(t)
	forEach(t, func(t *testing.T, s scenario) {
		fns := functions(s.t)
		seen := map[string]string{}
		for id, fn := range fns {
			dir := gateway.FunctionDir(id)
			seen[dir] = id
			if !slices.Contains(dirs, dir) {
				t.Errorf("%s: no functions/%s/main.go (the Makefile's build-%s builds that folder)", id, dir, id)
			}
			if bm, _ := fn.AWSCloudFormationMetadata["BuildMethod"].(string); bm != "makefile" {
				t.Errorf("%s: Metadata.BuildMethod %q, want makefile", id, bm)
			}
			if fn.Runtime == nil || *fn.Runtime != "provided.al2023" || !slices.Equal(fn.Architectures, []string{"arm64"}) || fn.Handler == nil || *fn.Handler != "bootstrap" {
				t.Errorf("%s: want provided.al2023, arm64, handler bootstrap", id)
			}
		}
		for _, d := range dirs {
			if _, ok := seen[d]; !ok {
				t.Errorf("functions/%s has no function in template.yaml (want %sFunction)", d, logicalID(d))
			}
		}
	})
}

func logicalID(dir string) string {
	var b strings.Builder
	for _, part := range strings.Split(dir, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// designRoutes are the requests template.yaml must route, with the folder of the function
// that serves them: every path and routed method of the OAuth endpoints table
// (authserver.Endpoints, a path-inserted form through its {proxy+} route), and the MCP
// route, which is no OAuth endpoint (shared/mcpserver behind shared/guard's authorizer).
// The test also reads the README's diagram.
func designRoutes() []docRoute {
	var out []docRoute
	for _, e := range authserver.Endpoints() {
		for _, p := range e.Paths {
			paths := []string{p}
			if e.PathInserted {
				paths = append(paths, p+"/mcp")
			}
			for _, path := range paths {
				for _, m := range e.RoutedMethods() {
					out = append(out, docRoute{m, path, e.Function, false})
				}
			}
		}
	}
	return append(out, mcpRoutes...)
}

// mcpRoutes are the MCP route's methods, behind the bearer-token authorizer.
var mcpRoutes = []docRoute{
	{"POST", "/mcp", "mcp", true},
	{"GET", "/mcp", "mcp", true},
	{"DELETE", "/mcp", "mcp", true},
}

// tableRoute reports whether an Api event of an OAuth endpoint's function is one the table
// declares: one of its paths (or path/{proxy+} when path-inserted) and routed methods.
func tableRoute(e authserver.Endpoint, r route) bool {
	for _, p := range e.Paths {
		if (r.Path == p || e.PathInserted && r.Path == p+"/{proxy+}") && slices.Contains(e.RoutedMethods(), r.Method) {
			return true
		}
	}
	return false
}

// TestRoutes: every route of the design (the README's diagram, the list above) is an Api
// event with its method, on the stack's API, served by
// the right function; the MCP routes go through the bearer-token authorizer and every
// OAuth route is Authorizer: NONE (metadata and the OAuth endpoints never sit behind
// authentication). The default authorizer is the REQUEST authorizer of AuthorizerFunction.
func TestRoutes(t *testing.T) {
	want := designRoutes()
	readme := docRoutes(t, readmePath)
	want = append(want, readme...)
	drawn := map[string]bool{}
	for _, r := range readme {
		drawn[r.Function] = true
	}
	for _, e := range authserver.Endpoints() {
		if !drawn[e.Function] {
			t.Errorf("README.md: the request-flow diagram draws no request to functions/%s", e.Function)
		}
	}
	forEach(t, func(t *testing.T, s scenario) {
		api := s.t.Props("AuthbridgeApi")
		auth, _ := api["Auth"].(map[string]any)
		def := str(auth["DefaultAuthorizer"])
		a, _ := sam.Get(auth, "Authorizers", def).(map[string]any)
		if def == "" || a == nil || a["FunctionPayloadType"] != "REQUEST" || a["FunctionArn"] != getAtt(t, s.t, "AuthorizerFunction", "Arn") {
			t.Fatalf("AuthbridgeApi: the default authorizer must be the REQUEST authorizer of AuthorizerFunction, got %v", auth)
		}
		// No identity source and no cache: the authorizer sees every request, so a disallowed
		// Origin gets 403 even without a token (MCP transports), where an identity source
		// would make API Gateway answer 401 first (docs/decisions.md, "Origin").
		if h := sam.Get(a, "Identity", "Headers"); h != nil {
			t.Errorf("authorizer identity source %v, want none (a missing one is a 401 before the Origin check)", h)
		}
		if ttl := fmt.Sprint(sam.Get(a, "Identity", "ReauthorizeEvery")); ttl != "0" {
			t.Errorf("ReauthorizeEvery = %s, want 0 (no identity source to cache by)", ttl)
		}
		if o := sam.Get(s.t.Props("AuthorizerFunction"), "Environment", "Variables", "ALLOWED_ORIGINS"); fmt.Sprint(o) != fmt.Sprint(sam.Get(s.t.Props("McpFunction"), "Environment", "Variables", "ALLOWED_ORIGINS")) || o == nil {
			t.Errorf("AuthorizerFunction ALLOWED_ORIGINS = %v, want McpFunction's", o)
		}
		rs := routes(t, s.t)
		endpoints := map[string]authserver.Endpoint{}
		for _, e := range authserver.Endpoints() {
			endpoints[e.LogicalID()] = e
		}
		for _, r := range rs {
			// Every Api event is the MCP route or one the endpoints table declares.
			if e, ok := endpoints[r.Function]; ok && !tableRoute(e, r) {
				t.Errorf("%s %s (%s): not a route of functions/%s in authserver's endpoints table", r.Method, r.Path, r.Function, e.Function)
			} else if !ok && r.Function != "McpFunction" {
				t.Errorf("%s %s: %s is neither an endpoint of authserver's table nor the MCP function", r.Method, r.Path, r.Function)
			}
			if r.RestAPI != "AuthbridgeApi" {
				t.Errorf("%s %s (%s): RestApiId must be AuthbridgeApi, got %q", r.Method, r.Path, r.Function, r.RestAPI)
			}
			protected := r.Path == "/mcp" || strings.HasPrefix(r.Path, "/mcp/")
			if protected && r.Method != "OPTIONS" {
				if r.Authorizer != "" && r.Authorizer != def {
					t.Errorf("%s %s: authorizer %q, want the default %s", r.Method, r.Path, r.Authorizer, def)
				}
			} else if r.Authorizer != "NONE" {
				t.Errorf("%s %s (%s): a public route must say Auth: {Authorizer: NONE}", r.Method, r.Path, r.Function)
			}
		}
		for _, w := range want {
			var hit *route
			for i := range rs {
				if rs[i].Method == w.Method && matchPath(rs[i].Path, w.Path) {
					hit = &rs[i]
					break
				}
			}
			if hit == nil {
				t.Errorf("%s %s: no route in template.yaml", w.Method, w.Path)
				continue
			}
			if w.Function != "" && gateway.FunctionDir(hit.Function) != w.Function {
				t.Errorf("%s %s: served by %s, want functions/%s", w.Method, w.Path, hit.Function, w.Function)
			}
			if behind := hit.Authorizer != "NONE"; behind != w.Bearer {
				t.Errorf("%s %s: behind the authorizer = %v, want %v", w.Method, w.Path, behind, w.Bearer)
			}
		}
	})
}

// allowedActions is each function's complete IAM permission set, from the README's "Calls
// per request" table (TransactWriteItems is authorized per contained action). A new
// permission is a change to this list, reviewed as such.
var allowedActions = map[string][]string{
	"ResourceMetadataFunction": nil,
	"ServerMetadataFunction":   nil,
	"JwksFunction":             {"kms:GetPublicKey"},
	"RegisterFunction":         {"dynamodb:PutItem"},
	"AuthorizeFunction":        {"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"},
	"ConsentFunction":          {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
	"CallbackFunction":         {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
	"TokenFunction":            {"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Sign", "secretsmanager:GetSecretValue"},
	"RevokeFunction":           {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
	"IntrospectFunction":       {"dynamodb:GetItem", "kms:GetPublicKey"},
	"AuthorizerFunction":       {"kms:GetPublicKey"},
	"McpFunction":              {"secretsmanager:GetSecretValue"},
	// The person's page: session, sign-in state, the person's families (index Query,
	// GetItem, UpdateItem), client names, the revocation record.
	"ConnectedAppsFunction": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
	// WorkOS events: the person's families (index Query, GetItem, UpdateItem), the event id
	// claimed (PutItem) and released on failure (DeleteItem), the signing secret.
	"WebhookFunction": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
}

// webhooksOffActions are the webhook function's permissions without WorkOSWebhookSecretArn.
var webhooksOffActions = []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}

// frontDoorAuthorizerActions are the authorizer's permissions when a front door is on.
var frontDoorAuthorizerActions = []string{"kms:GetPublicKey", "kms:Sign"}

type statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Condition map[string]any
	Other     []string // NotAction, NotResource, Principal…
}

func parseStatement(v any) statement {
	m, _ := v.(map[string]any)
	st := statement{Effect: str(m["Effect"]), Actions: sam.Strings(m["Action"]), Resources: sam.Strings(m["Resource"])}
	st.Condition, _ = m["Condition"].(map[string]any)
	for k := range m {
		if !slices.Contains([]string{"Effect", "Action", "Resource", "Condition", "Sid"}, k) {
			st.Other = append(st.Other, k)
		}
	}
	return st
}

// TestLeastPrivilege checks the functions' IAM policies: inline statements only (no
// managed policies or SAM policy templates, no custom Role), no wildcard in any action, no
// NotAction/NotResource, each function exactly its allowedActions; KMS and DynamoDB
// actions only on the stack's own keys and table — never Resource "*"; kms:Sign only in
// the token function (and in the authorizer when a front door is on) and only ES256 over
// a digest; the authorizer cannot touch DynamoDB.
//
// The KMS key policies' "kms:*" on Resource "*" for the account root is KMS's standard
// administration statement (it is what lets IAM policies grant key use at all); it is
// allowed there and only in that exact form. The API Gateway logging role may hold AWS's
// AmazonAPIGatewayPushToCloudWatchLogs and nothing else.
func TestLeastPrivilege(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		keys := map[string]bool{}
		for id := range sam.Resources(s.t.Doc, "AWS::KMS::Key") {
			keys[getAtt(t, s.t, id, "Arn")] = true
		}
		for id, fn := range functions(s.t) {
			if fn.Role != nil {
				t.Errorf("%s: a custom Role bypasses these checks", id)
			}
			// goformation's Policies union cannot tell a list of documents from a list of
			// managed policy names (both decode partly), so the shape is read from Doc.
			var sts []statement
			policies, _ := s.t.Props(id)["Policies"].([]any)
			if p := s.t.Props(id)["Policies"]; p != nil && policies == nil {
				t.Errorf("%s: Policies must be a list of inline policy documents, got %v", id, p)
			}
			for _, doc := range policies {
				m, ok := doc.(map[string]any)
				stmts, _ := m["Statement"].([]any)
				if !ok || stmts == nil || len(m) > 2 || len(m) == 2 && m["Version"] == nil {
					t.Errorf("%s: Policies must be inline statements (no managed policies, no SAM policy templates), got %v", id, doc)
					continue
				}
				for _, raw := range stmts {
					sts = append(sts, parseStatement(raw))
				}
			}
			var actions []string
			for _, st := range sts {
				if st.Effect != "Allow" || len(st.Other) > 0 || len(st.Resources) == 0 {
					t.Errorf("%s: statement %+v: want Effect Allow with Action and Resource only", id, st)
				}
				for _, a := range st.Actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s: wildcard action %q", id, a)
					}
					if !slices.Contains(actions, a) {
						actions = append(actions, a)
					}
					service, _, _ := strings.Cut(a, ":")
					for _, r := range st.Resources {
						switch {
						case r == "*" || strings.Contains(r, "*") && (service == "kms" || service == "dynamodb"):
							t.Errorf("%s: %s on %q: KMS and DynamoDB actions must name the stack's own keys and table", id, a, r)
						case service == "kms" && !keys[r]:
							t.Errorf("%s: %s on %q, want one of the stack's signing keys %v", id, a, r, sam.Sorted(keys))
						case service == "dynamodb" && a == "dynamodb:Query" && r == getAtt(t, s.t, "Table", "Arn")+"/index/"+store.FamiliesIndex:
							// the families index: a person's grants (the webhook)
						case service == "dynamodb" && r != getAtt(t, s.t, "Table", "Arn"):
							t.Errorf("%s: %s on %q, want the stack's table", id, a, r)
						case service == "secretsmanager" && id == "WebhookFunction" && r != s.t.Params["WorkOSWebhookSecretArn"]:
							t.Errorf("%s: %s on %q, want the WorkOS webhook secret", id, a, r)
						case service == "secretsmanager" && id != "WebhookFunction" && r != s.t.Params["WorkOSApiKeySecretArn"]:
							t.Errorf("%s: %s on %q, want the WorkOS API key secret", id, a, r)
						}
					}
					if a == "kms:Sign" {
						c, _ := st.Condition["StringEquals"].(map[string]any)
						signer := id == "TokenFunction" || id == "AuthorizerFunction" && s.t.Conditions["AnyFrontDoor"]
						if !signer || c["kms:SigningAlgorithm"] != "ECDSA_SHA_256" || c["kms:MessageType"] != "DIGEST" {
							t.Errorf("%s: kms:Sign only for TokenFunction (and the authorizer with a front door), conditioned on ECDSA_SHA_256 and DIGEST (got %v)", id, st.Condition)
						}
					}
				}
			}
			slices.Sort(actions)
			want, known := allowedActions[id]
			if id == "AuthorizerFunction" && s.t.Conditions["AnyFrontDoor"] {
				want = frontDoorAuthorizerActions // it signs each upstream's assertion
			}
			if id == "WebhookFunction" && !s.t.Conditions["WebhooksOn"] {
				want = webhooksOffActions // no secret to read
			}
			if !known {
				t.Errorf("%s: not in allowedActions; add its permissions there deliberately", id)
			} else if !slices.Equal(actions, want) {
				t.Errorf("%s: actions %v, want %v", id, actions, want)
			}
			if id == "AuthorizerFunction" {
				for _, a := range actions {
					if strings.HasPrefix(a, "dynamodb:") {
						t.Errorf("the authorizer must not reach DynamoDB (%s)", a)
					}
				}
			}
		}

		for id, key := range sam.Resources(s.t.Doc, "AWS::KMS::Key") {
			for _, raw := range sam.Get(key, "Properties", "KeyPolicy", "Statement").([]any) {
				st := parseStatement(raw)
				admin := slices.Equal(st.Actions, []string{"kms:*"}) && slices.Equal(st.Resources, []string{"*"}) && st.Effect == "Allow"
				root := fmt.Sprintf("arn:aws:iam::%s:root", sam.AccountID)
				principal := sam.Get(raw, "Principal", "AWS")
				if admin && principal != root {
					t.Errorf("%s: kms:* is only for the account root (the key administration statement), got principal %v", id, principal)
				}
				if !admin && slices.ContainsFunc(st.Actions, func(a string) bool { return strings.Contains(a, "*") }) {
					t.Errorf("%s: key policy statement with a wildcard action: %v", id, st.Actions)
				}
			}
		}
		for id, role := range sam.Resources(s.t.Doc, "AWS::IAM::Role") {
			p := role["Properties"].(map[string]any)
			managed := sam.Strings(p["ManagedPolicyArns"])
			if id != "ApiGatewayLogRole" || !slices.Equal(managed, []string{"arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}) || p["Policies"] != nil {
				t.Errorf("%s: unexpected role or permissions %v", id, managed)
			}
			if svc := sam.Get(p, "AssumeRolePolicyDocument", "Statement"); !strings.Contains(fmt.Sprint(svc), "apigateway.amazonaws.com") {
				t.Errorf("%s: must be assumable by API Gateway only", id)
			}
		}
	})
}

// TestTable: TTL on expires_at, point-in-time recovery, encryption at rest and deletion
// protection are on; the table survives stack deletion and replacement.
func TestTable(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		tables := sam.Resources(s.t.Doc, "AWS::DynamoDB::Table")
		if len(tables) != 1 || tables["Table"] == nil {
			t.Fatalf("want one table, Table; got %v", sam.Sorted(tables))
		}
		tbl, err := s.t.CFN.GetDynamoDBTableWithName("Table")
		if err != nil {
			t.Fatal(err)
		}
		if tbl.TimeToLiveSpecification == nil || !tbl.TimeToLiveSpecification.Enabled || tbl.TimeToLiveSpecification.AttributeName == nil || *tbl.TimeToLiveSpecification.AttributeName != "expires_at" {
			t.Error("TTL must be enabled on expires_at")
		}
		if tbl.PointInTimeRecoverySpecification == nil || tbl.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == nil || !*tbl.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled {
			t.Error("point-in-time recovery must be on")
		}
		if tbl.SSESpecification == nil || !tbl.SSESpecification.SSEEnabled {
			t.Error("SSE must be on")
		}
		if tbl.DeletionProtectionEnabled == nil || !*tbl.DeletionProtectionEnabled {
			t.Error("deletion protection must be on")
		}
		if tbl.BillingMode == nil || *tbl.BillingMode != "PAY_PER_REQUEST" {
			t.Error("BillingMode must be PAY_PER_REQUEST")
		}
		if tbl.AWSCloudFormationDeletionPolicy != "Retain" || tbl.AWSCloudFormationUpdateReplacePolicy != "Retain" {
			t.Error("the table must be retained on stack deletion and replacement")
		}
		// The one index is store.CreateTable's (the local table and the tests' are the same):
		// families by user, the least projection the operator's look-ups need.
		attrs := map[string]string{}
		for _, a := range tbl.AttributeDefinitions {
			attrs[a.AttributeName] = a.AttributeType
		}
		if len(attrs) != 2 || attrs["pk"] != "S" || attrs[store.FamiliesIndexKey] != "S" {
			t.Errorf("attribute definitions %v, want pk and %s (S)", attrs, store.FamiliesIndexKey)
		}
		if len(tbl.GlobalSecondaryIndexes) != 1 || len(tbl.LocalSecondaryIndexes) != 0 {
			t.Fatalf("want one global secondary index, %s", store.FamiliesIndex)
		}
		gsi := tbl.GlobalSecondaryIndexes[0]
		if gsi.IndexName != store.FamiliesIndex || len(gsi.KeySchema) != 1 || gsi.KeySchema[0].AttributeName != store.FamiliesIndexKey ||
			gsi.KeySchema[0].KeyType != "HASH" || gsi.Projection.ProjectionType == nil || *gsi.Projection.ProjectionType != "INCLUDE" ||
			!slices.Equal(gsi.Projection.NonKeyAttributes, store.FamiliesIndexProjection) || gsi.ProvisionedThroughput != nil {
			t.Errorf("index %+v: want %s keyed by %s, INCLUDE %v, on demand", gsi, store.FamiliesIndex, store.FamiliesIndexKey, store.FamiliesIndexProjection)
		}
	})
}

// TestGatewayResponses: the authorizer's 401 and 403 carry the RFC 6750 challenges with
// the RFC 9728 resource_metadata URL of this issuer (exactly what shared/guard builds),
// readable by browser clients.
func TestGatewayResponses(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		issuer := s.t.Params["Issuer"].(string)
		prm := issuer + guard.PathResourceMetadata + "/mcp"
		gr, _ := s.t.Props("AuthbridgeApi")["GatewayResponses"].(map[string]any)
		for typ, want := range map[string]struct {
			status    float64
			challenge string
		}{
			"UNAUTHORIZED":  {401, guard.GatewayChallenge(prm, strings.Fields(s.t.Params["ScopesSupported"].(string)))},
			"ACCESS_DENIED": {403, guard.InsufficientScopeChallenge(strings.Fields(s.t.Params["RequiredScopes"].(string)), prm)},
		} {
			r, _ := gr[typ].(map[string]any)
			if r == nil {
				t.Errorf("no %s gateway response", typ)
				continue
			}
			if r["StatusCode"] != want.status {
				t.Errorf("%s: status %v, want %v", typ, r["StatusCode"], want.status)
			}
			h, _ := sam.Get(r, "ResponseParameters", "Headers").(map[string]any)
			if got := h["WWW-Authenticate"]; got != "'"+want.challenge+"'" {
				t.Errorf("%s: WWW-Authenticate = %v, want '%s'", typ, got, want.challenge)
			}
			if h["Access-Control-Expose-Headers"] != "'WWW-Authenticate'" || h["Access-Control-Allow-Origin"] != "'*'" {
				t.Errorf("%s: browsers must be able to read WWW-Authenticate: %v", typ, h)
			}
		}
	})
}

// TestJSONLogsAndTracing: every function logs JSON (LoggingConfig, after Globals) into the
// stack's function log group, at the LogLevel parameter, and is traced with X-Ray.
func TestJSONLogsAndTracing(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		for id := range functions(s.t) {
			p := s.t.Props(id)
			lc, _ := p["LoggingConfig"].(map[string]any)
			if lc["LogFormat"] != "JSON" {
				t.Errorf("%s: LogFormat %v, want JSON", id, lc["LogFormat"])
			}
			if lc["LogGroup"] != ref(t, s.t, "FunctionLogGroup") {
				t.Errorf("%s: LogGroup %v, want the stack's FunctionLogGroup", id, lc["LogGroup"])
			}
			if lc["ApplicationLogLevel"] != s.t.Params["LogLevel"] {
				t.Errorf("%s: ApplicationLogLevel %v, want the LogLevel parameter", id, lc["ApplicationLogLevel"])
			}
			if p["Tracing"] != "Active" {
				t.Errorf("%s: X-Ray tracing must be Active", id)
			}
		}
		for _, g := range []string{"FunctionLogGroup", "AccessLogGroup"} {
			if sam.Get(s.t.Props(g), "RetentionInDays") != s.t.Params["LogRetentionDays"] {
				t.Errorf("%s: retention must be LogRetentionDays", g)
			}
		}
	})
}

// TestStage: JSON access logs without query strings, X-Ray, stage throttling with a
// tighter limit on the token endpoint, and reserved concurrency on the token function.
func TestStage(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		api := s.t.Props("AuthbridgeApi")
		if api["TracingEnabled"] != true {
			t.Error("API X-Ray tracing must be on")
		}
		format := str(sam.Get(api, "AccessLogSetting", "Format"))
		var fields map[string]string
		if err := json.Unmarshal([]byte(format), &fields); err != nil {
			t.Fatalf("access log format is not JSON: %v\n%s", err, format)
		}
		for _, k := range []string{"requestId", "ip", "method", "resourcePath", "status", "responseLatency", "authorizerStatus", "wafStatus"} {
			if fields[k] == "" {
				t.Errorf("access log lacks %s", k)
			}
		}
		if strings.Contains(format, "querystring") || strings.Contains(format, "requestOverride") || strings.Contains(format, "$input") {
			t.Error("the access log must not record query strings (codes, states) or bodies")
		}
		if dest := str(sam.Get(api, "AccessLogSetting", "DestinationArn")); !strings.HasSuffix(dest, ":log-group:"+ref(t, s.t, "AccessLogGroup")) {
			t.Errorf("access log destination %q, want AccessLogGroup's ARN (without :*)", dest)
		}
		settings, _ := api["MethodSettings"].([]any)
		var all, token map[string]any
		for _, raw := range settings {
			m, _ := raw.(map[string]any)
			switch {
			case m["ResourcePath"] == "/*" && m["HttpMethod"] == "*":
				all = m
			case m["ResourcePath"] == "/~1api~1ext~1auth~1token" && m["HttpMethod"] == "POST":
				token = m
			}
		}
		if all == nil || all["ThrottlingRateLimit"] != s.t.Params["ApiThrottleRate"] || all["ThrottlingBurstLimit"] != s.t.Params["ApiThrottleBurst"] {
			t.Errorf("stage throttling for every method: %v", all)
		}
		if token == nil || token["ThrottlingRateLimit"] != s.t.Params["TokenThrottleRate"] || token["ThrottlingBurstLimit"] != s.t.Params["TokenThrottleBurst"] {
			t.Errorf("token endpoint throttling: %v", token)
		}
		if r, _ := token["ThrottlingRateLimit"].(float64); r > 300 {
			t.Errorf("token throttle %v/s is above KMS's default ECC Sign quota (300/s per account and region)", r)
		}
		tf := functions(s.t)["TokenFunction"]
		if tf.ReservedConcurrentExecutions == nil || float64(*tf.ReservedConcurrentExecutions) != s.t.Params["TokenReservedConcurrency"] {
			t.Error("the token function must have reserved concurrency TokenReservedConcurrency")
		}
	})
}

// TestCustomDomain: with DomainName, the API sits at the root of the domain (base path
// "/"), TLS 1.2, regional, the execute-api endpoint off, and a Route 53 alias when a zone is
// given; without it, none of that exists and the execute-api URL stays on.
func TestCustomDomain(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		domain := s.t.Params["DomainName"].(string)
		api := s.t.Props("AuthbridgeApi")
		dn := s.t.Props("ApiDomainName")
		bpm := s.t.Props("ApiBasePathMapping")
		rec := s.t.Props("ApiDomainRecord")
		if domain == "" {
			if dn != nil || bpm != nil || rec != nil || api["DisableExecuteApiEndpoint"] != false {
				t.Error("without DomainName: no domain resources, execute-api endpoint on")
			}
			return
		}
		if api["DisableExecuteApiEndpoint"] != true {
			t.Error("with a custom domain the execute-api endpoint must be disabled")
		}
		if s.t.Params["Issuer"] != "https://"+domain {
			t.Errorf("Issuer %v, want https://%s", s.t.Params["Issuer"], domain)
		}
		if dn == nil || dn["DomainName"] != domain || dn["RegionalCertificateArn"] != s.t.Params["CertificateArn"] || dn["SecurityPolicy"] != "TLS_1_2" ||
			!slices.Equal(sam.Strings(sam.Get(dn, "EndpointConfiguration", "Types")), []string{"REGIONAL"}) {
			t.Errorf("ApiDomainName: %v", dn)
		}
		if bpm == nil || bpm["DomainName"] != ref(t, s.t, "ApiDomainName") || bpm["RestApiId"] != ref(t, s.t, "AuthbridgeApi") || bpm["Stage"] != ref(t, s.t, "AuthbridgeApi.Stage") {
			t.Errorf("ApiBasePathMapping: %v", bpm)
		}
		if bp, ok := bpm["BasePath"]; ok && bp != "" && bp != "/" {
			t.Errorf("base path %v, want the root", bp)
		}
		if zone := s.t.Params["HostedZoneId"].(string); (zone != "") != (rec != nil) {
			t.Errorf("Route 53 record exists = %v with HostedZoneId %q", rec != nil, zone)
		} else if rec != nil && (rec["Name"] != domain || rec["HostedZoneId"] != zone || sam.Get(rec, "AliasTarget", "DNSName") != getAtt(t, s.t, "ApiDomainName", "RegionalDomainName")) {
			t.Errorf("ApiDomainRecord: %v", rec)
		}
	})
}

// TestSigningKeys: in every state of a rotation, the alias targets the signing slot's key,
// the keys that exist are exactly the accepted ones, ACCEPTED_KEY_IDS (JWKS and
// authorizer alike) lists the signing key first, and the GetPublicKey and Sign policies
// name exactly the existing keys.
func TestSigningKeys(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		slot, other := s.t.Params["SigningKeySlot"].(string), s.t.Params["OtherSigningKey"].(string)
		signing, rest := "SigningKey"+slot, "SigningKey"+map[string]string{"A": "B", "B": "A"}[slot]
		wantKeys := []string{signing}
		if other == "accepted" {
			wantKeys = append(wantKeys, rest)
		}
		keys := sam.Sorted(sam.Resources(s.t.Doc, "AWS::KMS::Key"))
		if !slices.Equal(keys, slices.Sorted(slices.Values(wantKeys))) {
			t.Fatalf("KMS keys %v, want %v", keys, wantKeys)
		}
		for _, k := range keys {
			key, _ := s.t.CFN.GetKMSKeyWithName(k)
			if key.KeySpec == nil || *key.KeySpec != "ECC_NIST_P256" || key.KeyUsage == nil || *key.KeyUsage != "SIGN_VERIFY" || key.PendingWindowInDays == nil || *key.PendingWindowInDays != 30 {
				t.Errorf("%s: want an ECC_NIST_P256 SIGN_VERIFY key with a 30-day deletion window", k)
			}
		}
		if got := s.t.Props("SigningKeyAlias")["TargetKeyId"]; got != ref(t, s.t, signing) {
			t.Errorf("alias targets %v, want %s", got, signing)
		}
		var ids, arns []string
		for _, k := range wantKeys {
			ids = append(ids, getAtt(t, s.t, k, "KeyId"))
			arns = append(arns, getAtt(t, s.t, k, "Arn"))
		}
		for _, fn := range []string{"JwksFunction", "AuthorizerFunction", "IntrospectFunction"} {
			if got := sam.Get(s.t.Props(fn), "Environment", "Variables", "ACCEPTED_KEY_IDS"); got != strings.Join(ids, ",") {
				t.Errorf("%s ACCEPTED_KEY_IDS = %v, want %s", fn, got, strings.Join(ids, ","))
			}
		}
		if got := sam.Get(s.t.Props("TokenFunction"), "Environment", "Variables", "SIGNING_KEY_ID"); got != ref(t, s.t, "SigningKeyAlias") {
			t.Errorf("the token function must sign through the alias, got %v", got)
		}
		for fn, action := range map[string]string{"JwksFunction": "kms:GetPublicKey", "AuthorizerFunction": "kms:GetPublicKey", "IntrospectFunction": "kms:GetPublicKey", "TokenFunction": "kms:Sign"} {
			var res []string
			for _, raw := range sam.Get(s.t.Props(fn), "Policies").([]any) {
				for _, st := range sam.Get(raw, "Statement").([]any) {
					if p := parseStatement(st); slices.Contains(p.Actions, action) {
						res = append(res, p.Resources...)
					}
				}
			}
			if slices.Sort(res); !slices.Equal(res, slices.Sorted(slices.Values(arns))) {
				t.Errorf("%s %s on %v, want %v", fn, action, res, arns)
			}
		}
	})
}

// TestOutputs: issuer, MCP URL, protected-resource metadata URL, table, key and dashboard.
func TestOutputs(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		issuer := s.t.Params["Issuer"].(string)
		outs, _ := s.t.Doc["Outputs"].(map[string]any)
		want := map[string]any{
			"Issuer":                       issuer,
			"McpUrl":                       issuer + "/mcp",
			"ProtectedResourceMetadataUrl": issuer + guard.PathResourceMetadata + "/mcp",
			"TableName":                    ref(t, s.t, "Table"),
			"SigningKeyId":                 getAtt(t, s.t, "SigningKey"+s.t.Params["SigningKeySlot"].(string), "KeyId"),
			"DashboardUrl":                 getAtt(t, s.t, "Monitoring", "Outputs.DashboardUrl"),
		}
		for name, v := range want {
			if got := sam.Get(outs, name, "Value"); got != v {
				t.Errorf("output %s = %v, want %v", name, got, v)
			}
		}
	})
}
