package authserver

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Endpoint is one OAuth endpoint as it is deployed: the paths and methods API Gateway routes
// to it, the Lambda function that serves it, the dependencies that function must be given,
// and how its handler is built. Endpoints lists them all; Routes, wiring (and so every
// functions/<name>/main.go), the template.yaml checks, the README diagram check and the
// events in events/ all read that list.
//
// The MCP route (/mcp) is not an OAuth endpoint: shared/mcpserver serves it behind the
// Lambda authorizer of shared/guard, and the checks that need it add it themselves.
type Endpoint struct {
	// Function is the folder under functions/ whose main package serves the endpoint; its
	// logical id in template.yaml is LogicalID().
	Function string
	// Paths are the exact paths served, relative to the issuer. The first is the endpoint's
	// own (metadata, logs and metrics name it); the others answer the same way: OpenID
	// discovery, and the MCP 2025-03-26 fallback paths at the origin.
	Paths []string
	// PathInserted: every path also answers below itself (path + "/…"), the path-inserted
	// well-known URIs of RFC 8414 §3.1 and RFC 9728 §3.1; template.yaml routes those as
	// path + "/{proxy+}".
	PathInserted bool
	// Methods are the methods API Gateway routes to the endpoint.
	Methods []string
	// CORS: browser-based MCP clients call the endpoint, so it answers the CORS preflight
	// and OPTIONS is routed to it too (Fetch standard). The browser pages (authorize,
	// consent, callback) never do (MCP security best practices).
	CORS bool
	// Needs are the Server fields its handler uses besides Config, Log, Metrics and Now.
	Needs []Dependency

	handler func(*Server) http.Handler
}

// Dependency names a Server field an endpoint needs.
type Dependency string

// The dependencies an endpoint may need; Handler refuses a Server without one.
const (
	NeedStore  Dependency = "Store"  // the DynamoDB store
	NeedMinter Dependency = "Minter" // the KMS access-token minter
	NeedKeys   Dependency = "Keys"   // the accepted public keys, at least one
	NeedSignIn Dependency = "SignIn" // the WorkOS AuthKit client
	// the WorkOS webhook configuration; its Secret may be empty (webhooks off, 404)
	NeedWebhooks Dependency = "Webhooks"
)

// The endpoints table. Adding an endpoint: its entry here (and in Endpoints), its handler,
// its functions/<name>/main.go and its routes in template.yaml (README: Adding an endpoint).
var (
	ResourceMetadataEndpoint = Endpoint{
		Function: "resource-metadata", Paths: []string{PathPRM}, PathInserted: true,
		Methods: []string{http.MethodGet}, CORS: true,
		handler: (*Server).resourceMetadataHandler,
	}
	ServerMetadataEndpoint = Endpoint{
		Function: "server-metadata", Paths: []string{PathASMetadata, PathOIDC}, PathInserted: true,
		Methods: []string{http.MethodGet}, CORS: true,
		handler: (*Server).serverMetadataHandler,
	}
	JWKSEndpoint = Endpoint{
		Function: "jwks", Paths: []string{PathJWKS},
		Methods: []string{http.MethodGet}, CORS: true, Needs: []Dependency{NeedKeys},
		handler: (*Server).jwksHandler,
	}
	RegisterEndpoint = Endpoint{
		Function: "register", Paths: []string{PathRegister, "/register"},
		Methods: []string{http.MethodPost}, CORS: true, Needs: []Dependency{NeedStore},
		handler: (*Server).registerHandler,
	}
	AuthorizeEndpoint = Endpoint{
		Function: "authorize", Paths: []string{PathAuthorize, "/authorize"},
		Methods: []string{http.MethodGet}, Needs: []Dependency{NeedStore, NeedSignIn},
		handler: (*Server).authorizeHandler,
	}
	ConsentEndpoint = Endpoint{
		Function: "consent", Paths: []string{PathConsent},
		Methods: []string{http.MethodPost}, Needs: []Dependency{NeedStore, NeedSignIn},
		handler: (*Server).consentHandler,
	}
	CallbackEndpoint = Endpoint{
		Function: "callback", Paths: []string{PathCallback},
		Methods: []string{http.MethodGet}, Needs: []Dependency{NeedStore, NeedSignIn},
		handler: (*Server).callbackHandler,
	}
	TokenEndpoint = Endpoint{
		Function: "token", Paths: []string{PathToken, "/token"},
		// SignIn: a refresh follows the person's WorkOS session (one WorkOS refresh).
		Methods: []string{http.MethodPost}, CORS: true, Needs: []Dependency{NeedStore, NeedMinter, NeedSignIn},
		handler: (*Server).tokenHandler,
	}
	RevokeEndpoint = Endpoint{
		Function: "revoke", Paths: []string{PathRevoke},
		Methods: []string{http.MethodPost}, CORS: true, Needs: []Dependency{NeedStore},
		handler: (*Server).revokeHandler,
	}
	// IntrospectEndpoint answers resource servers on other hosts (companion mode, RFC 7662),
	// authenticated with their own credentials; server to server, so no CORS.
	IntrospectEndpoint = Endpoint{
		Function: "introspect", Paths: []string{PathIntrospect},
		Methods: []string{http.MethodPost}, Needs: []Dependency{NeedStore, NeedKeys},
		handler: (*Server).introspectHandler,
	}
	// ConnectedAppsEndpoint is the person's page of the apps holding their grants: sign-in
	// through WorkOS (the callback opens it), the list, and revocation (connectedapps.go).
	ConnectedAppsEndpoint = Endpoint{
		Function: "connected-apps", Paths: []string{PathConnectedApps},
		Methods: []string{http.MethodGet, http.MethodPost}, Needs: []Dependency{NeedStore, NeedSignIn},
		handler: (*Server).connectedAppsHandler,
	}
	// WebhookEndpoint receives WorkOS's signed events (user deleted, membership ended,
	// session revoked) and revokes the grants they end; server to server, so no CORS.
	WebhookEndpoint = Endpoint{
		Function: "webhook", Paths: []string{PathWebhook},
		Methods: []string{http.MethodPost}, Needs: []Dependency{NeedStore, NeedWebhooks},
		handler: (*Server).webhookHandler,
	}
)

