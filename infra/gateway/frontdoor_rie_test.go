package gateway_test

// Front doors: the fixture's FrontDoorApi, mapped at mcp/door on the custom domain, is an
// HTTP proxy to an upstream (an httptest server here) behind the fixture's authorizer
// running under the Lambda Runtime Interface Emulator.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
)

// upstreamSeen is one request the upstream received.
type upstreamSeen struct {
	method, uri string
	header      http.Header
	body        string
}

// upstream is an MCP server stand-in that records requests and answers with answer.
func upstream(t *testing.T, answer http.HandlerFunc) (*httptest.Server, func() []upstreamSeen) {
	t.Helper()
	var mu sync.Mutex
	var seen []upstreamSeen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, upstreamSeen{r.Method, r.RequestURI, r.Header.Clone(), string(body)})
		mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []upstreamSeen {
		mu.Lock()
		defer mu.Unlock()
		return append([]upstreamSeen(nil), seen...)
	}
}

// doorServer serves the fixture with its front door pointed at upstreamURL.
func doorServer(t *testing.T, upstreamURL string, params map[string]string) *httptest.Server {
	t.Helper()
	if stack.err != nil {
		t.Fatalf("local stack: %v", stack.err)
	}
	p := map[string]string{"Upstream": upstreamURL}
	for k, v := range params {
		p[k] = v
	}
	tmpl, err := gateway.Load("testdata/template.yaml", p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := gateway.NewHandler(tmpl, gateway.Config{Invoker: stack.runner})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Identity headers mapped from the authorizer's context replace the client's own: API
// Gateway does not document it (rest-api-parameter-mapping.html), the front door relies on it.
func TestFrontDoorMappedHeadersReplaceClientHeaders(t *testing.T) {
	up, seen := upstream(t, nil)
	srv := doorServer(t, up.URL+"/mcp", nil)
	tok := uniqueToken("allow")
	r := do(t, "POST", srv.URL+"/mcp/door", strings.NewReader(`{"jsonrpc":"2.0"}`),
		"Authorization", "Bearer "+tok, "X-Authbridge-User-Id", "forged-admin", "X-Static", "client",
		"Mcp-Method", "tools/list", "Connection", "X-Hop", "X-Hop", "1")
	if r.status != 200 || string(r.body) != `{"ok":true}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	h := got[0].header
	if v := h.Values("X-Authbridge-User-Id"); len(v) != 1 || v[0] != "user-1" {
		t.Errorf("X-Authbridge-User-Id = %q, want only the authorizer's user-1", v)
	}
	if v := h.Values("X-Static"); len(v) != 1 || v[0] != "fixed" {
		t.Errorf("X-Static = %q, want only the static 'fixed'", v)
	}
	if h.Get("Mcp-Method") != "tools/list" || got[0].body != `{"jsonrpc":"2.0"}` || got[0].method != "POST" || got[0].uri != "/mcp" {
		t.Errorf("upstream request %+v", got[0])
	}
	if h.Get("X-Hop") != "" || h.Get("Connection") != "" {
		t.Errorf("hop-by-hop headers were forwarded: %v", h)
	}
}

// MCP security best practices: "Token passthrough is explicitly forbidden": the client's
// bearer token is replaced by the authorizer's upstream_authorization.
func TestFrontDoorClientTokenNeverReachesUpstream(t *testing.T) {
	up, seen := upstream(t, nil)
	srv := doorServer(t, up.URL+"/mcp", nil)
	tok := uniqueToken("allow")
	do(t, "GET", srv.URL+"/mcp/door/a/b", nil, "Authorization", "Bearer "+tok)
	got := seen()
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	if v := got[0].header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer upstream-assertion-1" {
		t.Errorf("upstream Authorization = %q, want only the assertion for front door 1", v)
	}
	for k, vs := range got[0].header {
		for _, v := range vs {
			if strings.Contains(v, tok) {
				t.Errorf("the client's token reached the upstream in %s", k)
			}
		}
	}
}

// A mapping whose value is empty (the authorizer's context has no email) removes the
// header: the client cannot supply it instead.
func TestFrontDoorEmptyMappingRemovesHeader(t *testing.T) {
	up, seen := upstream(t, nil)
	srv := doorServer(t, up.URL+"/mcp", nil)
	do(t, "GET", srv.URL+"/mcp/door", nil, "Authorization", "Bearer "+uniqueToken("allow"), "X-Authbridge-Email", "forged@example.com")
	if got := seen(); len(got) != 1 || len(got[0].header.Values("X-Authbridge-Email")) != 0 {
		t.Errorf("X-Authbridge-Email reached the upstream: %v", got)
	}
}

// "API Gateway strips the incoming base path" (rest-api-mappings.html); the greedy
// {proxy} goes into the uri, with the query string.
func TestFrontDoorPathAndQuery(t *testing.T) {
	up, seen := upstream(t, nil)
	srv := doorServer(t, up.URL+"/mcp", nil)
	tok := uniqueToken("allow")
	do(t, "GET", srv.URL+"/mcp/door/a/b%20c?x=1", nil, "Authorization", "Bearer "+tok)
	do(t, "DELETE", srv.URL+"/mcp/door/", nil, "Authorization", "Bearer "+tok)
	got := seen()
	if len(got) != 2 || got[0].uri != "/mcp/a/b%20c?x=1" || got[1].uri != "/mcp" || got[1].method != "DELETE" {
		t.Fatalf("upstream requests %+v", got)
	}
	// The root API is still at the root; a path beside the mapping is not the front door's.
	if r := do(t, "GET", srv.URL+"/mcp/doorway", nil, "Authorization", "Bearer "+tok); r.status != 403 || !strings.Contains(string(r.body), "Missing Authentication Token") {
		t.Errorf("/mcp/doorway: %d %s", r.status, r.body)
	}
}

// The shared authorizer learns the front door from the stage variables in its event
// ("stageVariables" of the REQUEST authorizer input), and the methodArn is the front
// door API's.
func TestFrontDoorAuthorizerEvent(t *testing.T) {
	up, _ := upstream(t, nil)
	srv := doorServer(t, up.URL+"/mcp", nil)
	tok := uniqueToken("allow")
	do(t, "POST", srv.URL+"/mcp/door/x", strings.NewReader("{}"), "Authorization", "Bearer "+tok)
	calls := authCalls(t, tok)
	if len(calls) != 1 {
		t.Fatalf("authorizer called %d times", len(calls))
	}
	ev := calls[0]
	sv, _ := ev["stageVariables"].(map[string]any)
	door := stack.tmpl.APIs["FrontDoorApi"]
	wantArn := "arn:aws:execute-api:us-east-1:123456789012:" + door.ID + "/Prod/POST/x"
	if sv["frontDoor"] != "1" || ev["methodArn"] != wantArn || ev["resource"] != "/{proxy+}" || ev["path"] != "/x" {
		t.Errorf("authorizer event: stageVariables %v methodArn %v (want %s) resource %v path %v", sv, ev["methodArn"], wantArn, ev["resource"], ev["path"])
	}
}

// response-transfer-mode.html: with STREAM "API Gateway doesn't wait" for the complete
// response: the first SSE event arrives while the upstream is still writing.
func TestFrontDoorStreamsSSE(t *testing.T) {
	release := make(chan struct{})
	up, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = fmt.Fprint(w, "event: message\ndata: {\"first\":true}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		_, _ = fmt.Fprint(w, "event: message\ndata: {\"last\":true}\n\n")
	})
	srv := doorServer(t, up.URL+"/mcp", nil)
	req, _ := http.NewRequest("POST", srv.URL+"/mcp/door", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+uniqueToken("allow"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() {
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\n" {
				first <- b.String()
				return
			}
		}
	}()
	select {
	case ev := <-first:
		if !strings.Contains(ev, `{"first":true}`) {
			t.Fatalf("first event %q", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive before the upstream finished")
	}
	close(release)
	rest, _ := bufio.NewReader(br).ReadString(0)
	if !strings.Contains(rest, `{"last":true}`) {
		t.Errorf("rest of the stream %q", rest)
	}
}

// response-transfer-mode.html: "By default, API Gateway waits to receive the complete
// response before beginning transmission" (BUFFERED).
func TestFrontDoorBufferedWaitsForWholeResponse(t *testing.T) {
	up, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = fmt.Fprint(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(700 * time.Millisecond)
		_, _ = fmt.Fprint(w, "data: 2\n\n")
	})
	srv := doorServer(t, up.URL+"/mcp", map[string]string{"TransferMode": "BUFFERED"})
	req, _ := http.NewRequest("POST", srv.URL+"/mcp/door", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+uniqueToken("allow"))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if took := time.Since(start); took < 600*time.Millisecond || resp.Header.Get("Content-Length") != "18" {
		t.Errorf("buffered response headers after %v, Content-Length %q", took, resp.Header.Get("Content-Length"))
	}
}

// supported-gateway-response-types.html, INTEGRATION_FAILURE: the template answers 502
// with its JSON body when the upstream cannot be reached, without waiting for the timeout.
func TestFrontDoorUpstreamDownIs502(t *testing.T) {
	up, _ := upstream(t, nil)
	url := up.URL + "/mcp"
	up.Close() // connection refused from now on
	srv := doorServer(t, url, nil)
	start := time.Now()
	r := do(t, "POST", srv.URL+"/mcp/door", strings.NewReader("{}"), "Authorization", "Bearer "+uniqueToken("allow"))
	if r.status != 502 || string(r.body) != `{"error":"upstream_unavailable"}` || r.header.Get("Cache-Control") != "no-store" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("%d %v %s", r.status, r.header, r.body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

// supported-gateway-response-types.html, INTEGRATION_TIMEOUT: timeoutInMillis without
// response headers is the template's 504.
func TestFrontDoorSlowUpstreamIs504(t *testing.T) {
	up, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := doorServer(t, up.URL+"/mcp", map[string]string{"UpstreamTimeoutMillis": "300"})
	start := time.Now()
	r := do(t, "POST", srv.URL+"/mcp/door", strings.NewReader("{}"), "Authorization", "Bearer "+uniqueToken("allow"))
	took := time.Since(start)
	if r.status != 504 || string(r.body) != `{"error":"upstream_timeout"}` {
		t.Errorf("%d %s", r.status, r.body)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("answered after %v, want about the 300 ms timeout", took)
	}
}

// RFC 9728 §5.1 and RFC 6750 §3.1: the front door's own challenges name its own resource
// metadata; the 403 body has the authorizer's required_scope (Deny context,
// api-gateway-gatewayResponse-definition.html: templates "can access $context variable values").
func TestFrontDoorChallenges(t *testing.T) {
	up, seen := upstream(t, nil)
	srv := doorServer(t, up.URL+"/mcp", nil)
	r := do(t, "POST", srv.URL+"/mcp/door", strings.NewReader("{}"))
	if want := `Bearer resource_metadata="https://auth.example.test/.well-known/oauth-protected-resource/mcp/door"`; r.status != 401 || r.header.Get("WWW-Authenticate") != want {
		t.Errorf("401: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	r = do(t, "POST", srv.URL+"/mcp/door/x", strings.NewReader("{}"), "Authorization", "Bearer "+uniqueToken("deny"))
	if r.status != 403 || string(r.body) != `{"error":"insufficient_scope","scope":"mcp:tools crm:write","door":"1"}` ||
		!strings.Contains(r.header.Get("WWW-Authenticate"), `resource_metadata="https://auth.example.test/.well-known/oauth-protected-resource/mcp/door"`) {
		t.Errorf("403: %d %q %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
	}
	var doc map[string]string
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Errorf("403 body is not JSON: %v", err)
	}
	// The root API keeps its own challenge.
	if r := do(t, "POST", srv.URL+"/mcp", strings.NewReader("{}")); !strings.HasSuffix(r.header.Get("WWW-Authenticate"), `oauth-protected-resource/mcp"`) {
		t.Errorf("root API 401: %q", r.header.Get("WWW-Authenticate"))
	}
	if n := len(seen()); n != 0 {
		t.Errorf("refused requests reached the upstream %d times", n)
	}
}

// execute-api serves one API per host: with a stage prefix only the main API is served,
// and the front door's base path is just an unknown path of it.
func TestFrontDoorNotServedUnderStagePrefix(t *testing.T) {
	up, seen := upstream(t, nil)
	tmpl, err := gateway.Load("testdata/template.yaml", map[string]string{"Upstream": up.URL + "/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := gateway.NewHandler(tmpl, gateway.Config{Stage: "/Prod", Invoker: stack.runner})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := do(t, "POST", srv.URL+"/Prod/mcp/door", strings.NewReader("{}"), "Authorization", "Bearer "+uniqueToken("allow"))
	if r.status != 403 || !strings.Contains(string(r.body), "Missing Authentication Token") || len(seen()) != 0 {
		t.Errorf("%d %s, upstream saw %d", r.status, r.body, len(seen()))
	}
	if len(h.Mounted()) != 0 {
		t.Errorf("mounted %d APIs under a stage prefix", len(h.Mounted()))
	}
}

// MCP Streamable HTTP (2025-11-25, still served by dual-era upstreams): the session id the
// upstream hands out comes back to the client, and the client's Mcp-Session-Id, GET and DELETE
// reach the upstream unchanged (an HTTP proxy integration passes methods and headers through).
func TestFrontDoorKeepsStreamableHTTPSessions(t *testing.T) {
	up, seen := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Mcp-Session-Id", "session-1")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	srv := doorServer(t, up.URL+"/mcp", nil)
	tok := uniqueToken("allow")
	r := do(t, "POST", srv.URL+"/mcp/door", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize"}`), "Authorization", "Bearer "+tok)
	if r.status != 200 || r.header.Get("Mcp-Session-Id") != "session-1" {
		t.Fatalf("initialize: %d %v", r.status, r.header)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := do(t, m, srv.URL+"/mcp/door", nil, "Authorization", "Bearer "+tok, "Mcp-Session-Id", "session-1"); r.status != 200 {
			t.Fatalf("%s: %d %s", m, r.status, r.body)
		}
	}
	got := seen()
	if len(got) != 3 {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	for i, m := range []string{"POST", "GET", "DELETE"} {
		if got[i].method != m || got[i].uri != "/mcp" || (i > 0 && got[i].header.Get("Mcp-Session-Id") != "session-1") {
			t.Errorf("request %d: %s %s %v", i, got[i].method, got[i].uri, got[i].header)
		}
	}
}
