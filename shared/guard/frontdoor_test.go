package guard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/tokens"
)

const (
	crmResource = testIssuer + "/mcp/crm"
	crmUpstream = "https://crm.internal.example.test/mcp"
)

// crmAPI is front door 1's own REST API.
var crmAPI = gatewaytest.API{Region: "us-east-1", Account: "123456789012", ID: "fd1crm0001", Stage: "Prod"}

// countingKMS passes kms:Sign to local-kms and counts the calls.
type countingKMS struct {
	*kms.Client
	signs atomic.Int64
}

func (c *countingKMS) Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error) {
	c.signs.Add(1)
	return c.Client.Sign(ctx, in, optFns...)
}

// newFrontDoorFixture is an authorizer with the built-in /mcp and front door 1 (crmDoor's
// rules) to crmUpstream, signing assertions with the stack's key through a counting KMS.
func newFrontDoorFixture(t testing.TB) (*fixture, *countingKMS) {
	t.Helper()
	f := newFixture(t, map[string]string{
		"PROTECTED_RESOURCES":      testResource + "," + crmResource,
		"SCOPES_SUPPORTED":         "mcp:tools orgs:read crm:read crm:write crm:export",
		"FRONT_DOOR_1_RESOURCE":    crmResource,
		"FRONT_DOOR_1_UPSTREAM":    crmUpstream,
		"FRONT_DOOR_1_SCOPES":      "mcp:tools crm:read",
		"FRONT_DOOR_1_TOOL_SCOPES": "delete_contact=crm:write;export=crm:read crm:export",
	})
	signer := &countingKMS{Client: f.kms}
	f.auth.WithAssertionMinter(tokens.NewMinter(signer, f.keyID, testIssuer, 0))
	return f, signer
}

// frontDoorEvent is the authorizer event of a request to a front door's REST API, whose stage
// variable frontDoor is slot; kv are extra request headers.
func frontDoorEvent(api gatewaytest.API, slot, token string, kv ...string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	r := request("POST", "/", "Bearer "+token)
	if token == "" {
		r = request("POST", "/")
	}
	for i := 0; i < len(kv); i += 2 {
		r.Header[kv[i]] = append(r.Header[kv[i]], kv[i+1])
	}
	ev := api.AuthorizerEvent(r)
	ev.StageVariables = map[string]string{guard.StageVariableFrontDoor: slot}
	return ev
}

