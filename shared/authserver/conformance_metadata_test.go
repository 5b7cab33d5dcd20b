package authserver_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
)

// checkServerMetadata checks every RFC 8414 §2 member Authbridge must publish, by value.
func checkServerMetadata(t *testing.T, issuer string, meta map[string]any) {
	t.Helper()
	want := map[string]any{
		"issuer":                 issuer,
		"authorization_endpoint": issuer + authserver.PathAuthorize,
		"token_endpoint":         issuer + authserver.PathToken,
		"registration_endpoint":  issuer + authserver.PathRegister,
		"jwks_uri":               issuer + authserver.PathJWKS,
		"revocation_endpoint":    issuer + authserver.PathRevoke,
		"introspection_endpoint": issuer + authserver.PathIntrospect,
		"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic"},
		"response_types_supported":                       []any{"code"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []any{"S256"},
		"token_endpoint_auth_methods_supported":          []any{"none", "client_secret_post", "client_secret_basic"},
		"scopes_supported":                               []any{"mcp:tools", "orgs:read"},
		"authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if !reflect.DeepEqual(meta[k], v) {
			t.Errorf("%s = %#v, want %#v", k, meta[k], v)
		}
	}
}

// RFC 8414 §3 (and §2 member list); MCP authorization: code_challenge_methods_supported MUST be present.
func TestRFC8414_ServerMetadataFields(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	var meta map[string]any
	getJSON(t, s.Issuer+authserver.PathASMetadata, &meta)
	checkServerMetadata(t, s.Issuer, meta)

	// OIDC Discovery §4: the same document at /.well-known/openid-configuration.
	var oidc map[string]any
	getJSON(t, s.Issuer+authserver.PathOIDC, &oidc)
	if !reflect.DeepEqual(meta, oidc) {
		t.Fatalf("openid-configuration differs from oauth-authorization-server:\n%v\n%v", oidc, meta)
	}
}

// RFC 9728 §3: protected resource metadata at the root and at the path-inserted /mcp form.
func TestRFC9728_ProtectedResourceMetadata(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, path := range []string{authserver.PathPRM, authserver.PathPRM + "/mcp"} {
		var prm map[string]any
		getJSON(t, s.Issuer+path, &prm)
		want := map[string]any{
			"resource":                 s.Issuer + "/mcp",
			"authorization_servers":    []any{s.Issuer}, // MCP: byte-identical to the AS issuer
			"scopes_supported":         []any{"mcp:tools", "orgs:read"},
			"bearer_methods_supported": []any{"header"},
			"resource_name":            "Authbridge MCP",
		}
		if !reflect.DeepEqual(prm, want) {
			t.Fatalf("%s = %v, want %v", path, prm, want)
		}
	}
}

// RFC 9728 §3.2 / RFC 8414 §3.2: a metadata path that names no resource or issuer is a 404.
func TestRFC8414_RFC9728_UnknownSuffixIs404(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, path := range []string{
		authserver.PathPRM + "/other", authserver.PathPRM + "/mcp/extra",
		authserver.PathASMetadata + "/Prod", authserver.PathASMetadata + "/x",
	} {
		r := do(t, http.MethodGet, s.Issuer+path, "", "")
		if r.Status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.Status)
		}
	}
}

// MCP authorization (discovery): for an issuer with a path, the client probes
// /.well-known/oauth-authorization-server/p, /.well-known/openid-configuration/p, then
// /p/.well-known/openid-configuration; behind an API Gateway stage (/Prod) one of them works.
func TestMCPDiscovery_IssuerWithPath(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{envStage: "/Prod"})
	host := s.Issuer[:len(s.Issuer)-len("/Prod")]

	var found map[string]any
	for _, probe := range []string{
		host + "/.well-known/oauth-authorization-server/Prod",
		host + "/.well-known/openid-configuration/Prod",
		host + "/Prod/.well-known/openid-configuration",
	} {
		r := do(t, http.MethodGet, probe, "", "")
		if r.Status == http.StatusOK {
			found = r.json(t)
			break
		}
	}
	if found == nil {
		t.Fatal("no discovery probe of the MCP order answered")
	}
	// RFC 8414 §3.3: issuer identical to the one the URL was built from.
	checkServerMetadata(t, s.Issuer, found)

	// RFC 8414 §3.1: the path-inserted form answers (as the handler sees it behind the stage).
	var inserted map[string]any
	getJSON(t, s.Issuer+authserver.PathASMetadata+"/Prod", &inserted)
	checkServerMetadata(t, s.Issuer, inserted)
	var plain map[string]any
	getJSON(t, s.Issuer+authserver.PathASMetadata, &plain)
	checkServerMetadata(t, s.Issuer, plain)
	if r := do(t, http.MethodGet, s.Issuer+authserver.PathASMetadata+"/Other", "", ""); r.Status != http.StatusNotFound {
		t.Fatalf("path-inserted form for another issuer path: %d, want 404", r.Status)
	}

	// RFC 9728 §3.1: the resource is {issuer}/mcp = /Prod/mcp; both path forms find it.
	for _, path := range []string{authserver.PathPRM, authserver.PathPRM + "/mcp", authserver.PathPRM + "/Prod/mcp"} {
		var prm map[string]any
		getJSON(t, s.Issuer+path, &prm)
		if prm["resource"] != s.Issuer+"/mcp" || !reflect.DeepEqual(prm["authorization_servers"], []any{s.Issuer}) {
			t.Fatalf("%s: %v", path, prm)
		}
	}

	// The whole flow works under the stage: the token's aud is the staged resource.
	clientID := s.publicClient(t, "Staged", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:5555/cb", "")
	claims := verifyWithJWKS(t, s.Issuer, str(tok, "access_token"))
	if claims["aud"] != s.Issuer+"/mcp" || claims["iss"] != s.Issuer {
		t.Fatalf("claims under a stage: %v", claims)
	}
}

// RFC 7517 §5: the JWKS lists public keys only.
func TestRFC7517_JWKSPublicKeysOnly(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, s.Issuer+authserver.PathJWKS, &set)
	if len(set.Keys) == 0 {
		t.Fatal("JWKS has no keys")
	}
	for _, k := range set.Keys {
		if _, private := k["d"]; private {
			b, _ := json.Marshal(k)
			t.Fatalf("JWKS publishes a private key: %s", b)
		}
		if k["kid"] == nil || k["kty"] != "EC" {
			t.Fatalf("key: %v", k)
		}
	}
}
