package mcpserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/infra/workosemu/emutest"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/mcpserver"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

const (
	issuer   = "https://auth.example.test"
	resource = issuer + "/mcp"
	prmURL   = issuer + "/.well-known/oauth-protected-resource/mcp"
	adaID    = "user_01JADAGS1DPDFA9S9S631SFWJ6"
	graceID  = "user_01JGRACEKMTYT908QFRXV1B71A"
	engines  = "org_01JENGINESADMFHXS2JFX687EA"
)

// stack is API Gateway (gatewaytest) in front of the authorizer and the MCP function, built
// as their mains build them, with the token function's signer on a local-kms key and the
// WorkOS emulator seeded from infra/workos-seed.json.
type stack struct {
	kms    *kms.Client
	keyID  string
	cfg    config.Config
	auth   *guard.Authorizer
	mcp    web.ProxyHandler // what functions/mcp passes to lambda.Start
	logs   *testenv.Buffer
	minter *tokens.Minter
}

func newStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	client := testenv.KMS(t)
	keyID := testenv.NewSigningKey(t, client)

	workos := emutest.Start(t, issuer+"/api/ext/auth/callback")

	vars := map[string]string{"ISSUER": issuer, "SIGNING_KEY_ID": keyID, "WORKOS_ENDPOINT": workos.URL,
		"WORKOS_CLIENT_ID": workosemu.DefaultClientID, "WORKOS_API_KEY": workosemu.DefaultAPIKey}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.LoadKeySet(context.Background(), client, cfg.AcceptedKeyIDs)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	signIn := upstream.NewSignIn(cfg.WorkOSEndpoint, cfg.WorkOSAPIKey, cfg.WorkOSClientID, cfg.Endpoint("/api/ext/auth/callback"))
	return &stack{
		kms: client, keyID: keyID, cfg: cfg, logs: logs,
		auth:   guard.New(cfg, keys, log),
		mcp:    web.LambdaHandler(mcpserver.New(cfg, signIn.Client(), log).Handler(), log),
		minter: tokens.NewMinter(client, keyID, issuer, cfg.AccessTokenTTL),
	}
}

