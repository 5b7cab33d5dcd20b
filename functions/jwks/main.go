// Command jwks serves the public keys whose access tokens are accepted.
package main

import (
	"github.com/authbridge/authbridge/shared/wiring/signing"
	"github.com/authbridge/authbridge/shared/wiring/wellknown"
)

func main() { wellknown.ServeJWKS(signing.KeySet) }
