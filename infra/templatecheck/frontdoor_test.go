package templatecheck_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
	sam "github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/guard"
)

// frontDoorHeaders are the integration request headers each front door sets from the
// authorizer's context (docs/front-door.md): the upstream's assertion replaces the
// client's bearer token, and the identity headers replace anything the client sent.
var frontDoorHeaders = map[string]string{
	"Authorization":                "context.authorizer.upstream_authorization",
	"X-Authbridge-User-Id":         "context.authorizer.sub",
	"X-Authbridge-Email":           "context.authorizer.email",
	"X-Authbridge-Organization-Id": "context.authorizer.org_id",
	"X-Authbridge-Scope":           "context.authorizer.scope",
	"X-Authbridge-Client-Id":       "context.authorizer.client_id",
}

// TestFrontDoors: each front door that is on (FrontDoorNUpstream with a custom domain) is
// its own REST API mapped at FrontDoorNPath, with an HTTP proxy integration that streams,
// the stack's authorizer without cache, its own RFC 9728 challenges, 502/504 JSON answers,
// redeployment on every deploy, and its resource in PROTECTED_RESOURCES and the
// authorizer's FRONT_DOOR_N_* environment; a slot that is off leaves nothing behind.
func TestFrontDoors(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		issuer := s.t.Params["Issuer"].(string)
		domain := s.t.Params["DomainName"].(string)
		gw, err := gateway.Load(templatePath, s.params)
		if err != nil {
			t.Fatal(err)
		}
		authEnv, _ := sam.Get(s.t.Props("AuthorizerFunction"), "Environment", "Variables").(map[string]any)
		resources := strings.Split(str(sam.Get(s.t.Props("TokenFunction"), "Environment", "Variables", "PROTECTED_RESOURCES")), ",")
		if want := issuer + "/mcp"; s.t.Params["ProtectedResources"] == "" && resources[0] != want {
			t.Errorf("PROTECTED_RESOURCES starts with %q, want the stack's own %s", resources[0], want)
		}
		anyOn := false
		for n := 1; n <= 3; n++ {
			slot := fmt.Sprintf("FrontDoor%d", n)
			env := fmt.Sprintf("FRONT_DOOR_%d_", n)
			upstream := s.t.Params[slot+"Upstream"].(string)
			path := s.t.Params[slot+"Path"].(string)
			on := upstream != "" && domain != ""
			anyOn = anyOn || on
			if s.t.Conditions[slot+"On"] != on {
				t.Errorf("condition %sOn = %v, want %v", slot, s.t.Conditions[slot+"On"], on)
			}
			api := s.t.Props(slot + "Api")
			if !on {
				for _, id := range []string{slot + "Api", slot + "Mapping", slot + "WebAclAssociation"} {
					if s.t.Resource(id) != nil {
						t.Errorf("%s exists with the front door off", id)
					}
				}
				for _, k := range []string{"RESOURCE", "UPSTREAM", "SCOPES", "TOOL_SCOPES"} {
					if v := authEnv[env+k]; v != "" {
						t.Errorf("authorizer %s%s = %v with the front door off, want empty", env, k, v)
					}
				}
				continue
			}
			resource := issuer + "/" + path
			prm := issuer + guard.PathResourceMetadata + "/" + path

			// The API and its stage.
			if api["StageName"] != s.t.Params["StageName"] || api["AlwaysDeploy"] != true || api["DisableExecuteApiEndpoint"] != true ||
				api["TracingEnabled"] != true || sam.Get(api, "EndpointConfiguration", "Type") != "REGIONAL" {
				t.Errorf("%sApi: stage %v, AlwaysDeploy %v (SAM redeploys only on a literal change of the body), DisableExecuteApiEndpoint %v, tracing %v, endpoint %v",
					slot, api["StageName"], api["AlwaysDeploy"], api["DisableExecuteApiEndpoint"], api["TracingEnabled"], api["EndpointConfiguration"])
			}
			if v := sam.Get(api, "Variables", "frontDoor"); v != fmt.Sprint(n) {
				t.Errorf("%sApi stage variable frontDoor = %v, want %d (how the shared authorizer tells the slot)", slot, v, n)
			}
			main := s.t.Props("AuthbridgeApi")
			if sam.Get(api, "AccessLogSetting", "DestinationArn") != sam.Get(main, "AccessLogSetting", "DestinationArn") ||
				sam.Get(api, "AccessLogSetting", "Format") != sam.Get(main, "AccessLogSetting", "Format") {
				t.Errorf("%sApi: access logs must be the main API's (same group, same format)", slot)
			}
			settings, _ := api["MethodSettings"].([]any)
			if len(settings) != 1 || sam.Get(settings[0], "ThrottlingRateLimit") != s.t.Params["ApiThrottleRate"] || sam.Get(settings[0], "ThrottlingBurstLimit") != s.t.Params["ApiThrottleBurst"] {
				t.Errorf("%sApi: stage throttling %v", slot, settings)
			}

			// The authorizer: the stack's, REQUEST, Authorization, no cache.
			auth, _ := api["Auth"].(map[string]any)
			a, _ := sam.Get(auth, "Authorizers", str(auth["DefaultAuthorizer"])).(map[string]any)
			if a == nil || a["FunctionPayloadType"] != "REQUEST" || a["FunctionArn"] != getAtt(t, s.t, "AuthorizerFunction", "Arn") ||
				!slices.Equal(sam.Strings(sam.Get(a, "Identity", "Headers")), []string{"Authorization"}) || sam.Get(a, "Identity", "ReauthorizeEvery") != 0.0 {
				t.Errorf("%sApi: default authorizer %v, want AuthorizerFunction, REQUEST, Authorization, ReauthorizeEvery 0", slot, a)
			}

			// Its routes, as the emulator reads them: every method on / and /{proxy+}.
			gapi := gw.APIs[slot+"Api"]
			if gapi == nil || gapi.BasePath != path {
				t.Fatalf("the local gateway does not serve %sApi at %s", slot, path)
			}
			var routes []string
			for _, rt := range gapi.Routes {
				routes = append(routes, rt.Method+" "+rt.Path)
				in := rt.HTTP
				wantURI := upstream
				if rt.Path == "/{proxy+}" {
					wantURI += "/{proxy}"
				}
				if in == nil || rt.Authorizer == "" || in.URI != wantURI || in.Method != "ANY" || !in.Stream ||
					in.Timeout != time.Duration(s.t.Params["FrontDoorTimeoutMillis"].(float64))*time.Millisecond {
					t.Errorf("%sApi %s %s: integration %+v, want a streamed http_proxy to %s behind the authorizer, timeout FrontDoorTimeoutMillis", slot, rt.Method, rt.Path, in, wantURI)
					continue
				}
				got := map[string]string{}
				for _, p := range in.Params {
					if p.Kind == "header" {
						got[p.Name] = p.Source
					}
				}
				for h, src := range frontDoorHeaders {
					if got[h] != src {
						t.Errorf("%sApi %s: header %s from %q, want %q", slot, rt.Path, h, got[h], src)
					}
				}
			}
			if slices.Sort(routes); !slices.Equal(routes, []string{"ANY /", "ANY /{proxy+}"}) {
				t.Errorf("%sApi routes %v", slot, routes)
			}

			// Gateway responses: its own challenges, JSON upstream errors, no caching.
			gr, _ := api["GatewayResponses"].(map[string]any)
			for typ, want := range map[string]struct {
				status    float64
				challenge string
				body      string
			}{
				"UNAUTHORIZED":        {401, guard.GatewayChallenge(prm, strings.Fields(s.t.Params["ScopesSupported"].(string))), ""},
				"ACCESS_DENIED":       {403, guard.InsufficientScopeChallenge(strings.Fields(s.t.Params["ScopesSupported"].(string)), prm), `"scope":"$context.authorizer.required_scope"`},
				"INTEGRATION_FAILURE": {502, "", `"error":"upstream_unavailable"`},
				"INTEGRATION_TIMEOUT": {504, "", `"error":"upstream_timeout"`},
			} {
				r, _ := gr[typ].(map[string]any)
				h, _ := sam.Get(r, "ResponseParameters", "Headers").(map[string]any)
				if r["StatusCode"] != want.status || h["Cache-Control"] != "'no-store'" || h["Access-Control-Allow-Origin"] != "'*'" {
					t.Errorf("%sApi %s: status %v, headers %v", slot, typ, r["StatusCode"], h)
				}
				if want.challenge != "" && h["WWW-Authenticate"] != "'"+want.challenge+"'" {
					t.Errorf("%sApi %s: WWW-Authenticate = %v, want '%s'", slot, typ, h["WWW-Authenticate"], want.challenge)
				}
				if body := str(sam.Get(r, "ResponseTemplates", "application/json")); want.body != "" && !strings.Contains(body, want.body) {
					t.Errorf("%sApi %s: body template %q, want it to contain %s", slot, typ, body, want.body)
				}
			}

			// The mapping on the custom domain, and WAF like the main API.
			m := s.t.Props(slot + "Mapping")
			if m == nil || m["DomainName"] != ref(t, s.t, "ApiDomainName") || m["ApiId"] != ref(t, s.t, slot+"Api") ||
				m["Stage"] != ref(t, s.t, slot+"Api.Stage") || m["ApiMappingKey"] != path {
				t.Errorf("%sMapping: %v", slot, m)
			}
			if waf := s.t.Props(slot + "WebAclAssociation"); (waf != nil) != s.t.Conditions["WafOn"] ||
				waf != nil && waf["WebACLArn"] != getAtt(t, s.t, "WebAcl", "Arn") {
				t.Errorf("%sWebAclAssociation %v with WafOn %v", slot, waf, s.t.Conditions["WafOn"])
			}

			// Clients can get tokens for it, and find its metadata (RFC 9728 §3.1, path inserted).
			if !slices.Contains(resources, resource) {
				t.Errorf("PROTECTED_RESOURCES %v lacks %s", resources, resource)
			}
			if fn := gw.API.FunctionFor("GET", guard.PathResourceMetadata+"/"+path); fn != "ResourceMetadataFunction" {
				t.Errorf("GET %s/%s goes to %q, want ResourceMetadataFunction", guard.PathResourceMetadata, path, fn)
			}
			for _, rt := range gw.API.Routes {
				if rt.Path == "/"+path || strings.HasPrefix(rt.Path, "/"+path+"/") {
					t.Errorf("the mapping at %s hides the main API's %s %s", path, rt.Method, rt.Path)
				}
			}

			// The authorizer's view of the slot.
			scopes := s.t.Params[slot+"Scopes"].(string)
			if scopes == "" {
				scopes = s.t.Params["RequiredScopes"].(string)
			}
			for k, want := range map[string]any{"RESOURCE": resource, "UPSTREAM": upstream, "SCOPES": scopes, "TOOL_SCOPES": s.t.Params[slot+"ToolScopes"]} {
				if authEnv[env+k] != want {
					t.Errorf("authorizer %s%s = %v, want %v", env, k, authEnv[env+k], want)
				}
			}
		}
		// The upstream assertions are signed through the alias; no signing without a front door.
		wantKey := ""
		if anyOn {
			wantKey = ref(t, s.t, "SigningKeyAlias")
		}
		if authEnv["SIGNING_KEY_ID"] != wantKey || s.t.Conditions["AnyFrontDoor"] != anyOn {
			t.Errorf("authorizer SIGNING_KEY_ID = %v (AnyFrontDoor %v), want %q", authEnv["SIGNING_KEY_ID"], s.t.Conditions["AnyFrontDoor"], wantKey)
		}
	})
}

