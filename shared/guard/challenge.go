package guard

import (
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
)

// PathResourceMetadata is where RFC 9728 metadata is served, relative to the issuer.
const PathResourceMetadata = oauth.PathProtectedResourceMetadata

// MetadataURL is the URL at which Authbridge publishes the RFC 9728 metadata of resource
// (canonical form, as config holds it), the URL a WWW-Authenticate challenge names in
// resource_metadata (RFC 9728 §5.1). On the issuer's origin:
// {issuer}/.well-known/oauth-protected-resource{path below the issuer's} (docs/decisions.md:
// the issuer may carry a stage prefix, so the well-known path goes after it); on another
// origin (companion mode): {issuer}/.well-known/oauth-protected-resource/<host[:port]><path>.
// Every place that builds the URL calls this (oauth.ResourceMetadataPath).
func MetadataURL(issuer, resource string) string {
	return issuer + oauth.ResourceMetadataPath(issuer, resource)
}

// ResourceMetadataURL is the RFC 9728 metadata URL of the route's resource as Authbridge
// serves it: MetadataURL of r.Resource; for a Route without a Resource,
// {issuer}/.well-known/oauth-protected-resource{route path}.
func ResourceMetadataURL(issuer string, r Route) string {
	if r.Resource != "" {
		return MetadataURL(issuer, r.Resource)
	}
	if r.Path == "/" {
		return issuer + PathResourceMetadata
	}
	return issuer + PathResourceMetadata + r.Path
}

// GatewayChallenge is the WWW-Authenticate value of the API Gateway's 401 (the UNAUTHORIZED
// gateway response in template.yaml), and of any 401 to a request that sent no credentials:
// RFC 9728 §5.1 resource_metadata, the scopes to ask for, and no error code.
// API Gateway answers a request without Authorization and one whose token the authorizer
// refused with the same static response, and RFC 6750 §3.1 says a request without
// credentials SHOULD get no error code, while for a refused token it is optional.
// MCP authorization (scope selection): a 401 SHOULD name scope; it names the resource
// metadata's scopes_supported, the set basic use needs (docs/decisions.md "Scopes in
// challenges"), so a client asks for the same scopes whether it reads the header or the
// metadata.
func GatewayChallenge(prmURL string, scope oauth.Scope) string {
	return `Bearer resource_metadata="` + quoted(prmURL) + `", scope="` + quoted(scope.String()) + `"`
}

// InvalidTokenChallenge is the WWW-Authenticate value of the MCP function's own 401: RFC 6750
// §3.1 invalid_token, with RFC 9728 §5.1 resource_metadata (MCP: the discovery path from a
// 401) and the scopes to ask for, as GatewayChallenge.
func InvalidTokenChallenge(prmURL string, scope oauth.Scope) string {
	return `Bearer error="invalid_token", resource_metadata="` + quoted(prmURL) + `", scope="` + quoted(scope.String()) + `"`
}

// InsufficientScopeChallenge is the WWW-Authenticate value of a 403: RFC 6750 §3.1
// insufficient_scope with the scopes the request needs (MCP: step-up authorization).
func InsufficientScopeChallenge(scope oauth.Scope, prmURL string) string {
	return `Bearer error="insufficient_scope", scope="` + quoted(scope.String()) + `", resource_metadata="` + quoted(prmURL) + `"`
}

// quoted escapes a value for an RFC 9110 §5.6.4 quoted-string.
func quoted(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