func (f *fixture) handle(t testing.TB, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (int, events.APIGatewayCustomAuthorizerResponse) {
	t.Helper()
	resp, err := f.auth.Handle(context.Background(), ev)
	return gatewaytest.Status(resp, err, ev.MethodArn), resp
}

// jwksVerifier verifies as an upstream does: with the keys of Authbridge's JWKS document.
func jwksVerifier(t testing.TB, f *fixture) *tokens.Verifier {
	t.Helper()
	doc, err := f.keys.JWKS()
	must(t, err)
	ks, err := tokens.ParseJWKS(doc)
	must(t, err)
	return tokens.NewVerifier(ks, testIssuer, 30*time.Second)
}

// TestFrontDoorAllowCarriesUpstreamAssertion: a token issued for the front door's resource
// (RFC 8707) is allowed; the Allow keeps the identity context and adds upstream_authorization,
// "Bearer" and an RFC 9068 token the upstream verifies with the JWKS: aud its own URL, the
// client token's identity, scope and exp, a fresh jti. The client's token is not in it.
func TestFrontDoorAllowCarriesUpstreamAssertion(t *testing.T) {
	f, signer := newFrontDoorFixture(t)
	tok := f.mint(t, "mcp:tools crm:read", withAudience(crmResource))
	client := claimsOf(t, tok)

	status, resp := f.handle(t, frontDoorEvent(crmAPI, "1", tok, "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/list"))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for k, v := range map[string]any{
		"sub": adaID, "email": "ada@example.com", "org_id": "org_01JENGINESADMFHXS2JFX687EA", "client_id": "abc_client",
		"scope": "mcp:tools crm:read", "jti": client["jti"], "exp": int64(client["exp"].(float64)), "aud": crmResource,
	} {
		if resp.Context[k] != v {
			t.Errorf("context[%s] = %#v, want %#v", k, resp.Context[k], v)
		}
	}
	header, _ := resp.Context[guard.CtxUpstreamAuthorization].(string)
	assertion, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || assertion == "" || strings.Contains(header, tok) {
		t.Fatalf("upstream_authorization %q", header)
	}
	// RFC 9068 §4, as the upstream checks it (shared/resourceserver uses this verifier).
	claims, err := jwksVerifier(t, f).Verify(assertion, crmUpstream)
	if err != nil {
		t.Fatalf("the upstream cannot verify the assertion: %v", err)
	}
	want := tokens.AccessClaims{
		Issuer: testIssuer, Subject: adaID, Audience: crmUpstream, ClientID: "abc_client", Scope: "mcp:tools crm:read",
		ExpiresAt: int64(client["exp"].(float64)), IssuedAt: claims.IssuedAt, NotBefore: claims.IssuedAt, JTI: claims.JTI,
		Email: "ada@example.com", OrgID: "org_01JENGINESADMFHXS2JFX687EA",
	}
	if claims != want || claims.JTI == client["jti"] || claims.JTI == "" {
		t.Errorf("assertion claims\n got %+v\nwant %+v (fresh jti)", claims, want)
	}
	if h := string(decodePart(t, strings.Split(assertion, ".")[0])); !strings.Contains(h, `"typ":"at+jwt"`) || !strings.Contains(h, `"alg":"ES256"`) {
		t.Errorf("assertion header %s", h)
	}
	if n := signer.signs.Load(); n != 1 {
		t.Errorf("kms:Sign calls %d, want 1", n)
	}
	// The policy covers the front door's API (every path of it), and no other API.
	for _, c := range []struct {
		arn  string
		want int
	}{
		{crmAPI.MethodARN("POST", "/"), http.StatusOK},
		{crmAPI.MethodARN("GET", "/any/path"), http.StatusOK},
		{gatewaytest.Default.MethodARN("POST", "/mcp"), http.StatusForbidden},
	} {
		if got := gatewaytest.Status(resp, nil, c.arn); got != c.want {
			t.Errorf("policy on %s: %d, want %d", c.arn, got, c.want)
		}
	}
	if logs := f.logs.String(); strings.Contains(logs, parts3(tok)) || strings.Contains(logs, parts3(assertion)) {
		t.Fatal("a token was logged")
	}
}

// TestRFC9068_FrontDoorTokenMustBeForItsResource: aud must be the front door's own resource
// (RFC 9068 §4; MCP: servers accept only tokens issued for themselves). A token for the
// built-in /mcp, the upstream assertion itself, or a token for the front door presented to the
// built-in API are all refused.
func TestRFC9068_FrontDoorTokenMustBeForItsResource(t *testing.T) {
	f, signer := newFrontDoorFixture(t)
	mcpToken := f.mint(t, "mcp:tools crm:read")
	if status, _ := f.handle(t, frontDoorEvent(crmAPI, "1", mcpToken)); status != http.StatusUnauthorized {
		t.Errorf("token for /mcp at the front door: %d, want 401", status)
	}
	if status, _ := f.handle(t, frontDoorEvent(crmAPI, "1", "")); status != http.StatusUnauthorized {
		t.Errorf("no token at the front door: %d, want 401", status)
	}

	crmToken := f.mint(t, "mcp:tools crm:read crm:write crm:export", withAudience(crmResource))
	_, resp := f.handle(t, frontDoorEvent(crmAPI, "1", crmToken))
	assertion := strings.TrimPrefix(resp.Context[guard.CtxUpstreamAuthorization].(string), "Bearer ")
	// The assertion's aud is the upstream, never a protected resource: it opens nothing here.
	if status, _ := f.handle(t, frontDoorEvent(crmAPI, "1", assertion)); status != http.StatusUnauthorized {
		t.Errorf("assertion at the front door: %d, want 401", status)
	}
	if status, _, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+assertion)); status != http.StatusUnauthorized {
		t.Errorf("assertion at /mcp: %d, want 401", status)
	}
	// The front door's token does not open the built-in MCP function, at /mcp or at the
	// front door's path on the built-in API (no route there: fails closed).
	if status, _, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+crmToken)); status != http.StatusUnauthorized {
		t.Errorf("front door token at /mcp: %d, want 401", status)
	}
	if status, _, _ := f.authorize(t, request("POST", "/mcp/crm", "Bearer "+crmToken)); status == http.StatusOK {
		t.Errorf("front door token at the built-in API's /mcp/crm: %d", status)
	}
	// The built-in route is unchanged: its own token still works there, with no assertion.
	status, resp, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+mcpToken))
	if status != http.StatusOK || resp.Context[guard.CtxUpstreamAuthorization] != nil {
		t.Errorf("/mcp: %d, context %v", status, resp.Context)
	}
	if n := signer.signs.Load(); n != 1 {
		t.Errorf("kms:Sign calls %d, want 1 (the one allowed front-door request)", n)
	}
}

