// Command server-metadata serves RFC 8414 authorization server metadata (and the same
// document as OpenID discovery).
package main

import "github.com/authbridge/authbridge/shared/wiring/wellknown"

func main() { wellknown.ServeServerMetadata() }
