// Command authorize serves the authorization endpoint: it validates the MCP client's
// request, shows the consent page, and sends the browser to WorkOS.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.AuthorizeEndpoint, wiring.WithStore, wiring.WithSignIn)
}
