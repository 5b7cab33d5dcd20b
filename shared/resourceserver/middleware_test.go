package resourceserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/authbridge/authbridge/shared/resourceserver"
	"github.com/authbridge/authbridge/shared/tokens"
)

// stubVerifier answers for the token "good" (ada, mcp:tools), "noscope" (ada, no scope),
// "down" (cannot be checked) and refuses anything else.
type stubVerifier struct{}

func (stubVerifier) Verify(_ context.Context, token string) (resourceserver.Identity, error) {
	ada := resourceserver.Identity{Subject: ada.Subject, ClientID: ada.ClientID, Audience: testResource, ExpiresAt: time.Now().Add(time.Minute)}
	switch token {
	case "good":
		ada.Scopes = []string{"mcp:tools"}
		return ada, nil
	case "noscope":
		ada.Scopes = []string{"orgs:read"}
		return ada, nil
	case "down":
		return resourceserver.Identity{}, errors.New("jwks unreachable")
	}
	return resourceserver.Identity{}, resourceserver.ErrInvalidToken
}

const prm = "https://auth.example.test/.well-known/oauth-protected-resource/mcp.example.test/mcp"

var middlewareConfig = resourceserver.Config{Issuer: "https://auth.example.test", Resource: testResource, Scopes: []string{"mcp:tools"}}

