package authserver

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/web"
)

// ServerMetadata is the RFC 8414 document, also served as OpenID discovery.
type ServerMetadata struct {
	Issuer                                 string   `json:"issuer"`
	AuthorizationEndpoint                  string   `json:"authorization_endpoint"`
	TokenEndpoint                          string   `json:"token_endpoint"`
	RegistrationEndpoint                   string   `json:"registration_endpoint"`
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

// Metadata computes the RFC 8414 document from the configuration.
func (s *Server) Metadata() ServerMetadata {
	c := s.Config
	authMethods := []string{oauth.AuthMethodNone, oauth.AuthMethodClientSecretPost, oauth.AuthMethodClientSecretBasic}
	return ServerMetadata{
		Issuer:                                    c.Issuer,
		AuthorizationEndpoint:                     c.Endpoint(PathAuthorize),
		TokenEndpoint:                             c.Endpoint(PathToken),
		RegistrationEndpoint:                      c.Endpoint(PathRegister),
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

// serverMetadataHandler serves /.well-known/oauth-authorization-server and
// /.well-known/openid-configuration (RFC 8414 §3, OIDC Discovery §4). The path-inserted
// forms /.well-known/oauth-authorization-server{issuer path} (RFC 8414 §3.1) and
// /.well-known/openid-configuration{issuer path} (MCP's second probe) are answered too.
func (s *Server) serverMetadataHandler() http.Handler {
	return s.endpoint(PathASMetadata, web.CORS(web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, doc := range []string{PathASMetadata, PathOIDC} {
			if suffix, ok := strings.CutPrefix(r.URL.Path, doc+"/"); ok && "/"+suffix != s.Config.IssuerPath() {
				notFound(w)
				return
			}
		}
		publicJSON(w, s.Metadata())
	}), http.MethodGet, http.MethodHead)))
}

// ResourceMetadata is the RFC 9728 protected resource metadata document.
type ResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name"`
}

// resourceMetadataHandler serves /.well-known/oauth-protected-resource (the first resource)
// and, for each resource, the path oauth.ResourceMetadataPath gives it (RFC 9728 §3.1):
// …/mcp for {issuer}/mcp, …/crm.example.com/mcp for a companion MCP server at
// https://crm.example.com/mcp. It is never behind authentication (MCP authorization:
// metadata discovery).
func (s *Server) resourceMetadataHandler() http.Handler {
	return s.endpoint(PathPRM, web.CORS(web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resource, ok := s.resourceForPath(strings.TrimPrefix(r.URL.EscapedPath(), PathPRM))
		if !ok {
			notFound(w)
			return
		}
		publicJSON(w, ResourceMetadata{
			Resource:               resource,
			AuthorizationServers:   []string{s.Config.Issuer}, // byte-identical to the AS issuer
			ScopesSupported:        s.Config.Scopes,
			BearerMethodsSupported: []string{"header"},
			ResourceName:           s.Config.ResourceName,
		})
	}), http.MethodGet, http.MethodHead)))
}

// resourceForPath is the configured resource whose metadata is served at
// {issuer}/.well-known/oauth-protected-resource{suffix}: the first resource for no suffix,
// else the resource whose oauth.ResourceMetadataPath it is. A resource on the issuer's own
// origin also answers at its whole path (RFC 9728 §3.1 taken literally:
// /.well-known/oauth-protected-resource/Prod/mcp for https://h/Prod/mcp). A resource on
// another origin answers only at its host-qualified path, so it never takes the place of
// the issuer's own resource of the same path.
func (s *Server) resourceForPath(suffix string) (string, bool) {
	if suffix == "" || suffix == "/" {
		return s.Config.Resources[0], true
	}
	for _, res := range s.Config.Resources {
		if PathPRM+suffix == oauth.ResourceMetadataPath(s.Config.Issuer, res) {
			return res, true
		}
	}
	for _, res := range s.Config.Resources {
		if u, err := url.Parse(res); err == nil && oauth.SameOrigin(s.Config.Issuer, res) && u.EscapedPath() == suffix {
			return res, true
		}
	}
	return "", false
}

// jwksHandler serves every public key whose tokens are currently accepted (RFC 7517).
func (s *Server) jwksHandler() http.Handler {
	return s.endpoint(PathJWKS, web.CORS(web.Methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := s.Keys.JWKS()
		if err != nil {
			s.log().ErrorContext(r.Context(), "jwks could not be encoded", "outcome", "server_error", "error", err.Error())
			web.OAuthError(w, oauth.ErrServerError("keys unavailable"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	}), http.MethodGet, http.MethodHead)))
}

func publicJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	web.JSON(w, http.StatusOK, v)
}

func notFound(w http.ResponseWriter) {
	web.JSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such metadata document"})
}
