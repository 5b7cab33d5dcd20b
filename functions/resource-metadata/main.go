// Command resource-metadata serves RFC 9728 protected resource metadata.
package main

import "github.com/authbridge/authbridge/shared/wiring/wellknown"

func main() { wellknown.ServeResourceMetadata() }
