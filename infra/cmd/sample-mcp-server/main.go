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
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/authbridge/authbridge/shared/resourceserver"
)

func main() {
	addr := flag.String("addr", env("ADDR", "127.0.0.1:5310"), "listen address")
	issuer := flag.String("issuer", env("ISSUER", ""), "Authbridge's issuer, e.g. https://auth.example.com")
	resource := flag.String("resource", env("RESOURCE", ""), "this server's URL, as listed in Authbridge's PROTECTED_RESOURCES")
	validate := flag.String("validate", env("VALIDATE", "jwks"), "jwks (local JWT verification) or introspect (RFC 7662)")
	flag.Parse()
	if err := run(*addr, *issuer, *resource, *validate); err != nil {
		slog.Error("sample-mcp-server", "error", err.Error())
		os.Exit(1)
	}
}

func run(addr, issuer, resource, validate string) error {
	cfg := resourceserver.Config{Issuer: issuer, Resource: resource, Scopes: []string{"mcp:tools"}, Logger: slog.Default()}
	var verifier resourceserver.Verifier
	var err error
	switch validate {
	case "jwks":
		verifier, err = resourceserver.NewJWKSVerifier(cfg)
	case "introspect":
		verifier, err = resourceserver.NewIntrospectionVerifier(cfg, os.Getenv("INTROSPECTION_CLIENT_ID"), os.Getenv("INTROSPECTION_CLIENT_SECRET"))
	default:
		err = fmt.Errorf("-validate must be jwks or introspect, not %q", validate)
	}
	if err != nil {
		return err
	}

	server := mcp.NewServer(&mcp.Implementation{Name: "sample-mcp-server", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "Reports the identity of the caller's access token."}, whoami)
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})

	// Every request to the MCP path needs a valid token for this resource; a request without
	// one gets the 401 challenge from which MCP clients discover Authbridge and sign in.
	u, _ := url.Parse(resource)
	mux := http.NewServeMux()
	mux.Handle(or(strings.TrimSuffix(u.Path, "/"), "/"), resourceserver.Middleware(verifier, cfg)(mcpHandler))
	slog.Info("sample-mcp-server listening", "addr", addr, "resource", resource, "issuer", issuer, "validate", validate)
	return http.ListenAndServe(addr, mux)
}

// WhoAmI is whoami's result: the claims the server received.
type WhoAmI struct {
	Subject  string `json:"sub"`
	Email    string `json:"email,omitempty"`
	OrgID    string `json:"org_id,omitempty"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Audience string `json:"aud"`
}

func whoami(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, WhoAmI, error) {
	id, ok := resourceserver.IdentityFromTokenInfo(req.Extra.TokenInfo)
	if !ok {
		return nil, WhoAmI{}, errors.New("no verified identity")
	}
	return nil, WhoAmI{
		Subject: id.Subject, Email: id.Email, OrgID: id.OrgID, ClientID: id.ClientID,
		Scope: strings.Join(id.Scopes, " "), Audience: id.Audience,
	}, nil
}

func env(name, fallback string) string { return or(os.Getenv(name), fallback) }

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}