// Endpoints returns every OAuth endpoint, in the order of the request flow.
func Endpoints() []Endpoint {
	return []Endpoint{
		ResourceMetadataEndpoint, ServerMetadataEndpoint, JWKSEndpoint, RegisterEndpoint,
		AuthorizeEndpoint, ConsentEndpoint, CallbackEndpoint, TokenEndpoint, RevokeEndpoint,
		IntrospectEndpoint, WebhookEndpoint, ConnectedAppsEndpoint,
	}
}

// LogicalID is the endpoint's function in template.yaml: token -> TokenFunction,
// resource-metadata -> ResourceMetadataFunction.
func (e Endpoint) LogicalID() string {
	var b strings.Builder
	for _, part := range strings.Split(e.Function, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + "Function"
}

// RoutedMethods are the methods API Gateway routes to the endpoint: Methods, and OPTIONS
// when it answers CORS preflights.
func (e Endpoint) RoutedMethods() []string {
	methods := append([]string(nil), e.Methods...)
	if e.CORS {
		methods = append(methods, http.MethodOptions)
	}
	return methods
}

// Handler returns endpoint e's handler, or an error naming every dependency of e that s
// lacks. Functions call it at cold start, so that an incomplete wiring stops the function
// before it answers anything instead of failing each request with a nil-pointer 500.
func (s *Server) Handler(e Endpoint) (http.Handler, error) {
	if e.handler == nil {
		return nil, fmt.Errorf("authserver: functions/%s is not an endpoint of the table", e.Function)
	}
	var missing []string
	if s.Config.Issuer == "" || len(s.Config.Resources) == 0 {
		missing = append(missing, "Config (issuer and protected resources)")
	}
	for _, d := range e.Needs {
		if !s.has(d) {
			missing = append(missing, string(d))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("authserver: the %s endpoint (%s) cannot start: missing %s", e.Function, e.LogicalID(), strings.Join(missing, ", "))
	}
	return e.handler(s), nil
}

// onlyNeeds is a copy of s holding only the dependencies e declares, as wiring builds them
// for e's function.
func (s *Server) onlyNeeds(e Endpoint) *Server {
	c := *s
	if !slices.Contains(e.Needs, NeedStore) {
		c.Store = nil
	}
	if !slices.Contains(e.Needs, NeedMinter) {
		c.Minter = nil
	}
	if !slices.Contains(e.Needs, NeedKeys) {
		c.Keys = nil
	}
	if !slices.Contains(e.Needs, NeedSignIn) {
		c.SignIn = nil
	}
	if !slices.Contains(e.Needs, NeedWebhooks) {
		c.Webhooks = nil
	}
	return &c
}

// has reports whether s holds dependency d; a dependency the table does not know is never
// held.
func (s *Server) has(d Dependency) bool {
	switch d {
	case NeedStore:
		return s.Store != nil
	case NeedMinter:
		return s.Minter != nil
	case NeedKeys:
		return len(s.Keys.KeyIDs()) > 0
	case NeedWebhooks:
		return s.Webhooks != nil
	case NeedSignIn:
		if s.SignIn == nil {
			return false
		}
		// An interface holding a nil pointer is not nil, yet every call through it panics.
		v := reflect.ValueOf(s.SignIn)
		return !(v.Kind() == reflect.Pointer && v.IsNil())
	}
	return false
}
