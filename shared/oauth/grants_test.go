package oauth

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestSupportedGrants: Authbridge supports the authorization code and refresh token grants
// and nothing else (OAuth 2.1 §1.3 removes implicit and password), and the list handed out
// cannot be changed by its callers.
func TestSupportedGrants(t *testing.T) {
	want := []string{GrantAuthorizationCode, GrantRefreshToken}
	if got := SupportedGrants(); !slices.Equal(got, want) {
		t.Fatalf("SupportedGrants() = %v, want %v", got, want)
	}
	SupportedGrants()[0] = "password"
	if !IsSupportedGrant(GrantAuthorizationCode) || IsSupportedGrant("password") {
		t.Fatal("a caller changed the supported grants through the returned slice")
	}
	for _, g := range []string{"", "implicit", "password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code", "Authorization_Code"} {
		if IsSupportedGrant(g) {
			t.Errorf("IsSupportedGrant(%q) = true", g)
		}
	}
}

// TestRegistrationFollowsSupportedGrants: registration (RFC 7591 §2 grant_types) accepts a
// client asking for every supported grant, and refuses any other grant with
// invalid_client_metadata (RFC 7591 §3.2.2).
func TestRegistrationFollowsSupportedGrants(t *testing.T) {
	register := func(grants []string) (ClientMetadata, *Error) {
		body, _ := json.Marshal(map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "grant_types": grants})
		return ParseClientMetadata(body, Scope{"mcp:tools"})
	}
	meta, oerr := register(SupportedGrants())
	if oerr != nil || !slices.Equal(meta.GrantTypes, SupportedGrants()) {
		t.Fatalf("registering every supported grant: %v %v", meta.GrantTypes, oerr)
	}
	for _, g := range []string{"implicit", "password", "client_credentials"} {
		if _, oerr := register([]string{GrantAuthorizationCode, g}); oerr == nil || oerr.Code != "invalid_client_metadata" {
			t.Errorf("grant %s: %v, want invalid_client_metadata", g, oerr)
		}
	}
}
