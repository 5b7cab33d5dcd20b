package gateway_test

// The project's template.yaml with a front door, in front of an httptest upstream, with the
// project's authorizer (functions/authorizer) under the Lambda Runtime Interface Emulator
// and local-kms (the variables `make test` exports, shared/testenv): what docs/front-door.md
// promises of the gateway and the authorizer together.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
	"github.com/authbridge/authbridge/infra/lambdarun"
	"github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
)

const (
	fdIssuer   = "https://auth.example.com"
	fdResource = fdIssuer + "/mcp/crm"
)

var realDoor struct {
	once     sync.Once
	err      error
	runner   *lambdarun.Runner
	minter   *tokens.Minter
	dir      string
	upstream *httptest.Server // FRONT_DOOR_1_UPSTREAM is fixed when the authorizer starts
	mu       sync.Mutex
	seen     []upstreamSeen
}

// realFrontDoor serves template.yaml with front door 1 at mcp/crm in front of the shared
// upstream (whose record it clears), and returns the server's URL, a minter of client
// tokens signed by the stack's key, the upstream's URL and its record.
func realFrontDoor(t *testing.T) (string, *tokens.Minter, string, func() []upstreamSeen) {
	t.Helper()
	realDoor.once.Do(func() {
		realDoor.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			realDoor.mu.Lock()
			realDoor.seen = append(realDoor.seen, upstreamSeen{r.Method, r.RequestURI, r.Header.Clone(), string(body)})
			realDoor.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}`))
		}))
	})
	realDoor.mu.Lock()
	realDoor.seen = nil
	realDoor.mu.Unlock()
	seen := func() []upstreamSeen {
		realDoor.mu.Lock()
		defer realDoor.mu.Unlock()
		return append([]upstreamSeen(nil), realDoor.seen...)
	}
	upstreamURL := realDoor.upstream.URL + "/mcp"
	params := map[string]string{
		"Issuer": fdIssuer, "DomainName": "auth.example.com",
		"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
		"WorkOSClientId": "client_local", "WorkOSApiKeySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:local",
		"FrontDoor1Upstream": upstreamURL, "FrontDoor1Path": "mcp/crm",
		"FrontDoor1ToolScopes":   "delete_contact=crm:write",
		"ScopesSupported":        "mcp:tools orgs:read crm:write",
		"FrontDoorTimeoutMillis": "5000",
	}
	tmpl, err := gateway.Load("../../template.yaml", params)
	if err != nil {
		t.Fatal(err)
	}
	if realDoor.runner == nil && realDoor.err == nil {
		realDoor.err = startRealAuthorizer(t, tmpl)
	}
	if realDoor.err != nil {
		t.Fatal(realDoor.err)
	}
	h, err := gateway.NewHandler(tmpl, gateway.Config{Invoker: realDoor.runner})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, realDoor.minter, upstreamURL, seen
}

func startRealAuthorizer(t *testing.T, tmpl *gateway.Template) error {
	rie, err := findRIE()
	if err != nil {
		return err
	}
	kmsClient := testenv.KMS(t)
	keyID := testenv.NewSigningKey(t, kmsClient)
	dir, err := os.MkdirTemp("", "frontdoor-test-")
	if err != nil {
		return err
	}
	realDoor.dir = dir
	f := tmpl.Functions["AuthorizerFunction"]
	bootstrap := filepath.Join(dir, f.Dir, "bootstrap")
	if err := buildLambda("../../functions/authorizer", bootstrap); err != nil {
		return err
	}
	env := f.Environment(gateway.EnvVars{"Parameters": {
		"ACCEPTED_KEY_IDS": keyID, "SIGNING_KEY_ID": keyID,
		"AWS_ENDPOINT_URL_KMS": os.Getenv("AWS_ENDPOINT_URL_KMS"), "AWS_ENDPOINT_URL_DYNAMODB": os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"),
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
	}})
	realDoor.runner, err = lambdarun.Start(context.Background(), lambdarun.Config{RIE: rie, Region: samtemplate.Region, Output: stack.logs,
		Functions: []lambdarun.Function{{ID: f.LogicalID, Name: f.Name, Bootstrap: bootstrap, Handler: f.Handler, Env: env, Timeout: f.Timeout, MemoryMB: f.MemorySize}}})
	realDoor.minter = tokens.NewMinter(kmsClient, keyID, fdIssuer, 5*time.Minute)
	return err
}

func clientToken(t *testing.T, m *tokens.Minter, aud, scope string) string {
	t.Helper()
	tok, _, err := m.Mint(context.Background(), tokens.AccessClaims{Subject: "user_01ADA", Audience: aud, ClientID: "client-1",
		Scope: scope, Email: "ada@example.com", OrgID: "org_01AE"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// MCP authorization, token passthrough: "The MCP server MUST NOT pass through the token it
// received from the MCP client": the upstream gets the authorizer's assertion (aud = the
// upstream) and identity headers the client cannot forge.
func TestRealFrontDoorForwardsAssertionNotClientToken(t *testing.T) {
	srv, m, upURL, seen := realFrontDoor(t)
	tok := clientToken(t, m, fdResource, "mcp:tools")
	r := do(t, "POST", srv+"/mcp/crm", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
		"Authorization", "Bearer "+tok, "Mcp-Method", "tools/list", "MCP-Protocol-Version", "2026-07-28",
		"X-Authbridge-User-Id", "forged", "X-Authbridge-Scope", "admin")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	h := got[0].header
	auth := h.Values("Authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") || strings.Contains(auth[0], tok) {
		t.Fatalf("upstream Authorization %q: want one assertion, never the client's token", auth)
	}
	if c := jwtClaims(t, strings.TrimPrefix(auth[0], "Bearer ")); c["aud"] != upURL || c["sub"] != "user_01ADA" || c["iss"] != fdIssuer {
		t.Errorf("assertion claims %v", c)
	}
	for name, want := range map[string]string{"X-Authbridge-User-Id": "user_01ADA", "X-Authbridge-Email": "ada@example.com",
		"X-Authbridge-Organization-Id": "org_01AE", "X-Authbridge-Scope": "mcp:tools", "X-Authbridge-Client-Id": "client-1"} {
		if v := h.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("upstream %s = %q, want only %q", name, v, want)
		}
	}
}

// RFC 9728 §5.1 and RFC 6750 §3.1: a request without a token, or with a token for another
// resource (the stack's own /mcp), is challenged with the front door's own metadata URL.
func TestRealFrontDoorChallenges(t *testing.T) {
	srv, m, _, seen := realFrontDoor(t)
	// MCP authorization (scope selection): the 401 names the scopes the metadata lists.
	want := `Bearer resource_metadata="` + fdIssuer + `/.well-known/oauth-protected-resource/mcp/crm", scope="mcp:tools orgs:read crm:write"`
	for name, hdr := range map[string][]string{
		"no token":                   nil,
		"token for another resource": {"Authorization", "Bearer " + clientToken(t, m, fdIssuer+"/mcp", "mcp:tools")},
	} {
		r := do(t, "POST", srv+"/mcp/crm", strings.NewReader("{}"), hdr...)
		if r.status != 401 || r.header.Get("WWW-Authenticate") != want {
			t.Errorf("%s: %d %q, want 401 %q", name, r.status, r.header.Get("WWW-Authenticate"), want)
		}
	}
	// MCP step-up: a tool that needs more scope is 403 insufficient_scope, the scopes in the body.
	tok := clientToken(t, m, fdResource, "mcp:tools")
	r := do(t, "POST", srv+"/mcp/crm", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_contact"}}`),
		"Authorization", "Bearer "+tok, "Mcp-Method", "tools/call", "Mcp-Name", "delete_contact", "MCP-Protocol-Version", "2026-07-28")
	var body map[string]string
	_ = json.Unmarshal(r.body, &body)
	if r.status != 403 || body["error"] != "insufficient_scope" || !strings.Contains(body["scope"], "crm:write") ||
		!strings.Contains(r.header.Get("WWW-Authenticate"), `resource_metadata="`+fdIssuer+`/.well-known/oauth-protected-resource/mcp/crm"`) {
		t.Errorf("step-up: %d %q %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
	}
	if n := len(seen()); n != 0 {
		t.Errorf("refused requests reached the upstream %d times", n)
	}
}
