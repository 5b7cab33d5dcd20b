package wellknown_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/discovery"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
	"github.com/authbridge/authbridge/shared/wiring/wellknown"
)

// TestAnswersAsTheEndpointsTable: each function this package starts answers every request
// (documents, path-inserted forms, unknown suffixes, preflight, refused methods) byte for
// byte as the endpoints table's handler of the same function, for an issuer at a host root
// and one with a stage path and a companion resource.
func TestAnswersAsTheEndpointsTable(t *testing.T) {
	keyID := testenv.NewSigningKey(t, testenv.KMS(t))
	keys, err := tokens.LoadKeySet(context.Background(), testenv.KMS(t), []string{keyID})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{
		{"ISSUER": "https://auth.example.com"},
		{"ISSUER": "https://abc.execute-api.us-east-1.amazonaws.com/Prod",
			"PROTECTED_RESOURCES": "https://abc.execute-api.us-east-1.amazonaws.com/Prod/mcp,https://crm.example.com/mcp"},
	} {
		t.Setenv("PROTECTED_RESOURCES", "")
		for k, v := range env {
			t.Setenv(k, v)
		}
		cfg, err := config.FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		lenv := lambdaenv.Env{Config: cfg, Log: slog.New(slog.DiscardHandler)}
		srv := &authserver.Server{Config: cfg, Keys: keys, Log: lenv.Log}
		for e, h := range map[*authserver.Endpoint]http.Handler{
			&authserver.ResourceMetadataEndpoint: wellknown.ResourceMetadata(lenv),
			&authserver.ServerMetadataEndpoint:   wellknown.ServerMetadata(lenv),
			&authserver.JWKSEndpoint:             wellknown.JWKS(lenv, keys),
		} {
			table, err := srv.Handler(*e)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, p := range e.Paths {
				paths = append(paths, p, p+"/", p+"/mcp", p+"/Prod", p+"/Prod/mcp", p+"/crm.example.com/mcp", p+"/x")
			}
			for _, path := range paths {
				for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost} {
					got, want := answer(h, method, path), answer(table, method, path)
					if got != want {
						t.Errorf("%s %s %s (functions/%s):\n%s\nthe endpoints table answers:\n%s", cfg.Issuer, method, path, e.Function, got, want)
					}
				}
			}
		}
	}
}

func answer(h http.Handler, method, path string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n", rec.Code)
	_ = rec.Header().Write(&b)
	b.Write(rec.Body.Bytes())
	return b.String()
}

// TestServerMetadataDocument: the RFC 8414 document, byte for byte, as the functions served
// it before it moved to shared/discovery.
func TestServerMetadataDocument(t *testing.T) {
	t.Setenv("ISSUER", "https://auth.example.com")
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	lenv := lambdaenv.Env{Config: cfg, Log: slog.New(slog.DiscardHandler)}
	want := `{"issuer":"https://auth.example.com","authorization_endpoint":"https://auth.example.com/api/ext/auth/authorize","token_endpoint":"https://auth.example.com/api/ext/auth/token","registration_endpoint":"https://auth.example.com/api/ext/auth/register","revocation_endpoint":"https://auth.example.com/api/ext/auth/revoke","introspection_endpoint":"https://auth.example.com/api/ext/auth/introspect","jwks_uri":"https://auth.example.com/.well-known/jwks.json","response_types_supported":["code"],"response_modes_supported":["query"],"grant_types_supported":["authorization_code","refresh_token"],"code_challenge_methods_supported":["S256"],"token_endpoint_auth_methods_supported":["none","client_secret_post","client_secret_basic"],"revocation_endpoint_auth_methods_supported":["none","client_secret_post","client_secret_basic"],"introspection_endpoint_auth_methods_supported":["client_secret_basic"],"scopes_supported":["mcp:tools","orgs:read"],"authorization_response_iss_parameter_supported":true,"client_id_metadata_document_supported":true,"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256"]}`
	for _, path := range []string{discovery.PathASMetadata, discovery.PathOIDC} {
		rec := httptest.NewRecorder()
		wellknown.ServerMetadata(lenv).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Body.String() != want {
			t.Errorf("%s:\n%s\nwant\n%s", path, rec.Body, want)
		}
	}
	rec := httptest.NewRecorder()
	wellknown.ResourceMetadata(lenv).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, discovery.PathPRM+"/mcp", nil))
	if want := `{"resource":"https://auth.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:tools","orgs:read"],"bearer_methods_supported":["header"],"resource_name":"Authbridge MCP"}`; rec.Body.String() != want {
		t.Errorf("%s/mcp:\n%s\nwant\n%s", discovery.PathPRM, rec.Body, want)
	}
}
