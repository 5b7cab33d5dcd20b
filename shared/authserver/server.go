// Package authserver is Authbridge's OAuth 2.1 authorization server as net/http handlers,
// one file per protocol message. Each Lambda function builds a Server with the
// dependencies its endpoint needs and serves one handler; tests serve them all from Routes.
package authserver

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// SignIn is the upstream identity provider (WorkOS AuthKit).
type SignIn interface {
	AuthorizationURL(state, codeChallenge string) (string, error)
	Authenticate(ctx context.Context, code, verifier, ipAddress, userAgent string) (upstream.Identity, error)
}

// Server holds the dependencies of the OAuth endpoints. A function sets only what its
// endpoint uses: metadata needs Config; JWKS needs Keys; token needs Store and Minter.
type Server struct {
	Config config.Config
	Store  *store.Store
	Minter *tokens.Minter
	Keys   *tokens.KeySet
	SignIn SignIn
	// Log receives the endpoints' log lines. Built with obs.NewHandler, every line carries
	// the request id, route, client_id and outcome (obs.Scope wraps each handler).
	Log *slog.Logger
	// Metrics receives the endpoints' EMF metrics; nil discards them.
	Metrics *obs.Metrics
	Now     func() time.Time
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// endpoint wraps an endpoint's handler with its request scope (obs.Scope: request id, route,
// client id for every log line and metric) and a recover that logs inside that scope.
func (s *Server) endpoint(route string, h http.Handler) http.Handler {
	return obs.Scope(route, web.Recover(h, s.log()))
}

// Paths of the OAuth endpoints, relative to the issuer.
const (
	PathRegister   = "/api/ext/auth/register"
	PathAuthorize  = "/api/ext/auth/authorize"
	PathConsent    = "/api/ext/auth/consent"
	PathCallback   = "/api/ext/auth/callback"
	PathToken      = "/api/ext/auth/token"
	PathRevoke     = "/api/ext/auth/revoke"
	PathJWKS       = "/.well-known/jwks.json"
	PathPRM        = "/.well-known/oauth-protected-resource"
	PathASMetadata = "/.well-known/oauth-authorization-server"
	PathOIDC       = "/.well-known/openid-configuration"
)

// Routes serves every OAuth endpoint from one mux, as API Gateway routes them to the
// functions in template.yaml. Used by tests and tools that run the server in one process.
func (s *Server) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathPRM, s.ResourceMetadataHandler())
	mux.Handle(PathPRM+"/", s.ResourceMetadataHandler())
	mux.Handle(PathASMetadata, s.ServerMetadataHandler())
	mux.Handle(PathASMetadata+"/", s.ServerMetadataHandler())
	mux.Handle(PathOIDC, s.ServerMetadataHandler())
	mux.Handle(PathOIDC+"/", s.ServerMetadataHandler())
	mux.Handle(PathJWKS, s.JWKSHandler())
	mux.Handle(PathRegister, s.RegisterHandler())
	mux.Handle(PathAuthorize, s.AuthorizeHandler())
	mux.Handle(PathConsent, s.ConsentHandler())
	mux.Handle(PathCallback, s.CallbackHandler())
	mux.Handle(PathToken, s.TokenHandler())
	mux.Handle(PathRevoke, s.RevokeHandler())
	// MCP 2025-03-26 fallback paths at the origin, for clients without metadata discovery.
	mux.Handle("/register", s.RegisterHandler())
	mux.Handle("/authorize", s.AuthorizeHandler())
	mux.Handle("/token", s.TokenHandler())
	return web.Recover(mux, s.log())
}
