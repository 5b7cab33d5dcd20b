package doctor

// Client is how one MCP client finds, registers with and calls an authorization server:
// the one table (Clients) every per-client rule of doctor reads. The registrations are
// shared/testenv/realclients.json's (TestClientsMatchRealClients keeps them equal); the
// discovery orders follow the MCP authorization specification each client implements and
// the clients' own code or reports where they differ from it.
type Client struct {
	Key  string // short name in the table
	Name string
	// RealClient is the realclients.json entry whose registration the client sends; empty
	// when the data set has none (Registration then says where it comes from).
	RealClient string
	// Registration is the RFC 7591 request body the client sends to registration_endpoint.
	Registration Registration
	// PRMFallback: without resource_metadata in the 401 challenge, the client tries
	// /.well-known/oauth-protected-resource{path} and then at the root (MCP authorization
	// 2025-11-25, "Protected Resource Metadata Discovery Requirements"). The others stop.
	PRMFallback bool
	// Discovery is the authorization server metadata URLs the client derives from the issuer,
	// in order; the first that answers a metadata document is used.
	Discovery []WellKnown
	// LegacyFallback: without any metadata document the client uses the MCP 2025-03-26
	// default endpoints /authorize, /token and /register at the MCP URL's origin root.
	LegacyFallback bool
	// LegacySeen: the client has been seen calling those paths even when metadata exists
	// (realclients.json notes); doctor warns when they do not answer.
	LegacySeen bool
	// CIMD is the client's Client ID Metadata Document URL: with
	// client_id_metadata_document_supported it uses that URL as client_id instead of
	// registering (MCP authorization 2025-11-25, "Client ID Metadata Documents").
	CIMD string
	// BrowserOrigin is the origin of the page the client runs in; empty for clients that
	// call from a server or a native app (no CORS).
	BrowserOrigin string
	// BrowserRequired: a CORS refusal stops the client (it runs only in a browser); else it
	// is a warning (an optional browser surface).
	BrowserRequired bool
	// OIDCStrict: a document found at an openid-configuration URL must carry OpenID
	// Discovery's required fields (the TS SDK validates it as OIDC metadata; docs/decisions.md).
	OIDCStrict bool
}

// Registration is the part of RFC 7591 §2 client metadata the clients send.
type Registration struct {
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   *string  `json:"scope,omitempty"`
}

// WellKnown is one way of deriving an authorization server metadata URL from an issuer.
type WellKnown int

const (
	// OAuthInserted is /.well-known/oauth-authorization-server{issuer path} (RFC 8414 §3.1).
	OAuthInserted WellKnown = iota
	// OIDCInserted is /.well-known/openid-configuration{issuer path} (MCP authorization 2025-11-25).
	OIDCInserted
	// OIDCAppended is {issuer}/.well-known/openid-configuration (OpenID Connect Discovery §4):
	// the only one of the three an API Gateway stage (/Prod) can serve.
	OIDCAppended
	// OAuthRoot is /.well-known/oauth-authorization-server at the issuer's origin, the issuer
	// path dropped (MCP 2025-03-26 clients; the Python SDK's last try).
	OAuthRoot
)

func (w WellKnown) String() string {
	return [...]string{"oauth-authorization-server{path}", "openid-configuration{path}", "{issuer}/openid-configuration", "oauth-authorization-server at root"}[w]
}

// specOrder is MCP authorization 2025-11-25's order ("Authorization Server Metadata
// Discovery"): path insertion for OAuth, then for OpenID, then OpenID path appending; for
// an issuer without a path the first two only (URL deduplicates them).
var specOrder = []WellKnown{OAuthInserted, OIDCInserted, OIDCAppended}

var (
	codeAndRefresh = []string{"authorization_code", "refresh_token"}
	codeOnly       = []string{"code"}
	emptyScope     = ""
)

