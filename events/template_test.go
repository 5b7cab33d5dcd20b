package events_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/oauth"
)

// node returns the mapping value at path in a YAML tree (CloudFormation tags such as !Sub
// are kept as the node's tag; Value is the scalar as written).
func node(t *testing.T, n *yaml.Node, path ...string) *yaml.Node {
	t.Helper()
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, p := range path {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("template.yaml: %s not found", strings.Join(path, "."))
		}
		n = next
	}
	return n
}

func loadTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// TestTemplateGuard keeps template.yaml and the code in step: the gateway's static
// challenges are the ones package guard builds (MCP authorization: 401 with
// resource_metadata, 403 insufficient_scope with scope), the authorizer is a REQUEST
// authorizer on the Authorization header, the MCP routes use it, and no OAuth route does
// (metadata must never sit behind authentication).
func TestTemplateGuard(t *testing.T) {
	doc := loadTemplate(t)
	api := node(t, doc, "Resources", "AuthbridgeApi", "Properties")
	prm := "${Issuer}" + guard.PathResourceMetadata + "/mcp"
	for typ, want := range map[string]string{
		"UNAUTHORIZED":  guard.InvalidTokenChallenge(prm),
		"ACCESS_DENIED": guard.InsufficientScopeChallenge(oauth.Scope{"${RequiredScopes}"}, prm),
	} {
		gr := node(t, api, "GatewayResponses", typ)
		h := node(t, gr, "ResponseParameters", "Headers", "WWW-Authenticate")
		if h.Tag != "!Sub" || h.Value != "'"+want+"'" {
			t.Errorf("%s WWW-Authenticate = %s %s, want !Sub '%s'", typ, h.Tag, h.Value, want)
		}
		status := map[string]string{"UNAUTHORIZED": "401", "ACCESS_DENIED": "403"}[typ]
		if got := node(t, gr, "StatusCode").Value; got != status {
			t.Errorf("%s status %s", typ, got)
		}
	}
	auth := node(t, api, "Auth")
	name := node(t, auth, "DefaultAuthorizer").Value
	a := node(t, auth, "Authorizers", name)
	if node(t, a, "FunctionPayloadType").Value != "REQUEST" || node(t, a, "FunctionArn").Value != "AuthorizerFunction.Arn" {
		t.Errorf("authorizer %s is not the REQUEST authorizer of AuthorizerFunction", name)
	}
	if hs := node(t, a, "Identity", "Headers"); len(hs.Content) != 1 || hs.Content[0].Value != "Authorization" {
		t.Errorf("identity source: %v", hs.Content)
	}
	if ttl := node(t, a, "Identity", "ReauthorizeEvery"); ttl.Tag != "!Ref" || ttl.Value != "AuthorizerCacheTtl" {
		t.Errorf("ReauthorizeEvery = %s %s", ttl.Tag, ttl.Value)
	}
	if def, err := strconv.Atoi(node(t, doc, "Parameters", "AuthorizerCacheTtl", "Default").Value); err != nil || def > 60 {
		t.Errorf("authorizer cache default %d s (%v), want ≤ 60", def, err)
	}

	// Every Api event: /mcp methods behind the authorizer (the preflight excepted), every
	// other route Authorizer: NONE.
	resources := node(t, doc, "Resources")
	mcpMethods := map[string]bool{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if node(t, res, "Type").Value != "AWS::Serverless::Function" {
			continue
		}
		evs := find(res, "Properties", "Events")
		if evs == nil {
			continue
		}
		for j := 0; j+1 < len(evs.Content); j += 2 {
			props := node(t, evs.Content[j+1], "Properties")
			path, method := node(t, props, "Path").Value, node(t, props, "Method").Value
			authz := ""
			if n := find(props, "Auth", "Authorizer"); n != nil {
				authz = n.Value
			}
			protected := path == "/mcp" && method != "OPTIONS"
			if protected && (id != "McpFunction" || authz != "") {
				t.Errorf("%s %s %s: want McpFunction behind the default authorizer (Auth %q)", id, method, path, authz)
			}
			if !protected && authz != "NONE" {
				t.Errorf("%s %s %s: a public route must say Auth: {Authorizer: NONE}", id, method, path)
			}
			if protected {
				mcpMethods[method] = true
			}
		}
	}
	for _, m := range []string{"POST", "GET", "DELETE"} {
		if !mcpMethods[m] {
			t.Errorf("/mcp %s is not routed to McpFunction", m)
		}
	}
}

func find(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		var next *yaml.Node
		for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == p {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
