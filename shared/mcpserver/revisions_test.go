package mcpserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The three protocol revisions a client may speak, through API Gateway (gatewaytest), the
// authorizer and the MCP function: 2025-06-18 and 2025-11-25 with the initialize handshake,
// 2026-07-28 stateless (server/discover first, every request carrying its version, client
// capabilities and mirrored method/name headers).

// stateless is the _meta every 2026-07-28 request carries (basic, _meta: protocolVersion and
// clientCapabilities are required).
func stateless(params map[string]any) map[string]any {
	if params == nil {
		params = map[string]any{}
	}
	params["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "authbridge-test", "version": "1.0.0"},
	}
	return params
}

func TestRevision20260728Stateless(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools orgs:read")
	headers := func(method, name string) []string {
		h := []string{"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", method}
		if name != "" {
			h = append(h, "Mcp-Name", name)
		}
		return h
	}

	// server/discover answers without any handshake.
	res := s.do(t, mcpRequest("POST", tok, rpc(1, "server/discover", stateless(nil)), headers("server/discover", "")...))
	if res.Status != http.StatusOK {
		t.Fatalf("server/discover: %d %s", res.Status, res.Response.Body)
	}
	var disc struct {
		SupportedVersions []string       `json:"supportedVersions"`
		Capabilities      map[string]any `json:"capabilities"`
	}
	if err := json.Unmarshal(decodeRPC(t, res).Result, &disc); err != nil {
		t.Fatal(err)
	}
	if !contains(disc.SupportedVersions, "2026-07-28") || !contains(disc.SupportedVersions, "2025-06-18") || disc.Capabilities["tools"] == nil {
		t.Fatalf("server/discover result: %s", res.Response.Body)
	}

	// tools/list and tools/call, each on its own, no session.
	res = s.do(t, mcpRequest("POST", tok, rpc(2, "tools/list", stateless(nil)), headers("tools/list", "")...))
	if res.Status != http.StatusOK || !strings.Contains(res.Response.Body, `"whoami"`) {
		t.Fatalf("tools/list: %d %s", res.Status, res.Response.Body)
	}
	call := rpc(3, "tools/call", stateless(map[string]any{"name": "whoami", "arguments": map[string]any{}}))
	res = s.do(t, mcpRequest("POST", tok, call, headers("tools/call", "whoami")...))
	if res.Status != http.StatusOK || !strings.Contains(res.Response.Body, adaID) {
		t.Fatalf("tools/call whoami: %d %s", res.Status, res.Response.Body)
	}
	if sid := res.Response.Headers["Mcp-Session-Id"]; sid != "" {
		t.Errorf("a stateless answer carries Mcp-Session-Id %q", sid)
	}

	// MCP 2026-07-28 (transports, standard headers): a mirrored header that disagrees with
	// the body is refused.
	res = s.do(t, mcpRequest("POST", tok, call, headers("tools/call", "list_organizations")...))
	if res.Status != http.StatusBadRequest {
		t.Fatalf("Mcp-Name disagreeing with the body: %d %s", res.Status, res.Response.Body)
	}
}

func TestRevisionsWithInitialize(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools orgs:read")
	for _, version := range []string{"2025-11-25", "2025-06-18"} {
		t.Run(version, func(t *testing.T) {
			init := rpc(1, "initialize", map[string]any{"protocolVersion": version, "capabilities": map[string]any{},
				"clientInfo": map[string]any{"name": "authbridge-test", "version": "1.0.0"}})
			res := s.do(t, mcpRequest("POST", tok, init))
			var result struct {
				ProtocolVersion string `json:"protocolVersion"`
			}
			if res.Status != http.StatusOK || json.Unmarshal(decodeRPC(t, res).Result, &result) != nil || result.ProtocolVersion != version {
				t.Fatalf("initialize %s: %d %s", version, res.Status, res.Response.Body)
			}
			res = s.do(t, mcpRequest("POST", tok, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "MCP-Protocol-Version", version))
			if res.Status != http.StatusAccepted {
				t.Fatalf("notifications/initialized: %d %s", res.Status, res.Response.Body)
			}
			call := rpc(2, "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
			res = s.do(t, mcpRequest("POST", tok, call, "MCP-Protocol-Version", version))
			if res.Status != http.StatusOK || !strings.Contains(res.Response.Body, adaID) {
				t.Fatalf("tools/call whoami: %d %s", res.Status, res.Response.Body)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MCP transports (Streamable HTTP, security warning): an invalid Origin gets 403, even
// without a token; an allowed or absent one without a token keeps the 401 challenge.
func TestDisallowedOriginWithoutToken(t *testing.T) {
	s := newStack(t, map[string]string{"ALLOWED_ORIGINS": "http://localhost:6274"})
	body := rpc(1, "tools/list", nil)
	res := s.do(t, mcpRequest("POST", "", body, "Origin", "https://evil.example"))
	if res.Status != http.StatusForbidden || !res.Called || res.Header.Get("WWW-Authenticate") != "" || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed Origin, no token: %d (function called: %v) %v %s", res.Status, res.Called, res.Header, res.Response.Body)
	}
	if e := decodeRPC(t, res).Error; e == nil || e.Code != -31001 {
		t.Fatalf("body %s", res.Response.Body)
	}
	// The function refuses the authorizer's refusal even when the first Origin value is allowed.
	r := mcpRequest("POST", "", body)
	r.Header["Origin"] = []string{"http://localhost:6274", "https://evil.example"}
	if res := s.do(t, r); res.Status != http.StatusForbidden {
		t.Fatalf("two Origin values, one disallowed: %d %s", res.Status, res.Response.Body)
	}
	for _, origin := range []string{"", "http://localhost:6274", issuer} {
		var extra []string
		if origin != "" {
			extra = []string{"Origin", origin}
		}
		res := s.do(t, mcpRequest("POST", "", body, extra...))
		if res.Status != http.StatusUnauthorized || res.Called {
			t.Fatalf("Origin %q, no token: %d (function called: %v)", origin, res.Status, res.Called)
		}
	}
}
