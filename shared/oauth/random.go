package oauth

import (
	"crypto/rand"
	"encoding/base64"
)

// Prefixes make Authbridge's opaque values recognizable in a leak report or a secret scanner,
// and let the token endpoint tell a misplaced value from a forged one.
const (
	PrefixRefreshToken = "abrt_"
	PrefixCode         = "abac_"
	PrefixClientSecret = "abcs_"
	PrefixClientID     = "abc_"
	// A resource server's introspection credentials (RFC 7662 §2.1): their own prefixes, so
	// that neither can be mistaken for, or used as, an MCP client's id or secret.
	PrefixResourceServerID     = "abrs_"
	PrefixResourceServerSecret = "abrss_"
)

// NewOpaque returns prefix followed by 256 random bits, base64url-encoded.
func NewOpaque(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
