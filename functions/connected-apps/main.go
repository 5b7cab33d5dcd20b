// Command connected-apps serves the page where a person signs in, sees the applications
// holding their grants, and revokes them.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.ConnectedAppsEndpoint, wiring.WithStore, wiring.WithSignIn)
}
