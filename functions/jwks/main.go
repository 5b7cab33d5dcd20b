// Command jwks serves the public keys whose access tokens are accepted.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() { wiring.New().ServeEndpoint(authserver.JWKSEndpoint, wiring.WithKeys) }
