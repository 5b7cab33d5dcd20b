// Command introspect serves RFC 7662 token introspection to resource servers on other hosts.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.IntrospectEndpoint, wiring.WithStore, wiring.WithKeys)
}
