package templatecheck_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	sam "github.com/authbridge/authbridge/infra/samtemplate"
	tc "github.com/authbridge/authbridge/infra/templatecheck"
)

const (
	templatePath   = "../../template.yaml"
	monitoringPath = "../monitoring.yaml"
	samconfigPath  = "../../samconfig.toml"
	functionsDir   = "../../functions"
	readmePath     = "../../README.md"
)

// required are the parameters without a default.
var required = map[string]string{
	"Issuer":                "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/Prod",
	"WorkOSClientId":        "client_01TEST",
	"WorkOSApiKeySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authbridge/workos-AbCdEf",
}

func with(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range required {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

type scenario struct {
	name   string
	params map[string]string
	t      *sam.Template
}

// scenarios are the parameter sets every check runs against: the defaults, the custom
// domain with and without a hosted zone, WAF off with an existing topic, front doors, the
// four states of a signing-key rotation, and samconfig.toml's environments.
func scenarios(t *testing.T) []scenario {
	t.Helper()
	scenariosOnce.Do(func() { scenarioList, scenarioErr = loadScenarios() })
	if scenarioErr != nil {
		t.Fatal(scenarioErr)
	}
	return scenarioList
}

var (
	scenariosOnce sync.Once
	scenarioList  []scenario
	scenarioErr   error
)

func loadScenarios() ([]scenario, error) {
	domain := map[string]string{
		"Issuer": "https://auth.example.com", "DomainName": "auth.example.com",
		"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666",
	}
	list := []scenario{
		{name: "defaults", params: with(nil)},
		{name: "custom domain with hosted zone", params: with(merge(domain, map[string]string{"HostedZoneId": "Z0123456789ABC", "AlarmEmail": "ops@example.com"}))},
		{name: "custom domain, WAF off, existing topic", params: with(merge(domain, map[string]string{
			"WafEnabled": "false", "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:pager", "AlarmEmail": "ops@example.com",
			"CreateApiGatewayLogRole": "false"}))},
		// Companion mode: two front doors (slot 3 off), one with its own scopes and tool scopes.
		{name: "custom domain with front doors", params: with(merge(domain, map[string]string{
			"FrontDoor1Upstream": "https://crm.internal.example.com/mcp", "FrontDoor1Path": "mcp/crm",
			"FrontDoor1Scopes": "mcp:tools crm:read", "FrontDoor1ToolScopes": "delete_contact=crm:write;export=crm:read crm:export",
			"FrontDoor2Upstream": "https://tickets.example.net/api/mcp", "FrontDoorTimeoutMillis": "10000"}))},
		// WorkOS webhooks on (issue 11: events cut access).
		{name: "custom domain with WorkOS webhooks", params: with(merge(domain, map[string]string{
			"WorkOSWebhookSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authbridge/workos-webhook-AbCdEf"}))},
		{name: "rotation 1 publish B", params: with(map[string]string{"SigningKeySlot": "A", "OtherSigningKey": "accepted"})},
		{name: "rotation 2 sign with B", params: with(map[string]string{"SigningKeySlot": "B", "OtherSigningKey": "accepted"})},
		{name: "rotation 3 retire A", params: with(map[string]string{"SigningKeySlot": "B", "OtherSigningKey": "none"})},
	}
	cfg, err := tc.ReadSAMConfig(samconfigPath)
	if err != nil {
		return nil, err
	}
	for _, env := range []string{"dev", "prod"} {
		p, err := tc.ParameterOverrides(str(cfg[env+".deploy.parameters"]["parameter_overrides"]))
		if err != nil {
			return nil, fmt.Errorf("samconfig.toml [%s.deploy.parameters]: %v", env, err)
		}
		list = append(list, scenario{name: "samconfig " + env, params: p})
	}
	for i := range list {
		tmpl, err := sam.Load(templatePath, list[i].params)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", list[i].name, err)
		}
		list[i].t = tmpl
	}
	return list, nil
}

// forEach runs check in a subtest per scenario.
func forEach(t *testing.T, check func(t *testing.T, s scenario)) {
	for _, s := range scenarios(t) {
		t.Run(s.name, func(t *testing.T) { check(t, s) })
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// ref is what Ref of name resolves to in tmpl (the loader's stand-in for a resource).
func ref(t testing.TB, tmpl *sam.Template, name string) string {
	t.Helper()
	v, err := tmpl.Ref(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// getAtt is what Fn::GetAtt of id's attribute resolves to in tmpl.
func getAtt(t testing.TB, tmpl *sam.Template, id, attr string) string {
	t.Helper()
	v, err := tmpl.GetAtt(id, attr)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// functions returns the template's SAM functions (typed).
func functions(t *sam.Template) map[string]*serverless.Function {
	return t.CFN.GetAllServerlessFunctionResources()
}

// functionDirs lists functions/*/ that hold a main package.
func functionDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(functionsDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(functionsDir, e.Name(), "main.go")); err == nil {
				dirs = append(dirs, e.Name())
			}
		}
	}
	return dirs
}

// route is an Api event of a function.
type route struct {
	Function, Event, Method, Path, RestAPI, Authorizer string
}

func routes(t *testing.T, tmpl *sam.Template) []route {
	t.Helper()
	var out []route
	for id, fn := range functions(tmpl) {
		for name, ev := range fn.Events {
			if ev.Type != "Api" {
				continue
			}
			if ev.Properties == nil || ev.Properties.ApiEvent == nil {
				t.Fatalf("%s.Events.%s: goformation found no Api event properties", id, name)
			}
			a := ev.Properties.ApiEvent
			r := route{Function: id, Event: name, Method: strings.ToUpper(a.Method), Path: a.Path}
			if a.RestApiId != nil {
				for _, id := range sam.Sorted(tmpl.CFN.GetAllServerlessApiResources()) {
					if *a.RestApiId == ref(t, tmpl, id) {
						r.RestAPI = id
					}
				}
			}
			if a.Auth != nil && a.Auth.Authorizer != nil {
				r.Authorizer = *a.Auth.Authorizer
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
	return out
}

// matchPath reports whether a request path matches an API Gateway resource path
// ({name} is one segment, {name+} one or more).
func matchPath(resource, path string) bool {
	rs := strings.Split(strings.Trim(resource, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, r := range rs {
		if strings.HasPrefix(r, "{") && strings.HasSuffix(r, "+}") {
			return len(ps) > i
		}
		if i >= len(ps) {
			return false
		}
		if strings.HasPrefix(r, "{") && strings.HasSuffix(r, "}") {
			continue
		}
		if r != ps[i] {
			return false
		}
	}
	return len(ps) == len(rs)
}

// docRoute is a request the README's request-flow diagram draws: method, concrete path,
// whether it carries a bearer token, and the function folder that serves it.
type docRoute struct {
	Method, Path, Function string
	Bearer                 bool
}

var (
	docMethodRE = regexp.MustCompile(`─+(GET|POST|PUT|PATCH|DELETE)\s+([^\s─]+)`)
	docAlsoRE   = regexp.MustCompile(`\(\+ ([a-z-]+)\)`)
	docTargetRE = regexp.MustCompile(`─>\s*([a-z][a-z-]*)`)
)

// docRoutes reads the README's request-flow diagram.
func docRoutes(t *testing.T, path string) []docRoute {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docRoute
	for _, line := range strings.Split(string(data), "\n") {
		m := docMethodRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p, _, _ := strings.Cut(m[2], "?")
		bearer := strings.Contains(line, "Bearer")
		var paths []string
		if base, _, ok := strings.Cut(p, "[/<"); ok { // oauth-protected-resource[/<mcp path>]
			paths = append(paths, base, base+"/mcp")
		} else {
			paths = append(paths, p)
		}
		if also := docAlsoRE.FindStringSubmatch(line); also != nil { // (+ openid-configuration)
			paths = append(paths, "/.well-known/"+also[1])
		}
		fn := ""
		if targets := docTargetRE.FindAllStringSubmatch(line, -1); len(targets) > 0 {
			fn = targets[0][1]
			if bearer {
				fn = targets[len(targets)-1][1]
			}
		}
		for _, p := range paths {
			out = append(out, docRoute{Method: m[1], Path: p, Function: fn, Bearer: bearer})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no routes found in its request-flow diagram", path)
	}
	return out
}
