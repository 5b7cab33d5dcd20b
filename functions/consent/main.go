// Command consent receives the consent page's decision.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Store = fn.Store()
	srv.SignIn = fn.SignIn()
	fn.Serve(srv.ConsentHandler())
}
