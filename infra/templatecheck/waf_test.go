package templatecheck_test

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/infra/gateway"
	sam "github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/authserver"
)

// rateLimited are the endpoints with a per-IP WAF rate rule, and the parameter of its limit:
// every unauthenticated endpoint that writes to DynamoDB, signs or starts a sign-in.
var rateLimited = map[string]string{
	authserver.RegisterEndpoint.LogicalID():      "WafRegisterRateLimit",
	authserver.AuthorizeEndpoint.LogicalID():     "WafAuthorizeRateLimit",
	authserver.ConsentEndpoint.LogicalID():       "WafConsentRateLimit",
	authserver.TokenEndpoint.LogicalID():         "WafTokenRateLimit",
	authserver.RevokeEndpoint.LogicalID():        "WafRevokeRateLimit",
	authserver.ConnectedAppsEndpoint.LogicalID(): "WafConnectedAppsRateLimit",
}

// wafRule is one rate-based rule of the web ACL: its limit and its scope-down statement.
type wafRule struct {
	name  string
	limit any
	scope map[string]any
}

// TestWAF: with WafEnabled, a regional web ACL on the stage with one per-IP rate-based rule
// per rate-limited endpoint; without it, nothing.
func TestWAF(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		acl, assoc := s.t.Props("WebAcl"), s.t.Props("WebAclAssociation")
		if s.t.Params["WafEnabled"] != "true" {
			if acl != nil || assoc != nil {
				t.Error("WafEnabled=false must create no web ACL")
			}
			return
		}
		if acl == nil || acl["Scope"] != "REGIONAL" || assoc == nil {
			t.Fatal("WafEnabled=true needs a REGIONAL web ACL and its association")
		}
		if got := str(assoc["ResourceArn"]); got != "arn:aws:apigateway:"+sam.Region+"::/restapis/"+ref(t, s.t, "AuthbridgeApi")+"/stages/"+ref(t, s.t, "AuthbridgeApi.Stage") {
			t.Errorf("association target %q, want the API's stage", got)
		}
		rules := wafRules(t, acl)
		if len(rules) != len(rateLimited) {
			t.Errorf("%d rate rules, want one per rate-limited endpoint (%d)", len(rules), len(rateLimited))
		}
		limits := map[any]bool{}
		for _, r := range rules {
			limits[r.limit] = true
		}
		for fn, param := range rateLimited {
			if !limits[s.t.Params[param]] && s.t.Params[param] != nil {
				t.Errorf("%s: no rule has the limit %s (%v)", fn, param, s.t.Params[param])
			}
		}
	})
}

// TestWAFRulesCoverEveryPathSpelling (RFC 9700 §4.16, rate limits on the unauthenticated
// endpoints): WAF inspects the path as the client sent it, while API Gateway routes several
// spellings of one path to the same function (a trailing slash; the documentation is silent
// on percent-encoding). For every spelling of each rate-limited endpoint's paths, with and
// without the /Prod stage prefix of the execute-api host, the endpoint's rule must match;
// other endpoints' paths must not. The rules are evaluated with a model of WAF's text
// transformations (URL_DECODE, NORMALIZE_PATH, LOWERCASE) and matching statements.
func TestWAFRulesCoverEveryPathSpelling(t *testing.T) {
	s := scenarios(t)[0]
	if s.t.Params["WafEnabled"] != "true" {
		t.Fatal("the default scenario must have WAF on")
	}
	rules := wafRules(t, s.t.Props("WebAcl"))
	gw, err := gateway.Load(templatePath, s.params)
	if err != nil {
		t.Fatal(err)
	}
	ruleOf := map[string]wafRule{}
	for _, e := range authserver.Endpoints() {
		param, limited := rateLimited[e.LogicalID()]
		for _, r := range rules {
			if limited && r.limit == s.t.Params[param] && wafMatches(t, r.scope, e.Paths[0]) {
				ruleOf[e.LogicalID()] = r
			}
		}
	}
	for _, e := range authserver.Endpoints() {
		own, limited := ruleOf[e.LogicalID()]
		if _, want := rateLimited[e.LogicalID()]; want && !limited {
			t.Errorf("%s: no rate rule matches its path %s", e.LogicalID(), e.Paths[0])
			continue
		}
		for _, path := range e.Paths {
			for _, spelling := range pathSpellings(path) {
				// What reaches the function in the local gateway must be counted by WAF.
				if got := gw.API.FunctionFor(e.Methods[0], spelling); got != "" && got != e.LogicalID() {
					t.Errorf("%s is routed to %s, not %s", spelling, got, e.LogicalID())
				}
				for _, wire := range []string{spelling, "/Prod" + spelling} {
					for _, r := range rules {
						hit := wafMatches(t, r.scope, wire)
						if limited && r.name == own.name && !hit {
							t.Errorf("%s: rule %s does not count %q", e.LogicalID(), r.name, wire)
						}
						if r.name != own.name && hit {
							t.Errorf("%s: rule %s also counts %q, a path of another endpoint", e.LogicalID(), r.name, wire)
						}
					}
				}
			}
		}
	}
	// The spellings the local gateway routes like API Gateway (README: the gateway emulator).
	for _, path := range []string{"/api/ext/auth/register/", "/api/ext/auth/regist%65r", "/api/ext/auth/token/"} {
		if gw.API.FunctionFor("POST", path) == "" {
			t.Errorf("the local gateway no longer routes %s: keep this list to what it routes", path)
		}
	}
	for _, r := range rules {
		if wafMatches(t, r.scope, "/mcp") || wafMatches(t, r.scope, "/.well-known/oauth-authorization-server") {
			t.Errorf("rule %s counts MCP or metadata requests", r.name)
		}
	}
}