func TestRFC6750_3_1_MiddlewareChallenges(t *testing.T) {
	var reached resourceserver.Identity
	h := resourceserver.Middleware(stubVerifier{}, middlewareConfig)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := resourceserver.IdentityFromContext(r.Context())
		if !ok {
			t.Error("the handler got no identity")
		}
		reached = id
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tt := range []struct {
		name      string
		auth      []string
		status    int
		challenge string
	}{
		// RFC 6750 §3.1: no authentication information, no error code; RFC 9728 §5.1: resource_metadata.
		{"RFC 6750 §3.1 no credentials", nil, 401, `Bearer resource_metadata="` + prm + `"`},
		{"RFC 6750 §3.1 another scheme is no credentials", []string{"Basic YTpi"}, 401, `Bearer resource_metadata="` + prm + `"`},
		// RFC 6750 §3.1 invalid_token: a token was sent and refused.
		{"RFC 6750 §3.1 invalid_token", []string{"Bearer bad"}, 401, `Bearer error="invalid_token", resource_metadata="` + prm + `"`},
		// RFC 6750 §3.1 invalid_request: several credentials, or a malformed one.
		{"RFC 6750 §3.1 two Authorization headers", []string{"Bearer good", "Bearer good"}, 400, `Bearer error="invalid_request", resource_metadata="` + prm + `"`},
		{"RFC 6750 §2.1 not a b64token", []string{"Bearer go od"}, 400, `Bearer error="invalid_request", resource_metadata="` + prm + `"`},
		// RFC 6750 §3.1 insufficient_scope, naming the scopes needed.
		{"RFC 6750 §3.1 insufficient_scope", []string{"Bearer noscope"}, 403, `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="` + prm + `"`},
		// The token could not be checked: no challenge that would make the client drop it.
		{"unavailable is 503 without a challenge", []string{"Bearer down"}, 503, ""},
		{"RFC 6750 §2.1 valid", []string{"bearer good"}, 204, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reached = resourceserver.Identity{}
			req := httptest.NewRequest(http.MethodPost, testResource, strings.NewReader("{}"))
			for _, v := range tt.auth {
				req.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
			if (tt.status == 204) != (reached.Subject == ada.Subject) {
				t.Fatalf("handler reached with %+v at status %d", reached, rec.Code)
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

// RFC 9728 §5.1: the challenge names the metadata URL Authbridge serves the resource's
// metadata at; for a resource on another host: {issuer}/.well-known/oauth-protected-resource/<host[:port]><path>.
func TestRFC9728_5_1_ResourceMetadataURL(t *testing.T) {
	for _, tt := range []struct{ issuer, resource, want string }{
		{"https://auth.example.com", "http://127.0.0.1:5310/mcp", "https://auth.example.com/.well-known/oauth-protected-resource/127.0.0.1:5310/mcp"},
		{"https://auth.example.com", "HTTPS://CRM.Example.com:443/mcp/", "https://auth.example.com/.well-known/oauth-protected-resource/crm.example.com/mcp"},
		{"https://x.execute-api.example.com/Prod", "http://127.0.0.1:5311/mcp", "https://x.execute-api.example.com/Prod/.well-known/oauth-protected-resource/127.0.0.1:5311/mcp"},
		{"https://crm.example.com", "https://crm.example.com:8443/mcp", "https://crm.example.com/.well-known/oauth-protected-resource/crm.example.com:8443/mcp"},
		// Authbridge's own resource (same origin): the path below the issuer's.
		{"https://auth.example.com", "https://auth.example.com/mcp", "https://auth.example.com/.well-known/oauth-protected-resource/mcp"},
		{"https://x.execute-api.example.com/Prod", "https://x.execute-api.example.com/Prod/mcp", "https://x.execute-api.example.com/Prod/.well-known/oauth-protected-resource/mcp"},
	} {
		got, err := resourceserver.ResourceMetadataURL(tt.issuer, tt.resource)
		if err != nil || got != tt.want {
			t.Errorf("ResourceMetadataURL(%q, %q) = %q, %v; want %q", tt.issuer, tt.resource, got, err, tt.want)
		}
	}
	if _, err := resourceserver.ResourceMetadataURL("https://auth.example.com", "mcp"); err == nil {
		t.Error("RFC 8707 §2: a relative resource was accepted")
	}
}

// sdkServer is an MCP Go SDK streamable HTTP server whose whoami tool returns the Identity it
// received through RequestExtra.TokenInfo, behind protect.
func sdkServer(t *testing.T, protect func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	server := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, resourceserver.Identity, error) {
		id, ok := resourceserver.IdentityFromTokenInfo(req.Extra.TokenInfo)
		if !ok {
			return nil, id, errors.New("no identity")
		}
		return nil, id, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	ts := httptest.NewServer(protect(h))
	t.Cleanup(ts.Close)
	return ts
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// callWhoami connects an MCP SDK client with token and calls whoami.
func callWhoami(t *testing.T, url, token string) (resourceserver.Identity, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: url, HTTPClient: &http.Client{Transport: bearer{token}}, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		return resourceserver.Identity{}, err
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		return resourceserver.Identity{}, err
	}
	if res.IsError {
		return resourceserver.Identity{}, errors.New("tool error")
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var id resourceserver.Identity
	err = json.Unmarshal(raw, &id)
	return id, err
}

// A token minted by Authbridge's token endpoint code reaches an MCP SDK tool as the caller's
// identity, through Middleware and through the SDK's own RequireBearerToken with
// TokenVerifier and BearerOptions.
func TestRFC9068_MCPSDKToolsReceiveTheVerifiedIdentity(t *testing.T) {
	a := newAuthbridge(t)
	id, _ := a.newKey(true)
	m := tokens.NewMinter(a.kms, id, a.issuer, ttl) // the real clock: the SDK checks exp against it
	c := ada
	c.Audience = testResource
	tok, claims, err := m.Mint(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	otherAud, _ := mint(t, m, "https://other.example.test/mcp")
	cfg := resourceserver.Config{Issuer: a.issuer, Resource: testResource, Scopes: []string{"mcp:tools"}}
	v, err := resourceserver.NewJWKSVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantPRM, _ := resourceserver.ResourceMetadataURL(a.issuer, testResource)
	for _, tt := range []struct {
		name      string
		protect   func(http.Handler) http.Handler
		challenge string // of a request without a token
	}{
		{"Middleware", resourceserver.Middleware(v, cfg), `Bearer resource_metadata="` + wantPRM + `"`},
		{"auth.RequireBearerToken", auth.RequireBearerToken(resourceserver.TokenVerifier(v), resourceserver.BearerOptions(cfg)),
			`Bearer resource_metadata="` + wantPRM + `", scope="mcp:tools"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := sdkServer(t, tt.protect)
			got, err := callWhoami(t, ts.URL, tok)
			if err != nil {
				t.Fatalf("whoami: %v", err)
			}
			if got.Subject != ada.Subject || got.Email != ada.Email || got.OrgID != ada.OrgID || got.ClientID != ada.ClientID ||
				got.Audience != testResource || got.JTI != claims.JTI || strings.Join(got.Scopes, " ") != ada.Scope {
				t.Fatalf("identity %+v", got)
			}
			// RFC 9728 §5.1: a request without a token learns where the metadata is.
			resp, err := http.Post(ts.URL, "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("no token: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.challenge)
			}
			// RFC 8707: a token for another resource does not open this one.
			if _, err := callWhoami(t, ts.URL, otherAud); err == nil {
				t.Fatal("a token for another resource was accepted")
			}
		})
	}
}

// TokenVerifier maps a refused token to auth.ErrInvalidToken (401) and a failed check to
// another error (the SDK answers 500, not 401: the client keeps its token).
func TestRFC6750_3_1_TokenVerifierRefusalsAndFailures(t *testing.T) {
	tv := resourceserver.TokenVerifier(stubVerifier{})
	if _, err := tv(context.Background(), "bad", nil); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("refused token: %v, want auth.ErrInvalidToken", err)
	}
	if _, err := tv(context.Background(), "down", nil); err == nil || errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), "jwks unreachable") {
		t.Fatalf("unavailable: %v, want another error, with its cause", err)
	}
	ti, err := tv(context.Background(), "good", nil)
	if err != nil || ti.UserID != ada.Subject || strings.Join(ti.Scopes, " ") != "mcp:tools" || ti.Expiration.IsZero() {
		t.Fatalf("TokenInfo %+v, %v", ti, err)
	}
	if id, ok := resourceserver.IdentityFromTokenInfo(ti); !ok || id.Subject != ada.Subject {
		t.Fatalf("IdentityFromTokenInfo = %+v, %v", id, ok)
	}
	if _, ok := resourceserver.IdentityFromTokenInfo(nil); ok {
		t.Fatal("identity from nil TokenInfo")
	}
}
