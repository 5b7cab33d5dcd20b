// Command sample-mcp-server is an MCP server that runs at its own URL, apart from Authbridge,
// and accepts Authbridge's access tokens itself (companion mode, package
// shared/resourceserver). Its one tool, whoami, reports the identity it received.
//
//	sample-mcp-server -addr 127.0.0.1:5310 -issuer https://auth.example.com \
//	    -resource http://127.0.0.1:5310/mcp -validate jwks
//
// The resource URL must be one of Authbridge's PROTECTED_RESOURCES. -validate jwks verifies
// tokens locally against Authbridge's JWKS; -validate introspect asks Authbridge about each
// token (RFC 7662) with the credentials in INTROSPECTION_CLIENT_ID and
// INTROSPECTION_CLIENT_SECRET. Every flag can also be set in the environment (ADDR, ISSUER,
// RESOURCE, VALIDATE).
//
// -validate gateway makes it an upstream behind an Authbridge front door (docs/front-door.md):
// -resource is then its own URL, FRONT_DOOR_N_UPSTREAM, which is never a protected resource.
// It accepts only the gateway's assertion (fromGateway) and takes the identity from it. For
// tests, whoami then also reports the X-Authbridge-* headers and every request header it
// received, values included — a sample's debugging aid that a real server must not copy.
//
//	sample-mcp-server -addr 127.0.0.1:5311 -issuer https://auth.example.com \
//	    -resource http://127.0.0.1:5311/mcp -validate gateway
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/authbridge/authbridge/shared/resourceserver"
)

func main() {
	addr := flag.String("addr", env("ADDR", "127.0.0.1:5310"), "listen address")
	issuer := flag.String("issuer", env("ISSUER", ""), "Authbridge's issuer, e.g. https://auth.example.com")
	resource := flag.String("resource", env("RESOURCE", ""), "this server's URL, as listed in Authbridge's PROTECTED_RESOURCES (-validate gateway: its own URL, FRONT_DOOR_N_UPSTREAM)")
	validate := flag.String("validate", env("VALIDATE", "jwks"), "jwks (local JWT verification), introspect (RFC 7662) or gateway (behind an Authbridge front door: its assertion only)")
	flag.Parse()
	if err := run(*addr, *issuer, *resource, *validate); err != nil {
		slog.Error("sample-mcp-server", "error", err.Error())
		os.Exit(1)
	}
}

func run(addr, issuer, resource, validate string) error {
	h, err := newHandler(issuer, resource, validate)
	if err != nil {
		return err
	}
	slog.Info("sample-mcp-server listening", "addr", addr, "resource", resource, "issuer", issuer, "validate", validate)
	return http.ListenAndServe(addr, h)
}

// newHandler is the server's HTTP handler: the MCP endpoint at resource's path, behind the
// check -validate names.
func newHandler(issuer, resource, validate string) (http.Handler, error) {
	cfg := resourceserver.Config{Issuer: issuer, Resource: resource, Scopes: []string{"mcp:tools"}, Logger: slog.Default()}
	var verifier resourceserver.Verifier
	var err error
	switch validate {
	case "jwks":
		verifier, err = resourceserver.NewJWKSVerifier(cfg)
	case "introspect":
		verifier, err = resourceserver.NewIntrospectionVerifier(cfg, os.Getenv("INTROSPECTION_CLIENT_ID"), os.Getenv("INTROSPECTION_CLIENT_SECRET"))
	case "gateway":
		// The front door has checked the client's token and the scopes of the call; the
		// assertion carries the client's scope for the server's own decisions.
		cfg.Scopes = nil
		verifier, err = resourceserver.NewJWKSVerifier(cfg)
	default:
		err = fmt.Errorf("-validate must be jwks, introspect or gateway, not %q", validate)
	}
	if err != nil {
		return nil, err
	}

	server := mcp.NewServer(&mcp.Implementation{Name: "sample-mcp-server", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "Reports the identity of the caller's access token."},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, WhoAmI, error) {
			return whoami(ctx, req, in, validate == "gateway")
		})
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})

	var protected http.Handler
	if validate == "gateway" {
		protected = fromGateway(verifier, mcpHandler)
	} else {
		// Every request to the MCP path needs a valid token for this resource; a request without
		// one gets the 401 challenge from which MCP clients discover Authbridge and sign in.
		protected = resourceserver.Middleware(verifier, cfg)(mcpHandler)
	}
	u, _ := url.Parse(resource)
	mux := http.NewServeMux()
	mux.Handle(or(strings.TrimSuffix(u.Path, "/"), "/"), protected)
	return mux, nil
}

// fromGateway is the check an upstream behind an Authbridge front door copies. A request
// passes only with exactly one Authorization: Bearer <assertion> that verifies as an
// Authbridge access token whose aud is this server's own URL (the verifier's Resource, the
// front door's FRONT_DOOR_N_UPSTREAM). That URL is never one of Authbridge's protected
// resources, so no client holds such a token: a request that passes came through the
// gateway. The identity is the assertion's (req.Extra.TokenInfo in tools), never an
// X-Authbridge-* header. No WWW-Authenticate: only the gateway talks to this server.
func fromGateway(v resourceserver.Verifier, next http.Handler) http.Handler {
	verified := auth.RequireBearerToken(resourceserver.TokenVerifier(v), nil)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Values("Authorization")) != 1 { // the gateway overwrites the client's: one value
			http.Error(w, "requests must come through the Authbridge gateway", http.StatusUnauthorized)
			return
		}
		verified.ServeHTTP(w, r)
	})
}

// WhoAmI is whoami's result: the claims the server received; behind a front door also what
// the gateway sent.
type WhoAmI struct {
	Subject  string `json:"sub"`
	Email    string `json:"email,omitempty"`
	OrgID    string `json:"org_id,omitempty"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Audience string `json:"aud"`

	// AuthbridgeHeaders are the X-Authbridge-* request headers (-validate gateway), each
	// value received: the gateway maps the authorizer's context onto them, overwriting any a
	// client sent.
	AuthbridgeHeaders map[string][]string `json:"authbridge_headers,omitempty"`
	// Headers are every request header received, values included (-validate gateway; a test
	// aid: they show that the client's token never arrived).
	Headers []Header `json:"headers,omitempty"`
}

// Header is one received request header value.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func whoami(_ context.Context, req *mcp.CallToolRequest, _ struct{}, gateway bool) (*mcp.CallToolResult, WhoAmI, error) {
	id, ok := resourceserver.IdentityFromTokenInfo(req.Extra.TokenInfo)
	if !ok {
		return nil, WhoAmI{}, errors.New("no verified identity")
	}
	out := WhoAmI{
		Subject: id.Subject, Email: id.Email, OrgID: id.OrgID, ClientID: id.ClientID,
		Scope: strings.Join(id.Scopes, " "), Audience: id.Audience,
	}
	if gateway {
		out.AuthbridgeHeaders = map[string][]string{}
		for _, name := range slices.Sorted(maps.Keys(req.Extra.Header)) {
			for _, v := range req.Extra.Header[name] {
				out.Headers = append(out.Headers, Header{Name: name, Value: v})
			}
			if strings.HasPrefix(name, "X-Authbridge-") {
				out.AuthbridgeHeaders[name] = req.Extra.Header[name]
			}
		}
	}
	return nil, out, nil
}

func env(name, fallback string) string { return or(os.Getenv(name), fallback) }

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}
