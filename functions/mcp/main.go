// Command mcp serves the protected MCP endpoint (Streamable HTTP, stateless, JSON
// responses): tools that act as the person the authorizer let through.
package main

import (
	"github.com/authbridge/authbridge/shared/mcpserver"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	fn := wiring.New()
	fn.Serve(obs.Scope("/mcp", mcpserver.New(fn.Config, fn.WorkOSClient(), fn.Log).Handler()))
}
