package authserver_test

// Helpers shared by the conformance_*_test.go files: raw HTTP calls, table inspection
// (to prove a rejected request wrote nothing), and short-cuts through the flow.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/testenv"
)

// ---- the table ----

// countItems counts the stack's items with a consistent Scan (Select: COUNT).
func (s *stack) countItems(t *testing.T) int {
	t.Helper()
	total := 0
	var start map[string]types.AttributeValue
	for {
		out, err := s.DB.Scan(context.Background(), &dynamodb.ScanInput{
			TableName: aws.String(s.Table), Select: types.SelectCount, ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			t.Fatalf("scan count: %v", err)
		}
		total += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return total
		}
		start = out.LastEvaluatedKey
	}
}

// scanItems returns every item of the stack's table.
func (s *stack) scanItems(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	var start map[string]types.AttributeValue
	for {
		out, err := s.DB.Scan(context.Background(), &dynamodb.ScanInput{
			TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items
		}
		start = out.LastEvaluatedKey
	}
}

// snapshot renders the whole table canonically (items sorted by key, attributes by name),
// so an update in place shows up as well as an added or deleted item.
func (s *stack) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, it := range s.scanItems(t) {
		lines = append(lines, itemString(it))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func itemString(it map[string]types.AttributeValue) string { return testenv.ItemString(it) }

func avString(v types.AttributeValue) string { return testenv.AttributeString(v) }

// avContains reports whether secret appears anywhere in v, as text or as bytes.
func avContains(v types.AttributeValue, secret string) bool {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return strings.Contains(v.Value, secret)
	case *types.AttributeValueMemberB:
		return bytes.Contains(v.Value, []byte(secret)) || strings.Contains(base64.StdEncoding.EncodeToString(v.Value), secret) ||
			strings.Contains(base64.RawURLEncoding.EncodeToString(v.Value), secret)
	case *types.AttributeValueMemberL:
		return slices.ContainsFunc(v.Value, func(e types.AttributeValue) bool { return avContains(e, secret) })
	case *types.AttributeValueMemberM:
		for k, e := range v.Value {
			if strings.Contains(k, secret) || avContains(e, secret) {
				return true
			}
		}
	case *types.AttributeValueMemberSS:
		return slices.ContainsFunc(v.Value, func(e string) bool { return strings.Contains(e, secret) })
	}
	return false
}

// noWrites runs fn and fails unless the table is exactly as before: same item count
// (Scan COUNT) and same content.
func (s *stack) noWrites(t *testing.T, what string, fn func()) {
	t.Helper()
	count, before := s.countItems(t), s.snapshot(t)
	fn()
	if got := s.countItems(t); got != count {
		t.Fatalf("%s: the table went from %d to %d items; a rejected request must write nothing", what, count, got)
	}
	if after := s.snapshot(t); after != before {
		t.Fatalf("%s: an item changed; a rejected request must write nothing\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}

// ---- raw HTTP ----

type reply struct {
	Status int
	Header http.Header
	Body   string
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("not JSON (%d): %q", r.Status, r.Body)
	}
	return out
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request without following redirects. header holds name, value pairs.
func do(t *testing.T, method, raw, contentType, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, raw, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, raw, err)
	}
	return reply{resp.StatusCode, resp.Header, readBody(t, resp)}
}

const formType = "application/x-www-form-urlencoded"

// wantOAuthError checks an RFC 6749 §5.2 / RFC 7591 §3.2.2 error: the status, the code,
// a body that is exactly {"error","error_description"}, JSON, Cache-Control: no-store, and
// for invalid_client a 401 with WWW-Authenticate.
func wantOAuthError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (%s)", r.Status, status, r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("error Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("error body is not JSON: %q", r.Body)
	}
	if len(body) != 2 || body["error"] != code {
		t.Fatalf("error body %s, want exactly {error: %q, error_description}", r.Body, code)
	}
	if d, ok := body["error_description"].(string); !ok || d == "" {
		t.Fatalf("error_description missing or not a string: %s", r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error Cache-Control %q, want no-store (RFC 6749 §5.1)", r.Header.Get("Cache-Control"))
	}
	if status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate (RFC 6749 §5.2 invalid_client)")
	}
}