// pathSpellings are ways a client can write path that a server may route to it: as is, with
// a trailing slash, with percent-encoded letters (one, all, lower- and upper-case hex), with
// repeated slashes and with a /./ segment.
func pathSpellings(path string) []string {
	out := []string{path, path + "/", path + "//", strings.Replace(path, "/", "//", 1)}
	last := strings.LastIndexByte(path, '/')
	if last >= 0 && last+1 < len(path) {
		name := path[last+1:]
		out = append(out, path[:last]+"/./"+name)
		var all strings.Builder
		for i := range len(name) {
			all.WriteString("%" + strings.ToUpper(hexByte(name[i])))
		}
		out = append(out, path[:last+1]+all.String(), path[:last+1]+all.String()+"/")
		for i := range len(name) {
			out = append(out, path[:last+1]+name[:i]+"%"+hexByte(name[i])+name[i+1:])
		}
	}
	return out
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// wafRules reads the web ACL's rate-based rules; each must be per IP, block, and be scoped
// by a statement on the URI path.
func wafRules(t *testing.T, acl map[string]any) []wafRule {
	t.Helper()
	var rules []wafRule
	for _, raw := range acl["Rules"].([]any) {
		name := str(sam.Get(raw, "Name"))
		rbs, _ := sam.Get(raw, "Statement", "RateBasedStatement").(map[string]any)
		scope, _ := sam.Get(rbs, "ScopeDownStatement").(map[string]any)
		if rbs == nil || scope == nil || rbs["AggregateKeyType"] != "IP" {
			t.Errorf("rule %s: want a per-IP rate-based rule with a scope-down statement", name)
			continue
		}
		if sam.Get(raw, "Action", "Block") == nil {
			t.Errorf("rule %s must block", name)
		}
		rules = append(rules, wafRule{name: name, limit: rbs["Limit"], scope: scope})
	}
	return rules
}

// wafMatches evaluates a ByteMatchStatement or RegexMatchStatement on UriPath against the
// path as sent on the wire, as AWS WAF does: transformations in priority order, then the
// match. Anything else fails the test (extend the model when the template needs more).
func wafMatches(t *testing.T, scope map[string]any, wirePath string) bool {
	t.Helper()
	for kind, raw := range scope {
		st, _ := raw.(map[string]any)
		if sam.Get(st, "FieldToMatch", "UriPath") == nil {
			t.Fatalf("%s: only UriPath is modelled", kind)
		}
		value := wafTransform(t, st["TextTransformations"], wirePath)
		switch kind {
		case "ByteMatchStatement":
			needle := str(st["SearchString"])
			switch st["PositionalConstraint"] {
			case "EXACTLY":
				return value == needle
			case "STARTS_WITH":
				return strings.HasPrefix(value, needle)
			case "ENDS_WITH":
				return strings.HasSuffix(value, needle)
			case "CONTAINS":
				return strings.Contains(value, needle)
			}
			t.Fatalf("PositionalConstraint %v is not modelled", st["PositionalConstraint"])
		case "RegexMatchStatement":
			return regexp.MustCompile(str(st["RegexString"])).MatchString(value)
		}
		t.Fatalf("%s is not modelled", kind)
	}
	return false
}

// wafTransform applies AWS WAF text transformations by ascending priority.
func wafTransform(t *testing.T, raw any, s string) string {
	t.Helper()
	list, _ := raw.([]any)
	slices.SortFunc(list, func(a, b any) int {
		pa, _ := strconv.Atoi(fmt.Sprint(sam.Get(a, "Priority")))
		pb, _ := strconv.Atoi(fmt.Sprint(sam.Get(b, "Priority")))
		return pa - pb
	})
	for _, tr := range list {
		switch typ := str(sam.Get(tr, "Type")); typ {
		case "NONE":
		case "URL_DECODE":
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
		case "LOWERCASE":
			s = strings.ToLower(s)
		case "NORMALIZE_PATH":
			s = normalizePath(s)
		default:
			t.Fatalf("text transformation %s is not modelled", typ)
		}
	}
	return s
}

// normalizePath is WAF's NORMALIZE_PATH: repeated slashes become one, and directory
// self-references (/./) and back-references (/x/../) that are not at the start are removed.
func normalizePath(s string) string {
	for strings.Contains(s, "//") {
		s = strings.ReplaceAll(s, "//", "/")
	}
	segs := strings.Split(s, "/")
	var out []string
	for i, seg := range segs {
		switch {
		case seg == "." && i > 0:
		case seg == ".." && i > 0 && len(out) > 1:
			out = out[:len(out)-1]
		default:
			out = append(out, seg)
		}
	}
	return strings.Join(out, "/")
}