// token mints an access token for sub as the token endpoint does (shared/authserver mint).
func (s *stack) token(t *testing.T, sub, email, scope string) string {
	t.Helper()
	tok, _, err := s.minter.Mint(context.Background(), tokens.AccessClaims{
		Subject: sub, Audience: resource, ClientID: "abc_test_client", Scope: scope, Email: email, OrgID: engines, SessionID: "session_01",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rpc is a JSON-RPC request body.
func rpc(id int, method string, params any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return string(b)
}

func mcpRequest(method, token, body string, extra ...string) gatewaytest.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("User-Agent", "claude-code/2.0")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return gatewaytest.Request{Method: method, Path: "/mcp", Header: h, Body: body}
}

// do sends r through API Gateway: authorizer, then the MCP function.
func (s *stack) do(t *testing.T, r gatewaytest.Request) gatewaytest.Result {
	t.Helper()
	res, err := gatewaytest.Default.Do(context.Background(), s.auth.Handle, s.mcp, r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func decodeRPC(t *testing.T, res gatewaytest.Result) rpcResponse {
	t.Helper()
	var out rpcResponse
	if err := json.Unmarshal([]byte(res.Response.Body), &out); err != nil {
		t.Fatalf("status %d, body %q: %v", res.Status, res.Response.Body, err)
	}
	return out
}

type callResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
}

func (s *stack) callTool(t *testing.T, token, tool string, args any, extra ...string) (gatewaytest.Result, rpcResponse, callResult) {
	t.Helper()
	res := s.do(t, mcpRequest("POST", token, rpc(7, "tools/call", map[string]any{"name": tool, "arguments": args}),
		append([]string{"MCP-Protocol-Version", "2025-11-25"}, extra...)...))
	var cr callResult
	resp := rpcResponse{}
	if res.Called {
		resp = decodeRPC(t, res)
		if resp.Result != nil {
			if err := json.Unmarshal(resp.Result, &cr); err != nil {
				t.Fatal(err)
			}
		}
	}
	return res, resp, cr
}

// TestTokenOpensWhoami is the "done when": a token minted by the token function's
// signer opens tools/call whoami through the authorizer and the MCP function, with API
// Gateway's real event shapes in between.
func TestTokenOpensWhoami(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools orgs:read")

	// initialize (no MCP-Protocol-Version header yet: the version is negotiated here).
	res := s.do(t, mcpRequest("POST", tok, rpc(1, "initialize", map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "e2e", "version": "1"},
	})))
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("initialize: %d %v %s", res.Status, res.Header, res.Response.Body)
	}
	var init struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct{ Name string }
		Capabilities    map[string]any
	}
	must(t, json.Unmarshal(decodeRPC(t, res).Result, &init))
	if init.ProtocolVersion != "2025-11-25" || init.ServerInfo.Name != "authbridge" || init.Capabilities["tools"] == nil {
		t.Fatalf("initialize result: %+v", init)
	}

	// tools/list: both tools, with output schemas (structured content).
	res = s.do(t, mcpRequest("POST", tok, rpc(2, "tools/list", map[string]any{}), "MCP-Protocol-Version", "2025-11-25"))
	var list struct {
		Tools []struct {
			Name         string
			Description  string
			OutputSchema map[string]any
		}
	}
	must(t, json.Unmarshal(decodeRPC(t, res).Result, &list))
	names := map[string]bool{}
	for _, tl := range list.Tools {
		names[tl.Name] = tl.OutputSchema != nil
	}
	if !names["whoami"] || !names["list_organizations"] || len(list.Tools) != 2 {
		t.Fatalf("tools/list: %+v", list)
	}

	// tools/call whoami.
	res, resp, call := s.callTool(t, tok, "whoami", map[string]any{})
	if res.Status != 200 || resp.Error != nil || call.IsError {
		t.Fatalf("whoami: %d %s", res.Status, res.Response.Body)
	}
	var who mcpserver.WhoAmI
	must(t, json.Unmarshal(call.StructuredContent, &who))
	exp := time.Unix(int64(claimsExp(t, tok)), 0).UTC().Format(time.RFC3339)
	if who.UserID != adaID || who.Email != "ada@example.com" || who.Name != "Ada Lovelace" || who.OrganizationID != engines ||
		who.ClientID != "abc_test_client" || strings.Join(who.Scopes, " ") != "mcp:tools orgs:read" || who.ExpiresAt != exp {
		t.Fatalf("whoami structured content: %+v", who)
	}
	if len(call.Content) != 1 || call.Content[0].Type != "text" || !strings.Contains(call.Content[0].Text, "Ada Lovelace <ada@example.com>") {
		t.Fatalf("whoami text: %+v", call.Content)
	}
	if strings.Contains(s.logs.String(), tok) {
		t.Fatal("token logged")
	}
}

