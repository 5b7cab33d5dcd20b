package mcpserver_test

import (
	"testing"

	"github.com/authbridge/authbridge/shared/mcpserver"
)

// MCP 2026-07-28 (basic, error codes): -32000 to -32019 are legacy, which new implementations
// SHOULD NOT use, and -32020 to -32099 are the specification's; JSON-RPC 2.0 §5.1 reserves
// -32768 to -32000. Authbridge's own refusals use application codes outside all of them.
func TestMCP_ErrorCodesOutsideReservedRanges(t *testing.T) {
	for name, code := range map[string]int{"CodeRefused": mcpserver.CodeRefused, "CodeInsufficientScope": mcpserver.CodeInsufficientScope} {
		if code >= -32768 && code <= -32000 {
			t.Errorf("%s = %d is in JSON-RPC's reserved range", name, code)
		}
	}
	if mcpserver.CodeRefused == mcpserver.CodeInsufficientScope {
		t.Error("the two refusals share a code")
	}
}
