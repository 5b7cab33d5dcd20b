package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
)

// stack is an Authbridge (its JWKS served over HTTP, its authorizer with front door 1 to the
// sample server in gateway mode) and the sample server itself.
type stack struct {
	issuer, resource, upstream string
	minter                     *tokens.Minter
	auth                       *guard.Authorizer
	sample                     *httptest.Server
}

func newStack(t *testing.T) *stack {
	t.Helper()
	client := testenv.KMS(t)
	key := testenv.NewSigningKey(t, client)
	keys, err := tokens.LoadKeySet(context.Background(), client, []string{key})
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	authbridge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	t.Cleanup(authbridge.Close)

	var handler http.Handler
	sample := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(sample.Close)
	s := &stack{issuer: authbridge.URL, resource: authbridge.URL + "/mcp/sample", upstream: sample.URL + "/mcp", sample: sample}
	if handler, err = newHandler(s.issuer, s.upstream, "gateway"); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"ISSUER": s.issuer, "SIGNING_KEY_ID": key, "PROTECTED_RESOURCES": s.issuer + "/mcp," + s.resource,
		"FRONT_DOOR_1_RESOURCE": s.resource, "FRONT_DOOR_1_UPSTREAM": s.upstream,
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	s.minter = tokens.NewMinter(client, key, s.issuer, 0)
	s.auth = guard.New(cfg, keys, nil).WithAssertionMinter(s.minter)
	return s
}