// TestFrontDoorParameters: upstreams are https (http only on the loopback, for local
// stacks), paths sit under mcp/ so that no mapping can hide an authorization-server route,
// and a front door without a custom domain is refused at deploy time (template Rules; the
// template's conditions leave it off meanwhile).
func TestFrontDoorParameters(t *testing.T) {
	for _, c := range []struct {
		param, value string
		ok           bool
	}{
		{"FrontDoor1Upstream", "https://crm.internal.example.com/mcp", true},
		{"FrontDoor1Upstream", "https://crm.example.com:8443", true},
		{"FrontDoor1Upstream", "http://127.0.0.1:5610/mcp", true},
		{"FrontDoor1Upstream", "http://localhost:8080/mcp", true},
		{"FrontDoor1Upstream", "http://crm.example.com/mcp", false},
		{"FrontDoor1Upstream", "https://crm.example.com/mcp/", false},
		{"FrontDoor1Upstream", "https://crm.example.com/mcp?x=1", false},
		{"FrontDoor1Upstream", "https://user@crm.example.com/mcp", false},
		{"FrontDoor1Path", "mcp/crm", true},
		{"FrontDoor1Path", "mcp/crm/v2", true},
		{"FrontDoor1Path", "mcp", false},
		{"FrontDoor1Path", "/mcp/crm", false},
		{"FrontDoor1Path", "mcp/crm/", false},
		{"FrontDoor1Path", ".well-known/oauth-protected-resource", false},
		{"FrontDoor1Path", "api/ext/auth", false},
		{"FrontDoor1Scopes", "mcp:tools crm:read", true},
		{"FrontDoor1Scopes", "a  b", false},
		{"FrontDoor1ToolScopes", "delete_contact=crm:write;export=crm:read crm:export", true},
		{"FrontDoor1ToolScopes", "delete_contact=", false},
		{"FrontDoor1ToolScopes", "a=b;", false},
		{"FrontDoorTimeoutMillis", "50", true},
		{"FrontDoorTimeoutMillis", "29001", false},
	} {
		_, err := sam.Load(templatePath, with(map[string]string{c.param: c.value}))
		if (err == nil) != c.ok {
			t.Errorf("%s=%q: accepted %v, want %v (%v)", c.param, c.value, err == nil, c.ok, err)
		}
	}
	tmpl, err := sam.Load(templatePath, with(map[string]string{"FrontDoor1Upstream": "https://crm.example.com/mcp"}))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Conditions["FrontDoor1On"] || tmpl.Resource("FrontDoor1Api") != nil {
		t.Error("without DomainName a front door must not be created")
	}
	rule, _ := sam.Get(tmpl.Raw, "Rules", "FrontDoorsNeedCustomDomain").(map[string]any)
	cond := fmt.Sprint(rule["RuleCondition"])
	for n := 1; n <= 3; n++ {
		if !strings.Contains(cond, fmt.Sprintf("FrontDoor%dUpstream", n)) {
			t.Errorf("rule FrontDoorsNeedCustomDomain does not look at FrontDoor%dUpstream: %s", n, cond)
		}
	}
	if a := fmt.Sprint(rule["Assertions"]); !strings.Contains(a, "DomainName") {
		t.Errorf("rule FrontDoorsNeedCustomDomain asserts %s, want DomainName", a)
	}
	var grouped []string
	for _, g := range sam.Get(tmpl.Raw, "Metadata", "AWS::CloudFormation::Interface", "ParameterGroups").([]any) {
		grouped = append(grouped, sam.Strings(sam.Get(g, "Parameters"))...)
	}
	for name := range tmpl.Params {
		if strings.HasPrefix(name, "FrontDoor") && !slices.Contains(grouped, name) {
			t.Errorf("parameter %s is in no ParameterGroup", name)
		}
	}
}
