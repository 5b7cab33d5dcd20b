// Command authorizer is the API Gateway REQUEST authorizer in front of the MCP routes: it
// verifies the bearer access token locally (ES256 over public keys fetched from KMS once per
// cold start) and answers Allow with the caller's identity, Deny (403) or Unauthorized (401).
package main

import "github.com/authbridge/authbridge/shared/wiring/authorizer"

func main() { authorizer.Serve() }
