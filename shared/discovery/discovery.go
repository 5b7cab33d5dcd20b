// Package discovery serves what an MCP client reads before anything else, from the
// configuration alone: the RFC 9728 protected resource metadata, the RFC 8414 authorization
// server metadata (also served as OpenID discovery), and the JWKS; and it holds the paths of
// the endpoints those documents name. It imports no AWS SDK client, no store and no WorkOS
// client, so that the functions serving these documents link none (issue 14, infra/sizes:
// resource-metadata and server-metadata at most 6.5 MB, jwks 8 MB). shared/authserver
// serves the same handlers in its endpoints table.
package discovery

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/web"
)

// Paths of the OAuth endpoints, relative to the issuer. Which function serves each, and
// with which methods, is the endpoints table (shared/authserver/endpoints.go).
const (
	PathRegister   = "/api/ext/auth/register"
	PathAuthorize  = "/api/ext/auth/authorize"
	PathConsent    = "/api/ext/auth/consent"
	PathCallback   = "/api/ext/auth/callback"
	PathToken      = "/api/ext/auth/token"
	PathRevoke     = "/api/ext/auth/revoke"
	PathIntrospect = "/api/ext/auth/introspect"
	PathWebhook    = "/api/ext/auth/workos-webhook"
	// PathConnectedApps is the page where a person sees and revokes the apps holding grants.
	PathConnectedApps = "/api/ext/auth/connected-apps"
	PathJWKS          = "/.well-known/jwks.json"
	PathPRM           = "/.well-known/oauth-protected-resource"
	PathASMetadata    = "/.well-known/oauth-authorization-server"
	PathOIDC          = "/.well-known/openid-configuration"
)

// ServerMetadata is the RFC 8414 document, also served as OpenID discovery.
type ServerMetadata struct {
	Issuer                                 string   `json:"issuer"`
	AuthorizationEndpoint                  string   `json:"authorization_endpoint"`
	TokenEndpoint                          string   `json:"token_endpoint"`
	RegistrationEndpoint                   string   `json:"registration_endpoint,omitempty"` // none when DYNAMIC_REGISTRATION=off
	RevocationEndpoint                     string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                  string   `json:"introspection_endpoint"`
	JWKSURI                                string   `json:"jwks_uri"`
	ResponseTypesSupported                 []string `json:"response_types_supported"`
	ResponseModesSupported                 []string `json:"response_modes_supported"`
	GrantTypesSupported                    []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported      []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported []string `json:"revocation_endpoint_auth_methods_supported"`
	// RFC 8414 §2: resource servers authenticate at the introspection endpoint with their own
	// credentials, by HTTP Basic only (RFC 7662 §2.1).
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	ScopesSupported                           []string `json:"scopes_supported"`
	AuthorizationResponseISSParameter         bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported         bool     `json:"client_id_metadata_document_supported"`
	// Required by OpenID Discovery §3; MCP clients read this document at
	// {issuer}/.well-known/openid-configuration (the only one an issuer with a stage path
	// can serve) and validate it as OIDC metadata. Authbridge issues no ID tokens.
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// NewServerMetadata computes the RFC 8414 document from the configuration.
func NewServerMetadata(c config.Config) ServerMetadata {
	authMethods := []string{oauth.AuthMethodNone, oauth.AuthMethodClientSecretPost, oauth.AuthMethodClientSecretBasic}
	registration := c.Endpoint(PathRegister)
	if c.RegistrationOff { // RFC 8414 §2: registration_endpoint is OPTIONAL
		registration = ""
	}
	return ServerMetadata{
		Issuer:                                    c.Issuer,
		AuthorizationEndpoint:                     c.Endpoint(PathAuthorize),
		TokenEndpoint:                             c.Endpoint(PathToken),
		RegistrationEndpoint:                      registration,
		RevocationEndpoint:                        c.Endpoint(PathRevoke),
		IntrospectionEndpoint:                     c.Endpoint(PathIntrospect),
		JWKSURI:                                   c.Endpoint(PathJWKS),
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{"query"},
		GrantTypesSupported:                       oauth.SupportedGrants(),
		CodeChallengeMethodsSupported:             []string{"S256"}, // MCP: MUST be present; OAuth 2.1: S256
		TokenEndpointAuthMethodsSupported:         authMethods,
		RevocationEndpointAuthMethodsSupported:    authMethods,
		IntrospectionEndpointAuthMethodsSupported: []string{oauth.AuthMethodClientSecretBasic},
		ScopesSupported:                           c.Scopes,
		AuthorizationResponseISSParameter:         true, // RFC 9207
		// MCP authorization 2026-07-28: https URL client_ids name a Client ID Metadata Document.
		ClientIDMetadataDocumentSupported: true,
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"ES256"},
	}
}