// clientToken is a token the token endpoint would issue to the client for aud.
func (s *stack) clientToken(t *testing.T, aud string) string {
	t.Helper()
	tok, _, err := s.minter.Mint(context.Background(), tokens.AccessClaims{
		Subject: "user_ada", Audience: aud, ClientID: "client_1", Scope: "mcp:tools", Email: "ada@example.com", OrgID: "org_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// throughGateway plays front door 1: the authorizer decides on the client's request and, on an
// Allow, the upstream request's Authorization and X-Authbridge-* headers are set from its
// context, replacing what the client sent (template.yaml's integration request parameters).
func (s *stack) throughGateway(t *testing.T, client http.Header) (int, http.Header) {
	t.Helper()
	ev := gatewaytest.API{Region: "us-east-1", Account: "123456789012", ID: "fd1", Stage: "Prod"}.
		AuthorizerEvent(gatewaytest.Request{Method: "POST", Path: "/", Header: client})
	ev.StageVariables = map[string]string{guard.StageVariableFrontDoor: "1"}
	resp, err := s.auth.Handle(context.Background(), ev)
	status := gatewaytest.Status(resp, err, ev.MethodArn)
	if status != http.StatusOK {
		return status, nil
	}
	ctx := gatewaytest.AuthorizerContext(resp)
	up := client.Clone()
	up.Set("Authorization", ctx[guard.CtxUpstreamAuthorization].(string))
	for name, key := range map[string]string{
		"X-Authbridge-User-Id": "sub", "X-Authbridge-Email": "email", "X-Authbridge-Organization-Id": "org_id",
		"X-Authbridge-Scope": "scope", "X-Authbridge-Client-Id": "client_id",
	} {
		up.Set(name, ctx[key].(string))
	}
	return status, up
}

// callWhoami posts a tools/call of whoami to the sample server with header.
func (s *stack) callWhoami(t *testing.T, header http.Header, version string) (int, WhoAmI, string) {
	t.Helper()
	meta := ""
	if version >= "2026-07-28" {
		meta = `,"_meta":{"io.modelcontextprotocol/protocolVersion":"` + version + `","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}` + meta + `}}`
	req, _ := http.NewRequest("POST", s.upstream, strings.NewReader(body))
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rpc struct {
		Result struct {
			StructuredContent WhoAmI `json:"structuredContent"`
			IsError           bool   `json:"isError"`
		} `json:"result"`
		Error *struct{ Code int } `json:"error"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &rpc); err != nil || rpc.Error != nil || rpc.Result.IsError {
			t.Fatalf("whoami: %v %s", err, raw)
		}
	}
	return resp.StatusCode, rpc.Result.StructuredContent, string(raw)
}

// TestGatewayModeIdentityComesFromTheAssertion: through the front door, the sample server
// receives the gateway's assertion (aud = its own URL) instead of the client's token, and
// whoami reports the assertion's identity; forged X-Authbridge-* headers are replaced by the
// gateway's, and the client's token is in no header.
func TestGatewayModeIdentityComesFromTheAssertion(t *testing.T) {
	s := newStack(t)
	tok := s.clientToken(t, s.resource)
	client := http.Header{
		"Authorization":        {"Bearer " + tok},
		"X-Authbridge-User-Id": {"user_mallory"},
		"X-Authbridge-Scope":   {"admin"},
	}
	status, upstream := s.throughGateway(t, client)
	if status != http.StatusOK {
		t.Fatalf("front door: %d", status)
	}
	code, who, raw := s.callWhoami(t, upstream, "2025-11-25")
	if code != http.StatusOK {
		t.Fatalf("sample: %d %s", code, raw)
	}
	if who.Subject != "user_ada" || who.Email != "ada@example.com" || who.OrgID != "org_1" || who.ClientID != "client_1" ||
		who.Scope != "mcp:tools" || who.Audience != s.upstream {
		t.Errorf("identity %+v", who)
	}
	for name, want := range map[string]string{"X-Authbridge-User-Id": "user_ada", "X-Authbridge-Scope": "mcp:tools", "X-Authbridge-Client-Id": "client_1"} {
		if got := who.AuthbridgeHeaders[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", name, got, want)
		}
	}
	auths := 0
	for _, h := range who.Headers {
		if strings.Contains(h.Value, tok) || strings.Contains(h.Value, "user_mallory") {
			t.Errorf("header %s carries the client's token or a forged value", h.Name)
		}
		if h.Name == "Authorization" {
			auths++
		}
	}
	if auths != 1 || len(who.Headers) < 5 {
		t.Errorf("headers received: %+v", who.Headers)
	}
}

// TestGatewayModeRefusesAnythingButTheAssertion: the upstream-side check (fromGateway). No
// token, the client's own token (aud = the front door's public resource), a token for another
// resource, forged identity headers alone, and two Authorization headers are all 401: a
// request that did not come through the gateway reaches no tool.
func TestGatewayModeRefusesAnythingButTheAssertion(t *testing.T) {
	s := newStack(t)
	_, upstream := s.throughGateway(t, http.Header{"Authorization": {"Bearer " + s.clientToken(t, s.resource)}})
	assertion := upstream.Get("Authorization")
	for name, h := range map[string]http.Header{
		"no token":                         {},
		"forged headers only":              {"X-Authbridge-User-Id": {"user_ada"}, "X-Authbridge-Scope": {"mcp:tools"}},
		"the client's token (passthrough)": {"Authorization": {"Bearer " + s.clientToken(t, s.resource)}},
		"a token for /mcp":                 {"Authorization": {"Bearer " + s.clientToken(t, s.issuer+"/mcp")}},
		"two Authorization headers":        {"Authorization": {assertion, "Bearer " + s.clientToken(t, s.resource)}},
		"not Bearer":                       {"Authorization": {strings.Replace(assertion, "Bearer", "Basic", 1)}},
	} {
		if code, _, raw := s.callWhoami(t, h, "2025-11-25"); code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, code, raw)
		}
	}
	if code, _, raw := s.callWhoami(t, http.Header{"Authorization": {assertion}}, "2025-11-25"); code != http.StatusOK {
		t.Errorf("the assertion: %d %s", code, raw)
	}
}

// TestMCP_UpstreamRejectsMirroredHeaderMismatch: the front door decides tool scopes from
// Mcp-Method and Mcp-Name, which is sound only because a 2026-07-28 server MUST reject a
// request whose headers disagree with the body (Streamable HTTP, "Standard MCP request
// headers"). The sample (MCP Go SDK) does: a whoami call labelled as another tool is refused.
func TestMCP_UpstreamRejectsMirroredHeaderMismatch(t *testing.T) {
	s := newStack(t)
	_, upstream := s.throughGateway(t, http.Header{"Authorization": {"Bearer " + s.clientToken(t, s.resource)}})
	h := http.Header{"Authorization": {upstream.Get("Authorization")}}
	for _, c := range []struct {
		method, name string
		want         int
	}{
		{"tools/call", "whoami", http.StatusOK},
		{"tools/call", "search", http.StatusBadRequest},
		{"tools/call", "=?base64?d2hvYW1p?=", http.StatusBadRequest}, // the SDK compares the raw value: refused, never widened
		{"tools/list", "", http.StatusBadRequest},
		{"", "", http.StatusBadRequest},
	} {
		hh := h.Clone()
		if c.method != "" {
			hh.Set("Mcp-Method", c.method)
		}
		if c.name != "" {
			hh.Set("Mcp-Name", c.name)
		}
		if code, _, raw := s.callWhoami(t, hh, "2026-07-28"); code != c.want {
			t.Errorf("Mcp-Method %q Mcp-Name %q: %d %s, want %d", c.method, c.name, code, raw, c.want)
		}
	}
}
