// Command register serves RFC 7591 dynamic client registration.
package main

import (
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/wiring"
)

func main() { wiring.New().ServeEndpoint(authserver.RegisterEndpoint, wiring.WithStore) }