// ServerMetadataHandler serves /.well-known/oauth-authorization-server and
// /.well-known/openid-configuration (RFC 8414 §3, OIDC Discovery §4). The path-inserted
// forms /.well-known/oauth-authorization-server{issuer path} (RFC 8414 §3.1) and
// /.well-known/openid-configuration{issuer path} (MCP's second probe) are answered too.
func ServerMetadataHandler(c config.Config) http.Handler {
	return web.CORS(web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, doc := range []string{PathASMetadata, PathOIDC} {
			if suffix, ok := strings.CutPrefix(r.URL.Path, doc+"/"); ok && "/"+suffix != c.IssuerPath() {
				notFound(w)
				return
			}
		}
		publicJSON(w, NewServerMetadata(c))
	}), http.MethodGet, http.MethodHead))
}

// ResourceMetadata is the RFC 9728 protected resource metadata document.
type ResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name"`
}

// ResourceMetadataHandler serves /.well-known/oauth-protected-resource (the first resource)
// and, for each resource, the path oauth.ResourceMetadataPath gives it (RFC 9728 §3.1):
// …/mcp for {issuer}/mcp, …/crm.example.com/mcp for a companion MCP server at
// https://crm.example.com/mcp. It is never behind authentication (MCP authorization:
// metadata discovery).
func ResourceMetadataHandler(c config.Config) http.Handler {
	return web.CORS(web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resource, ok := resourceForPath(c, strings.TrimPrefix(r.URL.EscapedPath(), PathPRM))
		if !ok {
			notFound(w)
			return
		}
		publicJSON(w, ResourceMetadata{
			Resource:               resource,
			AuthorizationServers:   []string{c.Issuer}, // byte-identical to the AS issuer
			ScopesSupported:        c.Scopes,
			BearerMethodsSupported: []string{"header"},
			ResourceName:           c.ResourceName,
		})
	}), http.MethodGet, http.MethodHead))
}

// resourceForPath is the configured resource whose metadata is served at
// {issuer}/.well-known/oauth-protected-resource{suffix}: the first resource for no suffix,
// else the resource whose oauth.ResourceMetadataPath it is. A resource on the issuer's own
// origin also answers at its whole path (RFC 9728 §3.1 taken literally:
// /.well-known/oauth-protected-resource/Prod/mcp for https://h/Prod/mcp). A resource on
// another origin answers only at its host-qualified path, so it never takes the place of
// the issuer's own resource of the same path.
func resourceForPath(c config.Config, suffix string) (string, bool) {
	if suffix == "" || suffix == "/" {
		return c.Resources[0], true
	}
	for _, res := range c.Resources {
		if PathPRM+suffix == oauth.ResourceMetadataPath(c.Issuer, res) {
			return res, true
		}
	}
	for _, res := range c.Resources {
		if u, err := url.Parse(res); err == nil && oauth.SameOrigin(c.Issuer, res) && u.EscapedPath() == suffix {
			return res, true
		}
	}
	return "", false
}

// Keys are the public keys whose access tokens are accepted (shared/tokens.KeySet, loaded
// from KMS at cold start), as the JWKS document serves them.
type Keys interface {
	// JWKS is the RFC 7517 JWK Set of the keys.
	JWKS() ([]byte, error)
}

// JWKSHandler serves every public key whose tokens are currently accepted (RFC 7517).
func JWKSHandler(keys Keys, log *slog.Logger) http.Handler {
	return web.CORS(web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := keys.JWKS()
		if err != nil {
			log.ErrorContext(r.Context(), "jwks could not be encoded", "outcome", "server_error", "error", err.Error())
			web.OAuthError(w, oauth.ErrServerError("keys unavailable"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	}), http.MethodGet, http.MethodHead))
}

func publicJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	web.JSON(w, http.StatusOK, v)
}

func notFound(w http.ResponseWriter) {
	web.JSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such metadata document"})
}
