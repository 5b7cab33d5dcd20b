// Command server-metadata serves RFC 8414 authorization server metadata (and the same
// document as OpenID discovery).
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() { wiring.New().ServeEndpoint(authserver.ServerMetadataEndpoint) }
