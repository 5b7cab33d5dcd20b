// Package authserver is Authbridge's OAuth 2.1 authorization server as net/http handlers,
// one file per protocol message, listed in one table (endpoints.go). Each Lambda function
// builds a Server with the dependencies its endpoint needs and serves one handler; tests
// serve them all from Routes.
package authserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/discovery"
	"github.com/authbridge/authbridge/shared/oauth"
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
	// Refresh exchanges the person's WorkOS refresh token for their current identity and
	// WorkOS's next refresh token; upstream.ErrSessionEnded when WorkOS refuses it.
	Refresh(ctx context.Context, refreshToken, organizationID string) (upstream.Identity, error)
}

// Server holds the dependencies of the OAuth endpoints. A function sets only what its
// endpoint needs (the endpoints table's Needs) and gets its handler from Handler, which
// refuses an incomplete Server.
type Server struct {
	Config config.Config
	Store  *store.Store
	Minter *tokens.Minter
	Keys   *tokens.KeySet
	SignIn SignIn
	// ClientDocuments fetches Client ID Metadata Documents for https URL client_ids; nil: a
	// clientid.Fetcher per process, made on first use (clients.go).
	ClientDocuments ClientDocuments
	// Webhooks is the WorkOS webhook endpoint's configuration (webhook.go).
	Webhooks *Webhooks
	// Log receives the endpoints' log lines. Built with obs.NewHandler, every line carries
	// the request id, route, client_id and outcome (obs.Scope wraps each handler).
	Log *slog.Logger
	// Metrics receives the endpoints' EMF metrics; nil discards them.
	Metrics *obs.Metrics
	Now     func() time.Time
	// RequestBudget bounds each request (its context's deadline), so that a dependency that
	// hangs is answered with 503 temporarily_unavailable before the function's timeout;
	// zero: no bound of its own (wiring sets wiring.RequestBudget).
	RequestBudget time.Duration
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
	return obs.Scope(route, web.Recover(s.withBudget(h), s.log()))
}

// withBudget gives each request the deadline RequestBudget.
func (s *Server) withBudget(h http.Handler) http.Handler {
	if s.RequestBudget <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.RequestBudget)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Paths of the OAuth endpoints, relative to the issuer: shared/discovery's, which the
// metadata names. Which function serves each, and with which methods, is the endpoints table
// (endpoints.go).
const (
	PathRegister      = discovery.PathRegister
	PathAuthorize     = discovery.PathAuthorize
	PathConsent       = discovery.PathConsent
	PathCallback      = discovery.PathCallback
	PathToken         = discovery.PathToken
	PathRevoke        = discovery.PathRevoke
	PathIntrospect    = discovery.PathIntrospect
	PathWebhook       = discovery.PathWebhook
	PathConnectedApps = discovery.PathConnectedApps
	PathJWKS          = discovery.PathJWKS
	PathPRM           = discovery.PathPRM
	PathASMetadata    = discovery.PathASMetadata
	PathOIDC          = discovery.PathOIDC
)

// Routes serves every endpoint of the table from one mux, at every path API Gateway routes
// to its function. Used by tests and tools that run the server in one process; it fails
// when s lacks a dependency of any endpoint.
func (s *Server) Routes() (http.Handler, error) {
	mux := http.NewServeMux()
	var errs []error
	for _, e := range Endpoints() {
		if _, err := s.Handler(e); err != nil {
			errs = append(errs, err)
			continue
		}
		// As in its function, the endpoint sees only the dependencies it declares, so every
		// test through Routes proves its Needs complete. They are read from s at each request:
		// tests adjust s while it serves.
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asDeployed, err := s.onlyNeeds(e).Handler(e)
			if err != nil {
				s.log().ErrorContext(r.Context(), "endpoint cannot serve", "outcome", "server_error", "error", err.Error())
				web.OAuthError(w, oauth.ErrServerError("the server is missing a dependency"))
				return
			}
			asDeployed.ServeHTTP(w, r)
		})
		for _, path := range e.Paths {
			mux.Handle(path, h)
			if e.PathInserted {
				mux.Handle(path+"/", h)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return web.Recover(mux, s.log()), nil
}
