// Command jwks serves the public keys whose access tokens are accepted.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Keys = fn.KeySet()
	fn.Serve(srv.JWKSHandler())
}