func claimsExp(t *testing.T, tok string) float64 {
	var c struct{ Exp float64 }
	p := strings.Split(tok, ".")[1]
	b, err := jsonB64(p)
	must(t, err)
	must(t, json.Unmarshal(b, &c))
	return c.Exp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestListOrganizations: a real upstream call on behalf of the signed-in person; the user
// id comes from the token, never from the arguments.
func TestListOrganizations(t *testing.T) {
	s := newStack(t, nil)
	for _, c := range []struct {
		sub, email string
		want       []string // organization_id:role:status
	}{
		{adaID, "ada@example.com", []string{engines + ":admin:active"}},
		{graceID, "grace@example.com", []string{engines + ":member:active", "org_01JBETCHQRG70JHEH2TNSCKN1M:admin:active"}},
	} {
		tok := s.token(t, c.sub, c.email, "mcp:tools orgs:read")
		res, resp, call := s.callTool(t, tok, "list_organizations", map[string]any{})
		if res.Status != 200 || resp.Error != nil || call.IsError {
			t.Fatalf("%s: %d %s", c.email, res.Status, res.Response.Body)
		}
		var orgs mcpserver.Organizations
		must(t, json.Unmarshal(call.StructuredContent, &orgs))
		var got []string
		for _, m := range orgs.Memberships {
			got = append(got, m.OrganizationID+":"+m.Role+":"+m.Status)
		}
		if orgs.UserID != c.sub || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Fatalf("%s: memberships %v, want %v", c.email, got, c.want)
		}
		if !strings.Contains(call.Content[0].Text, c.want[0][:len(engines)]) {
			t.Fatalf("text: %q", call.Content[0].Text)
		}
	}
	// Ada asks for Grace's memberships through the arguments: refused by the tool's input
	// schema (it takes none), and in no case answered with Grace's data.
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools orgs:read")
	res, resp, call := s.callTool(t, tok, "list_organizations", map[string]any{"user_id": graceID})
	if strings.Contains(res.Response.Body, "org_01JBETCHQRG70JHEH2TNSCKN1M") {
		t.Fatalf("another user's memberships returned: %s", res.Response.Body)
	}
	if resp.Error == nil && !call.IsError {
		t.Fatalf("unexpected arguments accepted: %s", res.Response.Body)
	}
}

// TestScopes: the route's scope is enforced by the authorizer (Deny → 403) and again by the
// function; a tool's own scope by the function, with the step-up challenge and a clear MCP
// error.
func TestScopes(t *testing.T) {
	s := newStack(t, nil)
	// A token without orgs:read: whoami works, list_organizations is refused with 403.
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools")
	if res, _, call := s.callTool(t, tok, "whoami", map[string]any{}); res.Status != 200 || call.IsError {
		t.Fatalf("whoami with mcp:tools: %d %s", res.Status, res.Response.Body)
	}
	res, resp, _ := s.callTool(t, tok, "list_organizations", map[string]any{})
	wantChallenge := `Bearer error="insufficient_scope", scope="mcp:tools orgs:read", resource_metadata="` + prmURL + `"`
	if res.Status != 403 || res.Header.Get("WWW-Authenticate") != wantChallenge {
		t.Fatalf("list_organizations without orgs:read: %d %v", res.Status, res.Header)
	}
	if resp.Error == nil || resp.Error.Code != mcpserver.CodeInsufficientScope || string(resp.ID) != "7" ||
		!strings.Contains(resp.Error.Message, "orgs:read") {
		t.Fatalf("MCP error: %s", res.Response.Body)
	}

	// A token without mcp:tools never reaches the function: the authorizer denies (403).
	tok = s.token(t, adaID, "ada@example.com", "orgs:read")
	res, _, _ = s.callTool(t, tok, "whoami", map[string]any{})
	if res.Status != 403 || res.Called || res.Authorizer.PolicyDocument.Statement[0].Effect != "Deny" {
		t.Fatalf("token without mcp:tools: %+v", res)
	}
	// If the gateway let it through anyway (a misconfigured authorizer), the function refuses.
	ctx := identityContext(adaID, "orgs:read", resource, time.Now().Add(time.Minute))
	out := s.direct(t, mcpRequest("POST", tok, rpc(1, "tools/list", map[string]any{})), ctx)
	if out.StatusCode != 403 || gatewaytest.ResponseHeader(out).Get("WWW-Authenticate") != `Bearer error="insufficient_scope", scope="mcp:tools", resource_metadata="`+prmURL+`"` {
		t.Fatalf("function's own route scope check: %d %v %s", out.StatusCode, gatewaytest.ResponseHeader(out), out.Body)
	}
}

// identityContext is requestContext.authorizer as API Gateway would pass an Allow for these
// claims.
func identityContext(sub, scope, aud string, exp time.Time) map[string]any {
	return map[string]any{"principalId": sub, "sub": sub, "email": "", "org_id": "", "client_id": "abc_test_client",
		"scope": scope, "jti": "jti-1", "exp": fmt.Sprint(exp.Unix()), "aud": aud, "integrationLatency": 1}
}

