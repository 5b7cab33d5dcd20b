// Command token serves the token endpoint: code exchange and refresh-token rotation.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Store = fn.Store()
	srv.Minter = fn.Minter()
	fn.Serve(srv.TokenHandler())
}
