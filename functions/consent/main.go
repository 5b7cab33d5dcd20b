// Command consent receives the consent page's decision.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.ConsentEndpoint, wiring.WithStore, wiring.WithSignIn)
}
