// Command authorize serves the authorization endpoint: it validates the MCP client's
// request, shows the consent page, and sends the browser to WorkOS.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Store = fn.Store()
	srv.SignIn = fn.SignIn()
	fn.Serve(srv.AuthorizeHandler())
}
