package guard_test

import (
	"testing"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/oauth"
)

// crmDoor: every request needs "mcp:tools crm:read"; delete_contact also crm:write, export
// also crm:export.
var crmDoor = config.FrontDoor{
	Slot: "1", Resource: testIssuer + "/mcp/crm", Upstream: "https://crm.internal.example.test/mcp",
	Scopes: oauth.Scope{"mcp:tools", "crm:read"},
	ToolScopes: map[string]oauth.Scope{
		"delete_contact": {"crm:write"},
		"export":         {"crm:read", "crm:export"},
	},
}

const (
	pathScopes   = "mcp:tools crm:read"
	deleteScopes = "mcp:tools crm:read crm:write"
	exportScopes = "mcp:tools crm:read crm:export"
	allTools     = "mcp:tools crm:read crm:write crm:export"
)

// TestMCP_MirroredHeadersChooseTheToolScopes: the scopes a front-door request needs, from the
// MCP 2026-07-28 mirrored headers (Streamable HTTP, "Standard MCP request headers"), trusted
// only where that revision makes the upstream reject a header that disagrees with the body.
func TestMCP_MirroredHeadersChooseTheToolScopes(t *testing.T) {
	d := guard.NewFrontDoor(crmDoor)
	h := func(kv ...string) map[string][]string {
		m := map[string][]string{"Content-Type": {"application/json"}}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	const v = "MCP-Protocol-Version"
	for _, tt := range []struct {
		name   string
		header map[string][]string
		want   string
	}{
		{"Mcp-Name: a tools/call needs the path scopes and its tool's", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "delete_contact"), deleteScopes},
		{"Mcp-Name: another configured tool", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "export"), exportScopes},
		{"Mcp-Name: a tool without scopes of its own needs the path scopes", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "search"), pathScopes},
		{"Mcp-Method: a request other than tools/call needs the path scopes", h(v, "2026-07-28", "Mcp-Method", "tools/list"), pathScopes},
		{"Mcp-Method: resources/read with a name is no tool call", h(v, "2026-07-28", "Mcp-Method", "resources/read", "Mcp-Name", "export"), pathScopes},
		{"RFC 9110 §5.1: header names are case-insensitive", h("mcp-protocol-version", "2026-07-28", "MCP-METHOD", "tools/call", "mcp-name", "delete_contact"), deleteScopes},
		{"header values are case-sensitive: a tool name is matched exactly", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "Delete_Contact"), pathScopes},
		{"header values are case-sensitive: Tools/Call is not tools/call (the upstream rejects it against the body)", h(v, "2026-07-28", "Mcp-Method", "Tools/Call", "Mcp-Name", "delete_contact"), pathScopes},
		{"Base64 encoding: intermediaries that inspect values MUST decode =?base64?…?=", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?ZGVsZXRlX2NvbnRhY3Q=?="), deleteScopes},
		{"Base64 encoding: Mcp-Method decoded too", h(v, "2026-07-28", "Mcp-Method", "=?base64?dG9vbHMvY2FsbA==?=", "Mcp-Name", "export"), exportScopes},
		{"Base64 encoding: an undecodable Mcp-Name is not trusted", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?not base64?="), allTools},
		{"Base64 encoding: an unterminated value is not trusted", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?ZXhwb3J0"), allTools},
		{"later revisions validate headers too", h(v, "2027-03-01", "Mcp-Method", "tools/call", "Mcp-Name", "search"), pathScopes},
		{"intermediaries SHOULD NOT trust headers of an older revision", h(v, "2025-11-25", "Mcp-Method", "tools/call", "Mcp-Name", "search"), allTools},
		{"intermediaries SHOULD NOT trust headers without MCP-Protocol-Version", h("Mcp-Method", "tools/list"), allTools},
		{"an older client without mirrored headers needs every tool's scopes", h(v, "2025-06-18"), allTools},
		{"a version that is not a revision date is not trusted", h(v, "2026-7-28", "Mcp-Method", "tools/list"), allTools},
		{"a version that is not a revision date is not trusted (draft)", h(v, "DRAFT-2026-v1", "Mcp-Method", "tools/list"), allTools},
		{"two MCP-Protocol-Version values are not trusted", h(v, "2026-07-28", "mcp-protocol-version", "2025-11-25", "Mcp-Method", "tools/list"), allTools},
		{"Mcp-Method is required on every request: without it, every tool's scopes", h(v, "2026-07-28"), allTools},
		{"Mcp-Name is required on tools/call: without it, every tool's scopes (the upstream rejects it anyway)", h(v, "2026-07-28", "Mcp-Method", "tools/call"), allTools},
		{"an empty Mcp-Name is missing", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", ""), allTools},
		{"two Mcp-Name values are not trusted", h(v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "search", "mcp-name", "delete_contact"), allTools},
		{"two Mcp-Method values are not trusted", h(v, "2026-07-28", "Mcp-Method", "tools/list", "Mcp-Method", "tools/call", "Mcp-Name", "export"), allTools},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.RequiredScopes(nil, tt.header).String(); got != tt.want {
				t.Errorf("required %q, want %q", got, tt.want)
			}
			// API Gateway also sends headers (the last value of each name); multiValueHeaders wins.
			single := map[string]string{}
			for k, vs := range tt.header {
				single[k] = vs[len(vs)-1]
			}
			if got := d.RequiredScopes(single, tt.header).String(); got != tt.want {
				t.Errorf("with both views: required %q, want %q", got, tt.want)
			}
		})
	}
	// Without multiValueHeaders, headers is read, names case-insensitively.
	single := map[string]string{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "MCP-NAME": "export"}
	if got := d.RequiredScopes(single, nil).String(); got != exportScopes {
		t.Errorf("headers only: required %q", got)
	}
}

// TestMCP_NoToolScopesMeansPathScopesOnly: a front door without FRONT_DOOR_N_TOOL_SCOPES needs
// its path scopes from every client, whatever revision it speaks.
func TestMCP_NoToolScopesMeansPathScopesOnly(t *testing.T) {
	d := guard.NewFrontDoor(config.FrontDoor{Slot: "2", Resource: testIssuer + "/mcp/wiki", Upstream: "https://wiki.example.test/mcp", Scopes: oauth.Scope{"mcp:tools"}})
	for _, hdr := range []map[string][]string{
		nil,
		{"MCP-Protocol-Version": {"2025-03-26"}},
		{"MCP-Protocol-Version": {"2026-07-28"}, "Mcp-Method": {"tools/call"}, "Mcp-Name": {"anything"}},
	} {
		if got := d.RequiredScopes(nil, hdr).String(); got != "mcp:tools" {
			t.Errorf("%v: required %q", hdr, got)
		}
	}
}
