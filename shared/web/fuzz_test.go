package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/web"
)

// Fuzz targets of the request parsers in this package. Their seeds run with go test; a longer
// run: go test -run '^$' -fuzz '^FuzzParseForm$' -fuzztime 30s ./shared/web
// (infra/fuzz/targets.txt lists every target).

// checkInvalidRequest fails unless e is RFC 6749 §5.2's invalid_request with a description
// in its charset.
func checkInvalidRequest(t *testing.T, e *oauth.Error) {
	t.Helper()
	if e == nil || e.Code != "invalid_request" || e.Status != http.StatusBadRequest ||
		e.Description == "" || !oauth.AllowedInDescription(e.Description) {
		t.Fatalf("not an RFC 6749 section 5.2 invalid_request: %#v", e)
	}
}

// FuzzParseForm feeds a body, its Content-Type and whether its length is declared through
// ParseForm, the reader of every token, revocation, introspection and consent form.
func FuzzParseForm(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	for _, s := range []struct {
		body, ct string
		chunked  bool
		pad      uint16
	}{
		{"grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_verifier=v", form, false, 0},
		{"grant_type=refresh_token&refresh_token=r&client_id=c", form + "; charset=UTF-8", true, 0},
		{"client_id=a&client_id=b", form, false, 0},
		{"client_id=a&CLIENT_ID=b&client_id", form, false, 0},
		{"a=1;b=2", form, false, 0},
		{"%zz=1", form, false, 0},
		{"a=%00%ff%C0%AF&b=\x00", form, false, 0},
		{"a=", form, false, web.MaxFormBody - 2},
		{"a=", form, true, web.MaxFormBody - 1},
		{"a=%", form, false, 65535},
		{"", form, false, 0},
		{"a=1", "application/json", false, 0},
		{"a=1", "Application/X-WWW-Form-Urlencoded ; q=1", false, 0},
		{"a=1", "application/x-www-form-urlencoded; charset=\"", false, 0},
		{"a=1", "", false, 0},
		{"=&=&=", form, false, 0},
		{"redirect_uri=javascript:alert(1)&redirect_uri=javascript:alert(2)", form, false, 0},
	} {
		f.Add([]byte(s.body), s.ct, s.chunked, s.pad)
	}
	// pad appends that many bytes to the body: inputs stay small, so the fuzzer can shrink
	// them, while bodies around the limit stay reachable.
	f.Fuzz(func(t *testing.T, body []byte, contentType string, chunked bool, pad uint16) {
		body = append(body, bytes.Repeat([]byte("x"), int(pad))...)
		r := httptest.NewRequest(http.MethodPost, "/api/ext/auth/token", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		if chunked {
			r.ContentLength = -1 // no declared length: the limit must hold while reading
		}
		got, err := web.ParseForm(r)
		want, perr := url.ParseQuery(string(body))
		repeated := false
		for _, vals := range want {
			repeated = repeated || len(vals) > 1
		}
		isForm := web.HasMediaType(r, "application/x-www-form-urlencoded")
		if err != nil {
			checkInvalidRequest(t, err)
			if got != nil {
				t.Fatalf("a form with the error %v", err)
			}
			// Refused only for a reason: RFC 6749 §3.2 form encoding, a parameter at most
			// once, the body limit.
			if isForm && perr == nil && !repeated && len(body) <= web.MaxFormBody {
				t.Fatalf("refused a valid %d-byte form %q: %v", len(body), body, err)
			}
			return
		}
		if !isForm || len(body) > web.MaxFormBody || perr != nil {
			t.Fatalf("accepted %d bytes of %q (parse error %v)", len(body), contentType, perr)
		}
		// RFC 6749 §3.2: request parameters MUST NOT be included more than once.
		for name, vals := range got {
			if len(vals) != 1 {
				t.Fatalf("parameter %q has %d values", name, len(vals))
			}
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("form %q, url.ParseQuery reads %q", got, want)
		}
	})
}

// adapterSeen is what the handler behind LambdaHandler saw of one request.
type adapterSeen struct {
	called   bool
	req      *http.Request
	body     []byte
	bodyErr  *oauth.Error
	clientIP string
}

// runAdapter sends ev through LambdaHandler to a handler that reads the body with the form
// limit, panics on a path containing /panic, and otherwise answers 200.
func runAdapter(t *testing.T, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, adapterSeen) {
	t.Helper()
	var seen adapterSeen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.called, seen.req, seen.clientIP = true, r, web.ClientIP(r)
		seen.body, seen.bodyErr = web.ReadBody(r, web.MaxFormBody)
		if strings.Contains(r.URL.Path, "/panic") {
			panic("fuzz: handler panicked")
		}
		if seen.bodyErr != nil {
			web.OAuthError(w, seen.bodyErr)
			return
		}
		web.JSON(w, http.StatusOK, map[string]int{"bytes": len(seen.body)})
	})
	resp, err := web.LambdaHandler(h, slog.New(slog.DiscardHandler))(context.Background(), ev)
	if err != nil {
		// A Lambda error is API Gateway's 502 with its own body: never for a client's request.
		t.Fatalf("LambdaHandler returned an error: %v", err)
	}
	return resp, seen
}

