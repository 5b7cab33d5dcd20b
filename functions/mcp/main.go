// Command mcp serves the protected MCP endpoint (Streamable HTTP, stateless, JSON
// responses): tools that act as the person the authorizer let through.
package main

import "github.com/authbridge/authbridge/shared/wiring/mcp"

func main() { mcp.Serve() }
