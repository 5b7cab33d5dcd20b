package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/oauth"
)

// frontDoorEnv is a stack with the built-in /mcp and two front-door resources.
func frontDoorEnv(vars map[string]string) func(string) string {
	all := map[string]string{
		"PROTECTED_RESOURCES": issuer + "/mcp," + issuer + "/mcp/crm," + issuer + "/mcp/wiki",
		"SCOPES_SUPPORTED":    "mcp:tools orgs:read crm:read crm:write crm:export",
	}
	for k, v := range vars {
		all[k] = v
	}
	return env(all)
}

// TestFrontDoorSlotsParse: each configured slot becomes a FrontDoor in canonical form
// (RFC 8707 §2 resource URIs), FRONT_DOOR_N_SCOPES defaults to REQUIRED_SCOPES, and a slot
// whose variables are all empty is off.
func TestFrontDoorSlotsParse(t *testing.T) {
	c, err := Parse(frontDoorEnv(map[string]string{
		"FRONT_DOOR_1_RESOURCE":    "HTTPS://Auth.Example.com/mcp/crm/",
		"FRONT_DOOR_1_UPSTREAM":    "https://crm.internal.example.com:443/mcp",
		"FRONT_DOOR_1_SCOPES":      "mcp:tools crm:read",
		"FRONT_DOOR_1_TOOL_SCOPES": "delete_contact=crm:write; export=crm:read crm:export",
		"FRONT_DOOR_3_RESOURCE":    issuer + "/mcp/wiki",
		"FRONT_DOOR_3_UPSTREAM":    "http://127.0.0.1:5311/mcp",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []FrontDoor{
		{Slot: "1", Resource: issuer + "/mcp/crm", Upstream: "https://crm.internal.example.com/mcp",
			Scopes:     oauth.Scope{"mcp:tools", "crm:read"},
			ToolScopes: map[string]oauth.Scope{"delete_contact": {"crm:write"}, "export": {"crm:read", "crm:export"}}},
		{Slot: "3", Resource: issuer + "/mcp/wiki", Upstream: "http://127.0.0.1:5311/mcp", Scopes: oauth.Scope{"mcp:tools"}},
	}
	if !reflect.DeepEqual(c.FrontDoors, want) {
		t.Fatalf("front doors\n got %+v\nwant %+v", c.FrontDoors, want)
	}
	if fd, ok := c.FrontDoor("3"); !ok || fd.Upstream != "http://127.0.0.1:5311/mcp" {
		t.Errorf("FrontDoor(3) = %+v, %v", fd, ok)
	}
	for _, slot := range []string{"2", "0", "4", "", "01"} {
		if _, ok := c.FrontDoor(slot); ok {
			t.Errorf("FrontDoor(%q) found", slot)
		}
	}
	if c, err := Parse(env(nil)); err != nil || c.FrontDoors != nil {
		t.Errorf("no front door variables: %+v, %v", c.FrontDoors, err)
	}
}

// TestFrontDoorMalformedConfigFailsColdStart: a malformed front door stops the cold start with
// an error naming the variable, never a front door that half works.
func TestFrontDoorMalformedConfigFailsColdStart(t *testing.T) {
	ok := map[string]string{"FRONT_DOOR_2_RESOURCE": issuer + "/mcp/crm", "FRONT_DOOR_2_UPSTREAM": "https://crm.internal.example.com/mcp"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for kk, vv := range ok {
			if _, set := m[kk]; !set {
				m[kk] = vv
			}
		}
		return m
	}
	for _, tt := range []struct {
		name, want string
		vars       map[string]string
	}{
		{"RFC 8707 §2: the resource is required", "FRONT_DOOR_2_RESOURCE", with("FRONT_DOOR_2_RESOURCE", "")},
		{"the resource is a URL", "FRONT_DOOR_2_RESOURCE", with("FRONT_DOOR_2_RESOURCE", "mcp/crm")},
		{"RFC 8707 §2: tokens are issued only for PROTECTED_RESOURCES", "one of PROTECTED_RESOURCES", with("FRONT_DOOR_2_RESOURCE", issuer+"/mcp/other")},
		{"the upstream is required", "FRONT_DOOR_2_UPSTREAM", with("FRONT_DOOR_2_UPSTREAM", "")},
		{"MCP authorization: https (http on loopback only)", "FRONT_DOOR_2_UPSTREAM", with("FRONT_DOOR_2_UPSTREAM", "http://crm.internal.example.com/mcp")},
		{"the upstream is never a protected resource", "must not be one of PROTECTED_RESOURCES", with("FRONT_DOOR_2_UPSTREAM", issuer+"/mcp")},
		{"a scope only SCOPES_SUPPORTED has", "FRONT_DOOR_2_SCOPES", with("FRONT_DOOR_2_SCOPES", "crm:delete")},
		{"RFC 6749 §3.3 scope-token characters", "FRONT_DOOR_2_SCOPES", with("FRONT_DOOR_2_SCOPES", `crm"read`)},
		{"tool=scope", "FRONT_DOOR_2_TOOL_SCOPES", with("FRONT_DOOR_2_TOOL_SCOPES", "export")},
		{"a tool needs a scope", "FRONT_DOOR_2_TOOL_SCOPES", with("FRONT_DOOR_2_TOOL_SCOPES", "export=")},
		{"no empty entry", "FRONT_DOOR_2_TOOL_SCOPES", with("FRONT_DOOR_2_TOOL_SCOPES", "export=crm:read;")},
		{"a tool once", "listed twice", with("FRONT_DOOR_2_TOOL_SCOPES", "export=crm:read;export=crm:write")},
		{"MCP tool names", "FRONT_DOOR_2_TOOL_SCOPES", with("FRONT_DOOR_2_TOOL_SCOPES", "ex port=crm:read")},
		{"a tool scope only SCOPES_SUPPORTED has", "FRONT_DOOR_2_TOOL_SCOPES", with("FRONT_DOOR_2_TOOL_SCOPES", "export=crm:all")},
		{"scopes alone do not make a slot", "FRONT_DOOR_1_RESOURCE", map[string]string{"FRONT_DOOR_1_SCOPES": "mcp:tools"}},
		{"one resource, one front door", "are both", map[string]string{
			"FRONT_DOOR_1_RESOURCE": issuer + "/mcp/crm", "FRONT_DOOR_1_UPSTREAM": "https://a.example.com/mcp",
			"FRONT_DOOR_2_RESOURCE": issuer + "/mcp/crm", "FRONT_DOOR_2_UPSTREAM": "https://b.example.com/mcp"}},
		{"one upstream, one front door (assertions would be interchangeable)", "same upstream", map[string]string{
			"FRONT_DOOR_1_RESOURCE": issuer + "/mcp/crm", "FRONT_DOOR_1_UPSTREAM": "https://a.example.com/mcp",
			"FRONT_DOOR_2_RESOURCE": issuer + "/mcp/wiki", "FRONT_DOOR_2_UPSTREAM": "https://A.example.com:443/mcp/"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(frontDoorEnv(tt.vars))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one naming %q (front doors %+v)", err, tt.want, c.FrontDoors)
			}
		})
	}
}