// Clients are the clients doctor checks, in the order of its table.
var Clients = []Client{
	{
		// The SDK's client, as MCP Inspector runs it in the browser (realclients.json's entry).
		// discoverOAuthProtectedResourceMetadata falls back to the well-known URLs;
		// discoverAuthorizationServerMetadata follows the spec order; without metadata,
		// startAuthorization and exchangeAuthorization use /authorize, /token, /register.
		Key: "ts-sdk", Name: "MCP TypeScript SDK (MCP Inspector in the browser)", RealClient: "MCP Inspector",
		Registration: Registration{ClientName: "MCP Inspector",
			RedirectURIs:            []string{"http://localhost:6274/oauth/callback", "http://localhost:6274/oauth/callback/debug"},
			TokenEndpointAuthMethod: "none", GrantTypes: codeAndRefresh, ResponseTypes: codeOnly, Scope: &emptyScope},
		PRMFallback: true, Discovery: specOrder, LegacyFallback: true,
		BrowserOrigin: "http://localhost:6274", BrowserRequired: true, OIDCStrict: true,
	},
	{
		// Not in realclients.json: the registration of the SDK's examples/clients/simple-auth-client
		// (OAuthClientMetadata's default auth method is client_secret_post). Its discovery also
		// tries the root oauth-authorization-server last, then the 2025-03-26 paths.
		Key: "python-sdk", Name: "MCP Python SDK",
		Registration: Registration{ClientName: "Simple Auth Client",
			RedirectURIs:            []string{"http://localhost:3030/callback"},
			TokenEndpointAuthMethod: "client_secret_post", GrantTypes: codeAndRefresh, ResponseTypes: codeOnly},
		PRMFallback: true, Discovery: append(append([]WellKnown{}, specOrder...), OAuthRoot), LegacyFallback: true,
	},
	{
		// Calls from OpenAI's servers; the chatgpt.com page is an optional browser surface.
		Key: "chatgpt", Name: "ChatGPT connectors", RealClient: "ChatGPT connectors",
		Registration: Registration{ClientName: "ChatGPT",
			RedirectURIs:            []string{"https://chatgpt.com/connector_platform_oauth_redirect"},
			TokenEndpointAuthMethod: "none", GrantTypes: codeAndRefresh, ResponseTypes: codeOnly},
		Discovery: specOrder, BrowserOrigin: "https://chatgpt.com",
	},
	{
		// Registers from its backend as a confidential client; has been seen using the
		// 2025-03-26 paths directly (realclients.json notes).
		Key: "claude", Name: "Claude (claude.ai, Claude Desktop connectors)", RealClient: "Claude (claude.ai, Claude Desktop connectors)",
		Registration: Registration{ClientName: "Claude",
			RedirectURIs:            []string{"https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"},
			TokenEndpointAuthMethod: "client_secret_post", GrantTypes: codeAndRefresh, ResponseTypes: codeOnly},
		Discovery: specOrder, LegacyFallback: true, LegacySeen: true,
	},
	{
		Key: "cursor", Name: "Cursor", RealClient: "Cursor",
		Registration: Registration{ClientName: "Cursor",
			RedirectURIs:            []string{"cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback", "http://localhost:8787/callback"},
			TokenEndpointAuthMethod: "none", GrantTypes: codeAndRefresh, ResponseTypes: codeOnly},
		Discovery: specOrder,
	},
	{
		Key: "vscode", Name: "VS Code", RealClient: "VS Code",
		Registration: Registration{ClientName: "Visual Studio Code",
			RedirectURIs:            []string{"https://insiders.vscode.dev/redirect", "https://vscode.dev/redirect", "http://127.0.0.1/", "http://127.0.0.1:33418/"},
			TokenEndpointAuthMethod: "none", GrantTypes: codeAndRefresh, ResponseTypes: codeOnly},
		PRMFallback: true, Discovery: specOrder, CIMD: "https://vscode.dev/oauth/client-metadata.json",
	},
}

// ClientByKey returns the client with that Key.
func ClientByKey(key string) (Client, bool) {
	for _, c := range Clients {
		if c.Key == key {
			return c, true
		}
	}
	return Client{}, false
}