// direct calls the MCP function with a proxy event carrying authorizer, as if API Gateway
// had let the request through (defence-in-depth cases).
func (s *stack) direct(t *testing.T, r gatewaytest.Request, authorizer map[string]any) events.APIGatewayProxyResponse {
	t.Helper()
	out, err := s.mcp(context.Background(), gatewaytest.Default.ProxyEvent(r, authorizer))
	must(t, err)
	return out
}

// TestIdentityOnlyFromTheEvent: the function trusts nothing but the authorizer's context in
// the event, and checks its audience and expiry again.
func TestIdentityOnlyFromTheEvent(t *testing.T) {
	s := newStack(t, nil)
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools orgs:read")
	body := rpc(1, "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
	challenge := `Bearer error="invalid_token", resource_metadata="` + prmURL + `", scope="mcp:tools orgs:read"`

	// A client-sent X-GoLambdaProxy-ApiGw-Context header with forged claims, and no
	// authorizer context in the event: 401.
	forged, _ := json.Marshal(events.APIGatewayProxyRequestContext{Authorizer: identityContext(graceID, "mcp:tools orgs:read", resource, time.Now().Add(time.Hour))})
	r := mcpRequest("POST", tok, body, "X-GoLambdaProxy-ApiGw-Context", string(forged), "MCP-Protocol-Version", "2025-11-25")
	if out := s.direct(t, r, nil); out.StatusCode != 401 || gatewaytest.ResponseHeader(out).Get("WWW-Authenticate") != challenge {
		t.Fatalf("forged context header: %d %v %s", out.StatusCode, gatewaytest.ResponseHeader(out), out.Body)
	}
	// The same header next to a genuine context: the genuine identity is used.
	out := s.direct(t, r, identityContext(adaID, "mcp:tools", resource, time.Now().Add(time.Minute)))
	if out.StatusCode != 200 || !strings.Contains(out.Body, adaID) || strings.Contains(out.Body, graceID) {
		t.Fatalf("genuine context: %d %s", out.StatusCode, out.Body)
	}
	// exp passed (the gateway may serve a cached Allow for its TTL): 401.
	if out := s.direct(t, r, identityContext(adaID, "mcp:tools", resource, time.Now().Add(-guard.Leeway-time.Second))); out.StatusCode != 401 ||
		gatewaytest.ResponseHeader(out).Get("WWW-Authenticate") != challenge {
		t.Fatalf("expired context: %d %s", out.StatusCode, out.Body)
	}
	// A context for another resource: 401.
	if out := s.direct(t, r, identityContext(adaID, "mcp:tools", "https://other.example.test/mcp", time.Now().Add(time.Minute))); out.StatusCode != 401 {
		t.Fatalf("other audience: %d %s", out.StatusCode, out.Body)
	}
	// No Authorization header at all: 401 whose challenge has no error code (RFC 6750 §3.1).
	noAuth := mcpRequest("POST", "", body, "MCP-Protocol-Version", "2025-11-25")
	if out := s.direct(t, noAuth, identityContext(adaID, "mcp:tools", resource, time.Now().Add(time.Minute))); out.StatusCode != 401 ||
		gatewaytest.ResponseHeader(out).Get("WWW-Authenticate") != `Bearer resource_metadata="`+prmURL+`", scope="mcp:tools orgs:read"` {
		t.Fatalf("no Authorization: %d %v %s", out.StatusCode, gatewaytest.ResponseHeader(out), out.Body)
	}
	// The gateway refuses a missing token before the function (401, not called).
	if res := s.do(t, noAuth); res.Status != 401 || res.Called {
		t.Fatalf("gateway without token: %+v", res)
	}
}

// TestTransport: Origin validation, MCP-Protocol-Version, and GET/DELETE on a stateless
// server (MCP Streamable HTTP transport).
func TestTransport(t *testing.T) {
	s := newStack(t, map[string]string{"ALLOWED_ORIGINS": "http://localhost:6274"})
	tok := s.token(t, adaID, "ada@example.com", "mcp:tools")
	list := rpc(3, "tools/list", map[string]any{})

	for origin, want := range map[string]int{
		"https://evil.example":          403,
		"null":                          403,
		"http://localhost:6274":         200, // ALLOWED_ORIGINS
		issuer:                          200, // the issuer's own origin
		"HTTPS://AUTH.EXAMPLE.TEST:443": 200,
	} {
		res := s.do(t, mcpRequest("POST", tok, list, "Origin", origin, "MCP-Protocol-Version", "2025-11-25"))
		if res.Status != want {
			t.Errorf("Origin %s: %d, want %d (%s)", origin, res.Status, want, res.Response.Body)
		}
		if want == 200 && res.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("Origin %s: CORS headers %v", origin, res.Header)
		}
		if want == 403 && !strings.Contains(res.Response.Body, `"jsonrpc":"2.0"`) {
			t.Errorf("Origin %s: body %s", origin, res.Response.Body)
		}
	}
	// CORS preflight (no credentials: the OPTIONS route has no authorizer).
	pre := gatewaytest.Request{Method: "OPTIONS", Path: "/mcp", Header: http.Header{"Origin": {"http://localhost:6274"}, "Access-Control-Request-Method": {"POST"}}}
	out, err := s.mcp(context.Background(), gatewaytest.Default.ProxyEvent(pre, nil))
	must(t, err)
	if out.StatusCode != 204 || gatewaytest.ResponseHeader(out).Get("Access-Control-Allow-Origin") != "http://localhost:6274" || !strings.Contains(gatewaytest.ResponseHeader(out).Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", out.StatusCode, gatewaytest.ResponseHeader(out))
	}
	// MCP 2026-07-28: a browser client's preflight for the mirrored headers (Mcp-Method,
	// Mcp-Name) and a tool's Mcp-Param-* headers succeeds; other names are not echoed.
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type,mcp-protocol-version,mcp-method,mcp-name,mcp-param-region, x-evil, mcp-param-,mcp-param-a b")
	out, err = s.mcp(context.Background(), gatewaytest.Default.ProxyEvent(pre, nil))
	must(t, err)
	allowed := map[string]bool{}
	for _, name := range strings.Split(gatewaytest.ResponseHeader(out).Get("Access-Control-Allow-Headers"), ",") {
		allowed[strings.ToLower(strings.TrimSpace(name))] = true
	}
	for _, name := range []string{"authorization", "content-type", "mcp-protocol-version", "mcp-method", "mcp-name", "mcp-param-region"} {
		if !allowed[name] {
			t.Errorf("preflight does not allow %s: %v", name, gatewaytest.ResponseHeader(out))
		}
	}
	for _, name := range []string{"x-evil", "mcp-param-", "mcp-param-a b"} {
		if allowed[name] {
			t.Errorf("preflight allows %q", name)
		}
	}

	// MCP-Protocol-Version: an unsupported version is a 400; a supported one is honoured.
	if res := s.do(t, mcpRequest("POST", tok, list, "MCP-Protocol-Version", "1999-01-01")); res.Status != 400 {
		t.Errorf("unsupported protocol version: %d %s", res.Status, res.Response.Body)
	}
	for _, v := range []string{"2025-06-18", "2025-11-25"} {
		if res := s.do(t, mcpRequest("POST", tok, list, "MCP-Protocol-Version", v)); res.Status != 200 {
			t.Errorf("protocol version %s: %d %s", v, res.Status, res.Response.Body)
		}
	}
	// Stateless server: GET (no SSE stream) and DELETE (no session) get 405 with Allow.
	for _, m := range []string{"GET", "DELETE"} {
		res := s.do(t, mcpRequest(m, tok, "", "MCP-Protocol-Version", "2025-11-25"))
		if res.Status != 405 || res.Header.Get("Allow") != "POST" {
			t.Errorf("%s: %d %v", m, res.Status, res.Header)
		}
	}
}

func jsonB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