// checkAdapter checks the properties of one adapted event.
func checkAdapter(t *testing.T, ev events.APIGatewayProxyRequest) {
	t.Helper()
	decoded := []byte(ev.Body)
	badBase64 := false
	if ev.IsBase64Encoded {
		var err error
		decoded, err = base64.StdEncoding.DecodeString(ev.Body)
		badBase64 = err != nil
	}
	sourceIP := ev.RequestContext.Identity.SourceIP
	resp, seen := runAdapter(t, ev)

	// RFC 6797 §7.1: every answer carries Strict-Transport-Security.
	if resp.Headers["Strict-Transport-Security"] == "" && len(resp.MultiValueHeaders["Strict-Transport-Security"]) == 0 {
		t.Fatalf("status %d without Strict-Transport-Security", resp.StatusCode)
	}
	if !seen.called {
		// RFC 6749 §5.2's shape for an event that is no request: 400 invalid_request.
		var body map[string]string
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(resp.Body), &body) != nil ||
			body["error"] != "invalid_request" || !oauth.AllowedInDescription(body["error_description"]) {
			t.Fatalf("event refused with %d %q", resp.StatusCode, resp.Body)
		}
		return
	}
	if badBase64 {
		t.Fatal("a body that is not base64 reached the handler")
	}
	r := seen.req
	// The adapter's context headers could carry forged claims: never passed on.
	for k := range r.Header {
		if strings.EqualFold(k, core.APIGwContextHeader) || strings.EqualFold(k, core.APIGwStageVarsHeader) {
			t.Fatalf("header %q reached the handler", k)
		}
	}
	if sourceIP != "" && seen.clientIP != sourceIP {
		t.Fatalf("ClientIP %q, event sourceIp %q", seen.clientIP, sourceIP)
	}
	if want := strings.ToUpper(ev.HTTPMethod); r.Method != want && !(want == "" && r.Method == http.MethodGet) {
		t.Fatalf("method %q from %q", r.Method, ev.HTTPMethod)
	}
	// The body is the event's, and never more than the limit reaches the handler.
	if len(seen.body) > web.MaxFormBody {
		t.Fatalf("ReadBody returned %d bytes, limit %d", len(seen.body), web.MaxFormBody)
	}
	if len(decoded) > web.MaxFormBody {
		checkInvalidRequest(t, seen.bodyErr)
	} else if seen.bodyErr != nil || !bytes.Equal(seen.body, decoded) {
		t.Fatalf("handler read %q (%v), the event carries %q", seen.body, seen.bodyErr, decoded)
	}
	var body map[string]any
	if strings.Contains(r.URL.Path, "/panic") {
		// A panic is a bare 500 that reveals nothing.
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, `"error":"server_error"`) || strings.Contains(resp.Body, "fuzz") {
			t.Fatalf("panic answered %d %q", resp.StatusCode, resp.Body)
		}
		return
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest) {
		t.Fatalf("answered %d %q (%v)", resp.StatusCode, resp.Body, err)
	}
}

// eventSeeds returns the committed API Gateway events of the repository (events/*.json).
func eventSeeds(f *testing.F) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// quiet silences the proxy library, which prints every event it cannot convert.
func quiet(f *testing.F) {
	log.SetOutput(io.Discard)
	f.Cleanup(func() { log.SetOutput(os.Stderr) })
}

