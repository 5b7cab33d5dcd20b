package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
)

// FrontDoorSlots is the number of front doors a stack can have (FRONT_DOOR_1_… to FRONT_DOOR_3_…).
const FrontDoorSlots = 3

// maxToolName bounds a tool name in FRONT_DOOR_N_TOOL_SCOPES (MCP 2025-11-25 server/tools:
// tool names SHOULD be 1 to 128 characters).
const maxToolName = 128

// FrontDoor is an existing MCP server (the upstream) that API Gateway proxies to, behind the
// authorizer, on a REST API of its own whose stage variable frontDoor is Slot (docs/front-door.md).
type FrontDoor struct {
	// Slot is "1", "2" or "3": the value of the front door API's stage variable frontDoor.
	Slot string
	// Resource (FRONT_DOOR_N_RESOURCE) is the public URL clients use, e.g.
	// https://auth.example.com/mcp/crm: the audience their tokens must have. It must be one of
	// PROTECTED_RESOURCES, or no client could get a token for it.
	Resource string
	// Upstream (FRONT_DOOR_N_UPSTREAM) is the upstream's own URL, the audience of the assertion
	// the authorizer mints for it. It is never a protected resource, so no client can hold a
	// token with that audience.
	Upstream string
	// Scopes (FRONT_DOOR_N_SCOPES, default REQUIRED_SCOPES) are needed by every request.
	Scopes oauth.Scope
	// ToolScopes (FRONT_DOOR_N_TOOL_SCOPES, "tool=scope scope;tool2=scope") are needed, on top
	// of Scopes, by a tools/call of the tool.
	ToolScopes map[string]oauth.Scope
}

// parseFrontDoors reads FRONT_DOOR_1_… to FRONT_DOOR_3_…; a slot whose four variables are all
// empty is off. Every error is reported through fail.
func (c *Config) parseFrontDoors(getenv func(string) string, fail func(string, ...any)) {
	upstreams := map[string]string{}
	for n := 1; n <= FrontDoorSlots; n++ {
		slot := strconv.Itoa(n)
		name := func(v string) string { return "FRONT_DOOR_" + slot + "_" + v }
		rawRes, rawUp := getenv(name("RESOURCE")), getenv(name("UPSTREAM"))
		rawScopes, rawTools := getenv(name("SCOPES")), getenv(name("TOOL_SCOPES"))
		if rawRes == "" && rawUp == "" && rawScopes == "" && rawTools == "" {
			continue
		}
		fd := FrontDoor{Slot: slot}
		ok := true
		if res, good := oauth.CanonicalResource(rawRes); !good {
			fail("%s must be an absolute http(s) URL, got %q", name("RESOURCE"), rawRes)
			ok = false
		} else if !slices.Contains(c.Resources, res) {
			// RFC 8707 §2: the authorization server issues tokens only for its configured resources.
			fail("%s %q must be one of PROTECTED_RESOURCES", name("RESOURCE"), rawRes)
			ok = false
		} else {
			fd.Resource = res
		}
		if up, good := oauth.CanonicalResource(rawUp); !good || !oauth.SecureResource(up) {
			fail("%s must be an https URL (http only on 127.0.0.1, ::1 or localhost), got %q", name("UPSTREAM"), rawUp)
			ok = false
		} else if slices.Contains(c.Resources, up) {
			// The assertion's audience must be one no client can obtain a token for.
			fail("%s %q must not be one of PROTECTED_RESOURCES: clients could get tokens for it", name("UPSTREAM"), rawUp)
			ok = false
		} else if other, dup := upstreams[up]; dup {
			fail("%s and %s name the same upstream %q: their assertions would be interchangeable", other, name("UPSTREAM"), rawUp)
			ok = false
		} else {
			upstreams[up] = name("UPSTREAM")
			fd.Upstream = up
		}
		scopes, good := oauth.ParseScope(rawScopes)
		if rawScopes == "" {
			scopes, good = c.RequiredScopes, true
		}
		if !good || len(scopes) == 0 || !scopes.SubsetOf(c.Scopes) {
			fail("%s must be a non-empty subset of SCOPES_SUPPORTED, got %q", name("SCOPES"), rawScopes)
			ok = false
		}
		fd.Scopes = scopes
		tools, err := parseToolScopes(rawTools, c.Scopes)
		if err != nil {
			fail("%s: %v", name("TOOL_SCOPES"), err)
			ok = false
		}
		fd.ToolScopes = tools
		if ok {
			c.FrontDoors = append(c.FrontDoors, fd)
		}
	}
	for i, a := range c.FrontDoors {
		for _, b := range c.FrontDoors[i+1:] {
			if a.Resource == b.Resource {
				fail("FRONT_DOOR_%s_RESOURCE and FRONT_DOOR_%s_RESOURCE are both %q", a.Slot, b.Slot, a.Resource)
			}
		}
	}
}

// parseToolScopes reads "tool=scope scope;tool2=scope": every entry names a tool once, with at
// least one scope of supported.
func parseToolScopes(raw string, supported oauth.Scope) (map[string]oauth.Scope, error) {
	if raw == "" {
		return nil, nil
	}
	out := map[string]oauth.Scope{}
	for _, entry := range strings.Split(raw, ";") {
		tool, rawScope, found := strings.Cut(strings.TrimSpace(entry), "=")
		if !found || !toolName(tool) {
			return nil, fmt.Errorf("%q is not tool=scope (tool names: 1 to %d of A-Z a-z 0-9 _ - . /)", entry, maxToolName)
		}
		if _, dup := out[tool]; dup {
			return nil, fmt.Errorf("tool %q is listed twice", tool)
		}
		scope, ok := oauth.ParseScope(rawScope)
		if !ok || len(scope) == 0 || !scope.SubsetOf(supported) {
			return nil, fmt.Errorf("tool %q: %q must be a non-empty subset of SCOPES_SUPPORTED", tool, rawScope)
		}
		out[tool] = scope
	}
	return out, nil
}

// toolName reports whether s is a tool name as MCP recommends them (2025-11-25 server/tools:
// A-Z, a-z, 0-9, "_", "-", "."; "/" is accepted too, as in namespaced names).
func toolName(s string) bool {
	if s == "" || len(s) > maxToolName {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-' || b == '.' || b == '/') {
			return false
		}
	}
	return true
}

// FrontDoor returns the front door whose frontDoor stage variable is slot.
func (c Config) FrontDoor(slot string) (FrontDoor, bool) {
	for _, fd := range c.FrontDoors {
		if fd.Slot == slot {
			return fd, true
		}
	}
	return FrontDoor{}, false
}
