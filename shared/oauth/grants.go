package oauth

import "slices"

// Grant types Authbridge issues tokens for.
const (
	GrantAuthorizationCode = "authorization_code" // RFC 6749 §4.1, OAuth 2.1 §4.1
	GrantRefreshToken      = "refresh_token"      // RFC 6749 §6, OAuth 2.1 §4.3
)

// supportedGrants is the one list of the grant types Authbridge supports, in the order the
// server metadata advertises them. Registration accepts only these (RFC 7591 §2
// grant_types), the metadata lists them (RFC 8414 §2 grant_types_supported), and the token
// endpoint has a handler for each (authserver's tokenGrants, kept in step by a test).
// OAuth 2.1 §1.3 removes the implicit and password grants; they never belong here.
var supportedGrants = []string{GrantAuthorizationCode, GrantRefreshToken}

// SupportedGrants returns the grant types Authbridge supports.
func SupportedGrants() []string { return slices.Clone(supportedGrants) }

// IsSupportedGrant reports whether grant is one of SupportedGrants.
func IsSupportedGrant(grant string) bool { return slices.Contains(supportedGrants, grant) }
