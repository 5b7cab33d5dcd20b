// Command token serves the token endpoint: code exchange and refresh-token rotation.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.TokenEndpoint, wiring.WithStore, wiring.WithMinter, wiring.WithSignIn)
}
