// Package mcpserver is Authbridge's protected MCP endpoint: a stateless Streamable HTTP MCP
// server (github.com/modelcontextprotocol/go-sdk, JSON responses) whose tools act as the
// person who signed in. It sits behind the Lambda authorizer (package guard) and reads the
// caller's identity only from the API Gateway request context, checking audience, expiry and
// scopes again before any tool runs.
//
// Tools live in tools.go (the list) and one file each; see README.md for adding one.
package mcpserver

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/oauth"
)

// Directory is the part of WorkOS User Management the tools call on behalf of the signed-in
// person. *usermanagement.Client (upstream.SignIn.Client()) satisfies it.
type Directory interface {
	GetUser(ctx context.Context, opts usermanagement.GetUserOpts) (usermanagement.User, error)
	ListOrganizationMemberships(ctx context.Context, opts usermanagement.ListOrganizationMembershipsOpts) (usermanagement.ListOrganizationMembershipsResponse, error)
}

// Version is the server version reported in the MCP initialize result.
const Version = "1.0.0"

// maxBody bounds a request body (a JSON-RPC message). API Gateway accepts up to 10 MB.
const maxBody = 1 << 20

// Server is the MCP endpoint. Build it once per cold start with New; it is safe for
// concurrent use.
type Server struct {
	issuer     string
	origins    map[string]bool // allowed Origin values, canonical, the issuer's included
	routes     guard.Routes
	required   oauth.Scope            // REQUIRED_SCOPES: every request
	advertised oauth.Scope            // SCOPES_SUPPORTED: named in a 401, as in the resource metadata
	scopes     map[string]oauth.Scope // tool name → the scopes a call needs (REQUIRED_SCOPES included)
	dir        Directory
	log        *slog.Logger
	now        func() time.Time
	leeway     time.Duration // CLOCK_LEEWAY: skew tolerated on the token's exp

	mcp     *mcp.Server
	handler http.Handler
}

// New builds the MCP server and registers its tools.
func New(cfg config.Config, dir Directory, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		issuer:     cfg.Issuer,
		origins:    map[string]bool{cfg.IssuerOrigin(): true},
		routes:     guard.NewRoutes(cfg.Issuer, cfg.Resources),
		required:   cfg.RequiredScopes,
		advertised: cfg.Scopes,
		leeway:     cfg.ClockLeeway,
		scopes:     map[string]oauth.Scope{},
		dir:        dir,
		log:        log,
		now:        time.Now,
	}
	for _, o := range cfg.AllowedOrigins {
		s.origins[o] = true
	}
	// The SDK logs every (stateless, per-request) session at INFO; keep its warnings only.
	sdkLog := slog.New(minLevel{log.Handler(), slog.LevelWarn})
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "authbridge", Title: cfg.ResourceName, Version: Version}, &mcp.ServerOptions{
		Instructions: "Tools that act as the person who signed in to " + cfg.ResourceName + ".",
		// Stateless: no listChanged notifications can reach a client, and no logging channel.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
		Logger:       sdkLog,
	})
	s.registerTools()

	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, &mcp.StreamableHTTPOptions{
		Stateless:           true, // one Lambda invocation per request: no sessions, GET and DELETE get 405
		JSONResponse:        true, // API Gateway buffers responses: application/json, no SSE
		Logger:              sdkLog,
		MaxRequestBodyBytes: maxBody,
	})
	// The SDK hands tools the caller through RequestExtra.TokenInfo; its bearer middleware is
	// fed the identity this package has already checked (see serve), never a token it parses.
	bridge := auth.RequireBearerToken(s.tokenInfo, &auth.RequireBearerTokenOptions{ClockSkew: s.leeway})
	s.handler = bridge(sdk)
	return s
}

// WithClock replaces the clock used for the expiry check (tests).
func (s *Server) WithClock(now func() time.Time) *Server {
	s.now = now
	return s
}

// Handler is the HTTP handler of the MCP route; functions/mcp serves it through
// web.LambdaHandler, which drops any client-sent X-GoLambdaProxy-ApiGw-Context header.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Tools returns the registered tools and the scopes each one needs (README, tests).
func (s *Server) Tools() map[string]oauth.Scope {
	out := make(map[string]oauth.Scope, len(s.scopes))
	for k, v := range s.scopes {
		out[k] = v
	}
	return out
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.level && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(as), m.level}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{m.Handler.WithGroup(name), m.level}
}
