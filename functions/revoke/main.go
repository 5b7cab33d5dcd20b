// Command revoke serves RFC 7009 token revocation.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() { wiring.New().ServeEndpoint(authserver.RevokeEndpoint, wiring.WithStore) }
