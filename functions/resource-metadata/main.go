// Command resource-metadata serves RFC 9728 protected resource metadata.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() { wiring.New().ServeEndpoint(authserver.ResourceMetadataEndpoint) }
