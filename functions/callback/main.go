// Command callback is where WorkOS returns the browser after sign-in; it issues the
// authorization code to the MCP client.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.CallbackEndpoint, wiring.WithStore, wiring.WithSignIn)
}
