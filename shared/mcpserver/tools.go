package mcpserver

import (
	"context"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/oauth"
)

// registerTools lists the MCP tools. Adding a tool is one function (its own file) and one
// line here, stating the scopes a call needs beyond REQUIRED_SCOPES (see README.md).
func (s *Server) registerTools() {
	addTool(s, whoamiTool, Scopes(), s.whoami)
	addTool(s, listOrganizationsTool, Scopes("orgs:read"), s.listOrganizations)
}

// Scopes states the OAuth scopes a tool needs, in addition to those every request to the
// route needs (REQUIRED_SCOPES).
func Scopes(scopes ...string) oauth.Scope { return oauth.Scope(scopes) }

// ToolFunc implements a tool. who is the signed-in person from the verified access token —
// the only source of identity a tool may use, never its arguments. It returns a text
// rendering for the model and the structured result (MCP tools: structuredContent, whose
// JSON Schema is derived from Out).
type ToolFunc[In, Out any] func(ctx context.Context, who guard.Identity, in In) (text string, out Out, err error)

// addTool registers a tool whose calls need scopes (plus REQUIRED_SCOPES). The scopes are
// enforced here, for every call, and before the call reaches the SDK (serve) so that the
// client gets the HTTP step-up challenge.
func addTool[In, Out any](s *Server, tool *mcp.Tool, scopes oauth.Scope, fn ToolFunc[In, Out]) {
	need := slices.Clone(s.required)
	for _, sc := range scopes {
		if !need.Contains(sc) {
			need = append(need, sc)
		}
	}
	t := *tool
	if len(scopes) > 0 {
		t.Description += fmt.Sprintf(" Requires the OAuth scope %s.", scopes)
	}
	s.scopes[t.Name] = need
	mcp.AddTool(s.mcp, &t, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		var zero Out
		who, ok := identityOf(req)
		if !ok {
			// Not reachable through serve; refuse rather than act as nobody.
			return nil, zero, &jsonrpc.Error{Code: CodeRefused, Message: "Unauthorized: no verified identity"}
		}
		// RFC 6750 §3.1 insufficient_scope, as an MCP (JSON-RPC) error naming the scope.
		if !who.HasScopes(need) {
			s.log.InfoContext(ctx, "tool call refused", "tool", t.Name, "outcome", "forbidden", "reason", "insufficient_scope",
				"sub", who.Subject, "client_id", who.ClientID, "required", need.String())
			return nil, zero, &jsonrpc.Error{Code: CodeInsufficientScope, Message: insufficientScopeMessage(t.Name, need, who.Scope)}
		}
		text, out, err := fn(ctx, who, in)
		if err != nil {
			// MCP tools: an execution error is a result with isError, for the model to see.
			s.log.WarnContext(ctx, "tool call failed", "tool", t.Name, "outcome", "error", "sub", who.Subject,
				"client_id", who.ClientID, "error", err.Error())
			return nil, zero, err
		}
		s.log.InfoContext(ctx, "tool called", "tool", t.Name, "outcome", "ok", "sub", who.Subject, "client_id", who.ClientID)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, out, nil
	})
}

// identityOf is the caller of a tool call: the identity serve checked, passed through the
// SDK's RequestExtra.TokenInfo.
func identityOf(req *mcp.CallToolRequest) (guard.Identity, bool) {
	if req == nil || req.Extra == nil || req.Extra.TokenInfo == nil {
		return guard.Identity{}, false
	}
	who, ok := req.Extra.TokenInfo.Extra[identityExtra].(guard.Identity)
	return who, ok
}
