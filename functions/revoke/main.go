// Command revoke serves RFC 7009 token revocation.
package main

import "github.com/authbridge/authbridge/shared/wiring"

func main() {
	fn := wiring.New()
	srv := fn.Server()
	srv.Store = fn.Store()
	fn.Serve(srv.RevokeHandler())
}