// FuzzLambdaEvent feeds JSON, decoded as the Lambda runtime decodes an API Gateway REST proxy
// event, through LambdaHandler.
func FuzzLambdaEvent(f *testing.F) {
	quiet(f)
	for _, b := range eventSeeds(f) {
		f.Add(b)
	}
	for _, s := range []string{
		`{"httpMethod":"POST","path":"/api/ext/auth/token","headers":{"Content-Type":"application/x-www-form-urlencoded","X-GoLambdaProxy-ApiGw-Context":"{\"identity\":{\"sourceIp\":\"6.6.6.6\"}}"},"body":"a=1","requestContext":{"identity":{"sourceIp":"203.0.113.7"}}}`,
		`{"httpMethod":"POST","path":"/x","multiValueHeaders":{"x-golambdaproxy-stage-vars":["{}"],"X-GOLAMBDAPROXY-APIGW-CONTEXT":["{}"]},"body":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 40)) + `","isBase64Encoded":true}`,
		`{"httpMethod":"POST","path":"/x","body":"not base64!","isBase64Encoded":true}`,
		`{"httpMethod":"GET X","path":"/x"}`,
		`{"httpMethod":"GET","path":"/x","requestContext":{"domainName":"a b"}}`,
		`{"httpMethod":"GET","path":"/panic"}`,
		`{"httpMethod":"get","path":"%zz","multiValueQueryStringParameters":{"a":["1","2"],"a\u0000":["\u0000"]},"queryStringParameters":{"b":"c"}}`,
		`{"httpMethod":"POST","path":"/x","path":"/panic","headers":{"Content-Length":"1"},"body":"abc"}`,
		`{"httpMethod":"POST","path":"/x","requestContext":{"requestTimeEpoch":1e999}}`,
		`{"httpMethod":"POST","headers":{"a":{"b":{"c":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.APIGatewayProxyRequest
		if json.Unmarshal(data, &ev) != nil {
			return // the Lambda runtime refuses such a payload before any handler runs
		}
		checkAdapter(t, ev)
	})
}

// FuzzLambdaRequest builds proxy events field by field (method, path, query, one header, body)
// and sends them through LambdaHandler.
func FuzzLambdaRequest(f *testing.F) {
	quiet(f)
	for _, s := range []struct {
		method, path, query, name, value, body, sourceIP string
		b64, multi                                       bool
		pad                                              uint16
	}{
		{"POST", "/api/ext/auth/token", "", "Content-Type", "application/x-www-form-urlencoded", "grant_type=x", "203.0.113.7", false, true, 0},
		{"GET", "/api/ext/auth/authorize", "redirect_uri=https://a.example/cb", "Cookie", "__Host-authbridge-browser=abb_x", "", "::1", false, false, 0},
		{"POST", "/panic", "", "x-golambdaproxy-apigw-context", `{"authorizer":{"sub":"forged"}}`, "", "", false, true, 0},
		{"POST", "/x", "a\x00=\xff", "Authorization", "Bearer a.b.c", base64.StdEncoding.EncodeToString([]byte("\x00\x01")), "", true, false, 0},
		{"POST", "/x", "", "", "", "%%%", "", true, false, 0},
		{"P OST", "x", "", "X-GoLambdaProxy-Stage-Vars", "{}", "", "", false, false, 0},
		{"get", "//evil.example/x", "", "Host", "evil.example", "", "1.2.3.4:5", false, true, 0},
		{"POST", "/x", "", "Content-Type", "application/x-www-form-urlencoded", "a=", "", false, false, web.MaxFormBody - 2},
		{"POST", "/x", "", "Content-Length", "3", "a=", "", false, false, web.MaxFormBody - 1},
		{"POST", "/x", "", "", "", "QUFB", "", true, false, 21848}, // base64 of 16389 bytes, over the limit
	} {
		f.Add(s.method, s.path, s.query, s.name, s.value, s.body, s.sourceIP, s.b64, s.multi, s.pad)
	}
	f.Fuzz(func(t *testing.T, method, path, query, name, value, body, sourceIP string, b64, multi bool, pad uint16) {
		if b64 {
			body += strings.Repeat("QUFB", int(pad)/4) // "AAA" per 4 characters
		} else {
			body += strings.Repeat("x", int(pad))
		}
		ev := events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Body: body, IsBase64Encoded: b64}
		ev.RequestContext.Identity.SourceIP = sourceIP
		ev.RequestContext.DomainName = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
		if q, err := url.ParseQuery(query); err == nil && len(q) > 0 {
			ev.MultiValueQueryStringParameters = q
		}
		ev.Headers = map[string]string{name: value}
		if multi {
			ev.MultiValueHeaders = map[string][]string{name: {value, value}}
		}
		checkAdapter(t, ev)
	})
}