// postToken posts a form to the token endpoint; basic is an optional id, secret pair.
func (s *stack) postToken(t *testing.T, form url.Values, basic ...string) reply {
	t.Helper()
	return s.postFormRaw(t, authserver.PathToken, form, basic...)
}

func (s *stack) postFormRaw(t *testing.T, path string, form url.Values, basic ...string) reply {
	t.Helper()
	var hdr []string
	if len(basic) == 2 {
		cred := url.QueryEscape(basic[0]) + ":" + url.QueryEscape(basic[1])
		hdr = []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}
	}
	return do(t, http.MethodPost, s.Issuer+path, formType, form.Encode(), hdr...)
}

// ---- flow short-cuts ----

func (s *stack) authorizeURL(q url.Values) string {
	return s.Issuer + authserver.PathAuthorize + "?" + q.Encode()
}

// publicClient registers a public client (refresh allowed) and returns its id.
func (s *stack) publicClient(t *testing.T, name string, redirectURIs ...string) string {
	t.Helper()
	uris, _ := json.Marshal(redirectURIs)
	reg := s.register(t, fmt.Sprintf(`{"client_name":%q,"redirect_uris":%s,"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`, name, uris))
	return str(reg, "client_id")
}

// confidentialClient registers a client authenticating with method and returns id, secret.
func (s *stack) confidentialClient(t *testing.T, method string, redirectURIs ...string) (string, string) {
	t.Helper()
	uris, _ := json.Marshal(redirectURIs)
	reg := s.register(t, fmt.Sprintf(`{"client_name":"Confidential","redirect_uris":%s,"token_endpoint_auth_method":%q,"grant_types":["authorization_code","refresh_token"]}`, uris, method))
	return str(reg, "client_id"), str(reg, "client_secret")
}

// grant is one finished authorization: the code and what is needed to redeem it.
type grant struct {
	ClientID, RedirectURI, Code, Verifier, Resource string
}

// authorizeCode runs the browser part of the flow for a client and returns the code.
func (s *stack) authorizeCode(t *testing.T, clientID, redirectURI, scope string) grant {
	t.Helper()
	verifier, challenge := pkce()
	resource := s.Issuer + "/mcp"
	final := s.signIn(t, newBrowser(t), authorizeParams(clientID, redirectURI, challenge, "xyz", resource, scope), "ada@example.com")
	code := final.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", final)
	}
	return grant{ClientID: clientID, RedirectURI: redirectURI, Code: code, Verifier: verifier, Resource: resource}
}

func (g grant) form() url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {g.Code}, "redirect_uri": {g.RedirectURI},
		"code_verifier": {g.Verifier}, "client_id": {g.ClientID}, "resource": {g.Resource}}
}

// tokens runs the whole flow for a public client and returns the token response.
func (s *stack) tokens(t *testing.T, clientID, redirectURI, scope string) map[string]any {
	t.Helper()
	g := s.authorizeCode(t, clientID, redirectURI, scope)
	r := s.postToken(t, g.form())
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	return r.json(t)
}

func refreshForm(clientID, token string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {clientID}}
}

// freePort returns a TCP port that was free a moment ago (what a native client listens on).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// noCORS fails if any Access-Control-* header is present.
func noCORS(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Fatalf("%s answered with %s: %q; browser pages must not allow cross-origin reads", what, k, h.Get(k))
		}
	}
}

// pageText is the part of an HTML page worth printing in a failure: what is inside <main>.
func pageText(page string) string {
	if _, after, ok := strings.Cut(page, "<main>"); ok {
		page, _, _ = strings.Cut(after, "</main>")
	}
	return strings.Join(strings.Fields(page), " ")
}