// TestFrontDoorUnknownSlotFailsClosed: a frontDoor stage variable that names no configured
// front door, or front doors without a signer, is a server error (500), never an Allow.
func TestFrontDoorUnknownSlotFailsClosed(t *testing.T) {
	f, signer := newFrontDoorFixture(t)
	tok := f.mint(t, "mcp:tools crm:read", withAudience(crmResource))
	for _, slot := range []string{"2", "3", "0", "", "01", "1 ", "crm"} {
		if status, resp := f.handle(t, frontDoorEvent(crmAPI, slot, tok)); status != http.StatusInternalServerError {
			t.Errorf("frontDoor %q: status %d (%v)", slot, status, resp.Context)
		}
	}
	noSigner := newFixture(t, map[string]string{
		"PROTECTED_RESOURCES": testResource + "," + crmResource, "SCOPES_SUPPORTED": "mcp:tools crm:read",
		"FRONT_DOOR_1_RESOURCE": crmResource, "FRONT_DOOR_1_UPSTREAM": crmUpstream,
	})
	tok = noSigner.mint(t, "mcp:tools crm:read", withAudience(crmResource))
	if status, _ := noSigner.handle(t, frontDoorEvent(crmAPI, "1", tok)); status != http.StatusInternalServerError {
		t.Errorf("no assertion signer: status %d", status)
	}
	// A stack without front doors: any frontDoor value fails closed.
	plain := newFixture(t, nil)
	tok = plain.mint(t, "mcp:tools")
	if status, _ := plain.handle(t, frontDoorEvent(gatewaytest.Default, "1", tok)); status != http.StatusInternalServerError {
		t.Errorf("no front doors configured: status %d", status)
	}
	if n := signer.signs.Load(); n != 0 {
		t.Errorf("kms:Sign calls %d", n)
	}
	if !strings.Contains(f.logs.String(), `"reason":"unknown_front_door"`) {
		t.Error("refusal not logged")
	}
}

// TestMCP_FrontDoorInsufficientScopeDeniesWithRequiredScope: a valid token without the scopes
// the call needs gets a Deny (403, RFC 6750 §3.1 insufficient_scope; MCP step-up) whose
// context names them in required_scope, and costs no kms:Sign.
func TestMCP_FrontDoorInsufficientScopeDeniesWithRequiredScope(t *testing.T) {
	f, signer := newFrontDoorFixture(t)
	reader := f.mint(t, "mcp:tools crm:read", withAudience(crmResource))
	const v = "MCP-Protocol-Version"
	for _, c := range []struct {
		name, token string
		kv          []string
		status      int
		required    string
	}{
		{"a tool that needs more", reader, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "delete_contact"}, http.StatusForbidden, deleteScopes},
		{"base64 Mcp-Name", reader, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?ZXhwb3J0?="}, http.StatusForbidden, exportScopes},
		{"an older client: every tool's scopes", reader, []string{v, "2025-11-25"}, http.StatusForbidden, allTools},
		{"tools/call without Mcp-Name: every tool's scopes", reader, []string{v, "2026-07-28", "Mcp-Method", "tools/call"}, http.StatusForbidden, allTools},
		{"the path scopes missing", f.mint(t, "mcp:tools", withAudience(crmResource)), []string{v, "2026-07-28", "Mcp-Method", "tools/list"}, http.StatusForbidden, pathScopes},
	} {
		status, resp := f.handle(t, frontDoorEvent(crmAPI, "1", c.token, c.kv...))
		if status != c.status || resp.Context[guard.CtxRequiredScope] != c.required {
			t.Errorf("%s: status %d, required_scope %v; want %d, %q", c.name, status, resp.Context[guard.CtxRequiredScope], c.status, c.required)
		}
		if resp.Context[guard.CtxUpstreamAuthorization] != nil {
			t.Errorf("%s: a Deny carries an assertion", c.name)
		}
	}
	if n := signer.signs.Load(); n != 0 {
		t.Errorf("kms:Sign calls %d for refused requests", n)
	}
	// The same token is allowed where it has the scopes.
	if status, _ := f.handle(t, frontDoorEvent(crmAPI, "1", reader, v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "search")); status != http.StatusOK {
		t.Errorf("tool without scopes of its own: %d", status)
	}
	all := f.mint(t, allTools, withAudience(crmResource))
	if status, _ := f.handle(t, frontDoorEvent(crmAPI, "1", all, v, "2025-06-18")); status != http.StatusOK {
		t.Errorf("older client with every tool's scopes: %d", status)
	}
	if !strings.Contains(f.logs.String(), `"required":"`+allTools+`"`) {
		t.Error("the required scopes of a Deny are not logged")
	}
}

