package authserver

import (
	"testing"

	"github.com/authbridge/authbridge/shared/oauth"
)

// TestTokenGrantsMatchSupportedGrants: the token endpoint has a handler for every grant type
// registration and metadata advertise (oauth.SupportedGrants), and none for any other.
func TestTokenGrantsMatchSupportedGrants(t *testing.T) {
	for _, g := range oauth.SupportedGrants() {
		if tokenGrants[g] == nil {
			t.Errorf("grant %s is supported (shared/oauth/grants.go) but the token endpoint has no handler for it in tokenGrants", g)
		}
	}
	for g := range tokenGrants {
		if !oauth.IsSupportedGrant(g) {
			t.Errorf("tokenGrants serves %s, which shared/oauth/grants.go does not list", g)
		}
	}
}
