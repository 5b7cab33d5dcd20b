// Command webhook receives WorkOS's signed events and revokes the grants they end.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() {
	wiring.New().ServeEndpoint(authserver.WebhookEndpoint, wiring.WithStore, wiring.WithWebhooks)
}