// TestFrontDoorAssertionCachedPerToken: a token costs one kms:Sign per front door and
// instance, whatever its requests; each new token one more; the cache is bounded (an evicted
// token is verified and signed for again).
func TestFrontDoorAssertionCachedPerToken(t *testing.T) {
	f, signer := newFrontDoorFixture(t)
	tok := f.mint(t, allTools, withAudience(crmResource))
	var first string
	for i, kv := range [][]string{
		{"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/list"},
		{"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "delete_contact"},
		{"MCP-Protocol-Version", "2025-11-25"},
		nil,
	} {
		status, resp := f.handle(t, frontDoorEvent(crmAPI, "1", tok, kv...))
		if status != http.StatusOK {
			t.Fatalf("request %d: %d", i, status)
		}
		got := resp.Context[guard.CtxUpstreamAuthorization].(string)
		if first == "" {
			first = got
		} else if got != first {
			t.Errorf("request %d: a new assertion", i)
		}
	}
	if n := signer.signs.Load(); n != 1 {
		t.Fatalf("kms:Sign calls %d for one token, want 1", n)
	}
	other := f.mint(t, allTools, withAudience(crmResource))
	f.handle(t, frontDoorEvent(crmAPI, "1", other))
	if n := signer.signs.Load(); n != 2 {
		t.Fatalf("kms:Sign calls %d for two tokens, want 2", n)
	}

	f.auth.WithCacheSize(1)
	f.handle(t, frontDoorEvent(crmAPI, "1", tok))
	f.handle(t, frontDoorEvent(crmAPI, "1", other)) // evicts tok
	f.handle(t, frontDoorEvent(crmAPI, "1", other))
	if n := signer.signs.Load(); n != 4 {
		t.Fatalf("kms:Sign calls %d with a one-entry cache, want 4", n)
	}
}

// TestRFC7519_FrontDoorNeverMintsAnExpiredAssertion: a token past its exp but within the
// clock leeway still verifies, yet an assertion would be born expired (RFC 7519 §4.1.4): the
// request gets 401 (the client refreshes), with no kms:Sign.
func TestRFC7519_FrontDoorNeverMintsAnExpiredAssertion(t *testing.T) {
	f, signer := newFrontDoorFixture(t)
	stale := f.mint(t, allTools, withAudience(crmResource), withClock(time.Now().Add(-15*time.Minute-10*time.Second)))
	if status, _ := f.handle(t, frontDoorEvent(crmAPI, "1", stale)); status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", status)
	}
	if n := signer.signs.Load(); n != 0 {
		t.Errorf("kms:Sign calls %d", n)
	}
}

// BenchmarkFrontDoorRepeatedToken: a front-door request with a token already verified and
// signed for (cache hit, per-tool scope decision from the mirrored headers, no KMS call).
func BenchmarkFrontDoorRepeatedToken(b *testing.B) {
	f, signer := newFrontDoorFixture(b)
	// As deployed: JSON at INFO (an Allow is logged at DEBUG only), one EMF line per second.
	f.auth = guard.New(f.cfg, f.keys, slog.New(slog.NewJSONHandler(io.Discard, nil))).
		WithMetrics(obs.NewMetrics(io.Discard, "AuthorizerFunction")).
		WithAssertionMinter(tokens.NewMinter(signer, f.keyID, testIssuer, 0))
	ev := frontDoorEvent(crmAPI, "1", f.mint(b, allTools, withAudience(crmResource)),
		"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "delete_contact")
	ctx := context.Background()
	if _, err := f.auth.Handle(ctx, ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := f.auth.Handle(ctx, ev)
		if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
			b.Fatal(err)
		}
	}
	if n := signer.signs.Load(); n != 1 {
		b.Fatalf("kms:Sign calls %d", n)
	}
}
