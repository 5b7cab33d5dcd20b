// Command register serves RFC 7591 dynamic client registration.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Store = fn.Store()
	fn.Serve(srv.RegisterHandler())
}
