// Command callback is where WorkOS returns the browser after sign-in; it issues the
// authorization code to the MCP client.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Store = fn.Store()
	srv.SignIn = fn.SignIn()
	fn.Serve(srv.CallbackHandler())
}
