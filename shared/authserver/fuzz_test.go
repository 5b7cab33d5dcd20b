package authserver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// Fuzz targets of the endpoints' request parsing, through the real handlers. Their seeds run
// with go test; a longer run:
// go test -run '^$' -fuzz '^FuzzTokenEndpoint$' -fuzztime 30s ./shared/authserver
// (infra/fuzz/targets.txt lists every target). No DynamoDB, KMS or WorkOS: the store's
// DynamoDB client fails every call at once without a connection, so a request that gets past
// parsing ends at the store with 503 temporarily_unavailable; only parsing can refuse it.

// downDynamoDB is an HTTP client for the DynamoDB SDK that never connects.
type downDynamoDB struct{}

var errDown = errors.New("fuzz: DynamoDB is unreachable")

func (downDynamoDB) Do(*http.Request) (*http.Response, error) { return nil, errDown }

// noKMS and noSignIn are dependencies no parsing path may reach.
type noKMS struct{}

func (noKMS) Sign(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error) {
	return nil, errors.New("fuzz: KMS reached")
}

type noSignIn struct{}

func (noSignIn) AuthorizationURL(string, string) (string, error) {
	return "", errors.New("fuzz: WorkOS reached")
}
func (noSignIn) Authenticate(context.Context, string, string, string, string) (upstream.Identity, error) {
	return upstream.Identity{}, errors.New("fuzz: WorkOS reached")
}
func (noSignIn) Refresh(context.Context, string, string) (upstream.Identity, error) {
	return upstream.Identity{}, errors.New("fuzz: WorkOS reached")
}

const (
	fuzzIssuer        = "https://auth.example.test"
	fuzzWebhookSecret = "whsec_fuzz"
)

var fuzzNow = time.Unix(1_900_000_000, 0)

// fuzzServer is a Server whose store is down.
func fuzzServer(t testing.TB) *Server {
	t.Helper()
	cfg, err := config.Parse(func(k string) string { return map[string]string{"ISSUER": fuzzIssuer, "TABLE_NAME": "fuzz"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String("http://127.0.0.1:9"),
		HTTPClient: downDynamoDB{}, Retryer: aws.NopRetryer{},
	})
	return &Server{
		Config: cfg, Store: store.New(db, "fuzz"), Minter: tokens.NewMinter(noKMS{}, "k", fuzzIssuer, 0), SignIn: noSignIn{},
		Webhooks: &Webhooks{Secret: fuzzWebhookSecret}, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return fuzzNow },
	}
}

func fuzzHandler(t testing.TB, s *Server, e Endpoint) http.Handler {
	t.Helper()
	h, err := s.Handler(e)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// oauthErrorBody checks an RFC 6749 §5.2 JSON error response and returns its error code.
func oauthErrorBody(t *testing.T, w *httptest.ResponseRecorder, codes ...string) string {
	t.Helper()
	var body map[string]any
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d with Content-Type %q", w.Code, ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d, body %q is no JSON object: %v", w.Code, w.Body, err)
	}
	code, _ := body["error"].(string)
	desc, _ := body["error_description"].(string)
	if !slices.Contains(codes, code) {
		t.Fatalf("status %d, error %q, want one of %q (%q)", w.Code, code, codes, desc)
	}
	// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
	if desc == "" || !oauth.AllowedInDescription(desc) || len(body) != 2 {
		t.Fatalf("%s: body %q", code, w.Body)
	}
	// RFC 6749 §5.1-5.2: the response is not cached.
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%s without Cache-Control: no-store", code)
	}
	return code
}

// FuzzTokenEndpoint sends a body, Content-Type and Authorization header to the token endpoint:
// form parsing (web.ParseForm), grant_type dispatch and client authentication
// (oauth.ParseClientCredentials) up to the store.
func FuzzTokenEndpoint(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("abc_"+strings.Repeat("A", 43)+":s3cr3t"))
	for _, s := range [][3]string{
		{"grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_verifier=v&client_id=abc_1", form, ""},
		{"grant_type=refresh_token&refresh_token=abr_x", form, basic},
		{"grant_type=refresh_token&refresh_token=abr_x&client_secret=s", form, basic},
		{"grant_type=password&username=a&password=b&client_id=c", form, ""},
		{"grant_type=implicit", form, ""},
		{"grant_type=", form, ""},
		{"grant_type=authorization_code&grant_type=refresh_token&client_id=a", form, ""},
		{"grant_type=authorization_code", form, ""},
		{"grant_type=authorization_code&client_id=a", form, "Bearer x"},
		{"grant_type=authorization_code", form, "Basic !!"},
		{"grant_type=authorization_code", form, "Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:x"))},
		{`{"grant_type":"authorization_code"}`, "application/json", ""},
		{"grant_type=authorization_code\x00&client_id=%00", form + "; charset=utf-16", ""},
		{"grant_type=authorization_code&client_id=" + url.QueryEscape("\"<script>\\"), form, ""},
	} {
		f.Add(s[0], s[1], s[2], uint16(0))
	}
	f.Add("grant_type=authorization_code&client_id=abc_1&x=", form, "", uint16(16<<10-46))
	f.Add("grant_type=authorization_code&client_id=abc_1&x=", form, "", uint16(16<<10-45))
	s := fuzzServer(f)
	h := fuzzHandler(f, s, TokenEndpoint)
	// pad appends that many bytes to the body: bodies at the limit stay reachable from small,
	// shrinkable inputs.
	f.Fuzz(func(t *testing.T, body, contentType, authorization string, pad uint16) {
		body += strings.Repeat("x", int(pad))
		r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		// Nothing can be redeemed without the store: every answer is an RFC 6749 §5.2 error,
		// temporarily_unavailable once parsing accepted the request; never a 500.
		code := oauthErrorBody(t, w, "invalid_request", "invalid_client", "unsupported_grant_type", "temporarily_unavailable")
		switch code {
		case "invalid_client":
			// RFC 6749 §5.2: 401 with a WWW-Authenticate challenge.
			if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("invalid_client with %d, WWW-Authenticate %q", w.Code, w.Header().Get("WWW-Authenticate"))
			}
		case "temporarily_unavailable":
			// RFC 9110 §10.2.3: when to retry; and only a request that parsed gets this far.
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("temporarily_unavailable with %d", w.Code)
			}
			form, _ := url.ParseQuery(body)
			if !oauth.IsSupportedGrant(form.Get("grant_type")) {
				t.Fatalf("grant_type %q reached the store", form.Get("grant_type"))
			}
			if _, err := oauth.ParseClientCredentials(authorization, form); err != nil {
				t.Fatalf("credentials refused by ParseClientCredentials reached the store: %v", err)
			}
		default:
			if w.Code != http.StatusBadRequest {
				t.Fatalf("%s with status %d", code, w.Code)
			}
		}
	})
}

// FuzzRegisterEndpoint sends a body and Content-Type to the registration endpoint (RFC 7591).
func FuzzRegisterEndpoint(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["http://127.0.0.1:0/callback"],"client_name":"Claude Code","grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`,
		`{"redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"],"token_endpoint_auth_method":"client_secret_basic","scope":"mcp:tools admin"}`,
		`{"redirect_uris":["javascript:alert(1)//a.b"]}`,
		`{"redirect_uris":["https://a.example/cb#x"]}`,
		`{"redirect_uris":["https://а.example/cb"]}`, // Cyrillic а
		`{"redirect_uris":["https://a.example/cb"],"redirect_uris":["http://evil.example/cb"]}`,
		`{"redirect_uris":["https://a.example/cb"],"Redirect_URIs":["http://evil.example/cb"]}`,
		`{"redirect_uris":["https://a.example/cb"],"client_name":"\u202eevil\u0000","logo_uri":"http://x"}`,
		`{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"],"response_types":["token"]}`,
		`{"redirect_uris":["https://a.example/cb"],"x":1e999999}`,
		`{"redirect_uris":["https://a.example/cb"],"x":123456789012345678901234567890}`,
		`{"redirect_uris":["https://a.example/cb"]}{}`,
		`{"redirect_uris":"https://a.example/cb"}`,
		`{"redirect_uris":["https://a.example/cb"],"client_name":"` + strings.Repeat("é", 201) + `"}`,
		"\xef\xbb\xbf{}", `null`, `[]`, ``, `{"redirect_uris":["https://a.example/cb\u0000"]}`,
	} {
		f.Add([]byte(s), "application/json", uint16(0), uint16(0))
	}
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"]}`), "text/plain", uint16(0), uint16(0))
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"]}`), "application/json; charset=utf-8", uint16(0), uint16(0))
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"]}`), "application/json", uint16(16<<10-42), uint16(0))
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"]}`), "application/json", uint16(16<<10-41), uint16(0))
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"]}`), "application/json", uint16(0), uint16(4000))
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"]}`), "application/json", uint16(0), uint16(10001))
	s := fuzzServer(f)
	h := fuzzHandler(f, s, RegisterEndpoint)
	// pad appends that much JSON whitespace; nest inserts a member nested that deep (arrays):
	// huge and deep documents stay reachable from small, shrinkable inputs.
	f.Fuzz(func(t *testing.T, body []byte, contentType string, pad, nest uint16) {
		if nest > 0 {
			if i := bytes.IndexByte(body, '{'); i >= 0 {
				deep := `"deep":` + strings.Repeat("[", int(nest)) + strings.Repeat("]", int(nest)) + ","
				body = append(body[:i+1:i+1], append([]byte(deep), body[i+1:]...)...)
			}
		}
		body = append(body, bytes.Repeat([]byte(" "), int(pad))...)
		r := httptest.NewRequest(http.MethodPost, PathRegister, bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		// RFC 7591 §3.2.2: invalid_redirect_uri or invalid_client_metadata, 400; a valid
		// request reaches the store, which is down.
		code := oauthErrorBody(t, w, "invalid_client_metadata", "invalid_redirect_uri", "temporarily_unavailable")
		_, perr := oauth.ParseClientMetadata(body, s.Config.Scopes)
		isJSON := web.HasMediaType(r, "application/json")
		if code == "temporarily_unavailable" {
			if w.Code != http.StatusServiceUnavailable || !isJSON || perr != nil {
				t.Fatalf("%d for metadata refused with %v (JSON %v)", w.Code, perr, isJSON)
			}
			return
		}
		if w.Code != http.StatusBadRequest {
			t.Fatalf("%s with status %d", code, w.Code)
		}
		// RFC 7591 §3.1: only a JSON document is read, and refused for ParseClientMetadata's reason.
		if isJSON && (perr == nil || code != perr.Code) {
			t.Fatalf("handler answered %s, ParseClientMetadata %v", code, perr)
		}
		if !isJSON && code != "invalid_client_metadata" {
			t.Fatalf("Content-Type %q answered %s", contentType, code)
		}
	})
}

// signWebhook is the WorkOS-Signature header of body at t: "t=<unix ms>, v1=<hex
// HMAC-SHA256(secret, "<ms>.<body>")>".
func signWebhook(body []byte, t time.Time) string {
	ms := strconv.FormatInt(t.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(fuzzWebhookSecret))
	mac.Write([]byte(ms + "." + string(body)))
	return "t=" + ms + ", v1=" + hex.EncodeToString(mac.Sum(nil))
}

// FuzzWebhookEndpoint sends a body and a WorkOS-Signature header to the webhook endpoint. The
// header ${SIGN} is replaced by a valid signature of the body (${SIGN_STALE}: one 10 minutes
// old, ${SIGN_FUTURE}: 10 minutes ahead), so that the fuzzer reaches the event parsing.
func FuzzWebhookEndpoint(f *testing.F) {
	for _, s := range [][2]string{
		{`{"id":"event_01","event":"user.deleted","data":{"id":"user_01","object":"user"},"created_at":"2026-11-27T09:00:00Z"}`, "${SIGN}"},
		{`{"id":"event_02","event":"organization_membership.deleted","data":{"user_id":"user_01","organization_id":"org_01"}}`, "${SIGN}"},
		{`{"id":"event_03","event":"organization_membership.updated","data":{"user_id":"user_01","organization_id":"org_01","status":"inactive"}}`, "${SIGN}"},
		{`{"id":"event_04","event":"organization_membership.updated","data":{"user_id":"user_01","status":"active"}}`, "${SIGN}"},
		{`{"id":"event_05","event":"session.revoked","data":{"id":"session_01","user_id":"user_01"}}`, "${SIGN}"},
		{`{"id":"event_06","event":"user.created","data":{"id":"user_01"}}`, "${SIGN}"},
		{`{"id":"event_07","event":"user.deleted","data":{}}`, "${SIGN}"},
		{`{"id":"event_08","event":"user.deleted","data":"x"}`, "${SIGN}"},
		{`{"id":"event_09","event":"user.deleted","event":"user.created","data":{"id":"u","id":""}}`, "${SIGN}"},
		{`{"id":"` + strings.Repeat("e", 513) + `","event":"user.deleted","data":{"id":"u"}}`, "${SIGN}"},
		{`{"id":"event_10","event":"user.deleted","data":{"id":"u"}}`, "${SIGN_STALE}"},
		{`{"id":"event_11","event":"user.deleted","data":{"id":"u"}}`, "${SIGN_FUTURE}"},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, "t=1900000000000, v1=00"},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, "t=1900000000000,v1=00"},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, "t=, v1="},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, "v1=00, t=1"},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, "t=-1, v1=00"},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, "t=99999999999999999999, v1=00"},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, ","},
		{`{"id":"event_12","event":"user.deleted","data":{"id":"u"}}`, ""},
		{`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, "${SIGN}"},
		{`{"id":1e999,"event":"user.deleted"}`, "${SIGN}"},
		{"\x00\xff", "${SIGN}"},
	} {
		f.Add([]byte(s[0]), s[1], uint16(0))
	}
	f.Add([]byte(`{"id":"event_13","event":"user.created","data":{}}`), "${SIGN}", uint16(MaxWebhookBody/8-6))
	f.Add([]byte(`{"id":"event_13","event":"user.created","data":{}}`), "${SIGN}", uint16(MaxWebhookBody/8))
	s := fuzzServer(f)
	h := fuzzHandler(f, s, WebhookEndpoint)
	// pad appends 8 spaces per unit: bodies around the 256 KiB limit stay reachable.
	f.Fuzz(func(t *testing.T, body []byte, signature string, pad uint16) {
		body = append(body, bytes.Repeat([]byte(" "), 8*int(pad))...)
		signed := signature == "${SIGN}"
		switch signature {
		case "${SIGN}":
			signature = signWebhook(body, fuzzNow)
		case "${SIGN_STALE}":
			signature = signWebhook(body, fuzzNow.Add(-10*time.Minute))
		case "${SIGN_FUTURE}":
			signature = signWebhook(body, fuzzNow.Add(10*time.Minute))
		}
		r := httptest.NewRequest(http.MethodPost, PathWebhook, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if signature != "" {
			r.Header.Set(webhookSignatureHeader, signature)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if len(body) > MaxWebhookBody && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d-byte body answered %d", len(body), w.Code)
		}
		switch w.Code {
		case http.StatusOK:
			// Only a validly signed event is read at all (WorkOS webhook validation).
			var resp map[string]any
			if !signed || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp["status"] != "ignored" {
				t.Fatalf("200 %q for signature %q", w.Body, signature)
			}
		case http.StatusServiceUnavailable:
			oauthErrorBody(t, w, "temporarily_unavailable")
			var ev struct {
				ID, Event string
			}
			if !signed || json.Unmarshal(body, &ev) != nil || ev.ID == "" ||
				!slices.Contains([]string{eventUserDeleted, eventMembershipDeleted, eventMembershipUpdated, eventSessionRevoked}, ev.Event) {
				t.Fatalf("503 for %q signed %v: only an acted-on, signed event reaches the store", body, signed)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			code := oauthErrorBody(t, w, "invalid_request", "invalid_signature")
			if (code == "invalid_signature") != (w.Code == http.StatusUnauthorized) {
				t.Fatalf("%s with status %d", code, w.Code)
			}
		default:
			t.Fatalf("status %d %q", w.Code, w.Body)
		}
	})
}

// FuzzPageCookies sends a Cookie header to the browser and page-session cookie parsers:
// browserID (authorize, consent, callback) and appsSession (connected-apps page).
func FuzzPageCookies(f *testing.F) {
	id := "abb_" + strings.Repeat("A", 43)
	page := "abp_" + strings.Repeat("B", 43)
	for _, s := range []string{
		browserCookie + "=" + id,
		browserCookie + "=" + id + "; " + appsCookie + "=" + page,
		browserCookie + "=" + id + "; " + browserCookie + "=abb_other",
		browserCookie + "=\"" + id + "\"",
		browserCookie + "=abb_" + strings.Repeat("A", 42) + "\x00",
		browserCookie + "=abb_" + strings.Repeat("é", 21) + "A",
		"__host-authbridge-browser=" + id,
		appsCookie + "=" + page + "; " + appsCookie + "=x",
		appsCookie + "=abp_" + strings.Repeat("%41", 14) + "A",
		appsCookie + "=" + page + ";;;" + browserCookie,
		"a=b; " + browserCookie + "= " + id,
		strings.Repeat("x=y; ", 100),
		"",
	} {
		f.Add(s)
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, cookie string) {
		r := httptest.NewRequest(http.MethodGet, PathConnectedApps, nil)
		r.Header.Set("Cookie", cookie)
		var first *http.Cookie
		if c, err := r.Cookie(browserCookie); err == nil {
			first = c
		}
		got, fresh := browserID(r)
		// The id is 47 characters with its prefix: an existing one is the first cookie of that
		// name, kept only in that shape; otherwise a new random one (RFC 6265 §5.4: the first
		// cookie of a name is the most specific).
		if !strings.HasPrefix(got, "abb_") || len(got) != 47 {
			t.Fatalf("browser id %q (fresh %v)", got, fresh)
		}
		if !fresh && (first == nil || first.Value != got) {
			t.Fatalf("kept %q, the first cookie is %v", got, first)
		}
		if fresh && first != nil && strings.HasPrefix(first.Value, "abb_") && len(first.Value) == 47 {
			t.Fatalf("replaced a well-formed id %q", first.Value)
		}
		if fresh {
			if strings.TrimLeft(got[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Fatalf("new id %q is not base64url", got)
			}
			// The cookie set for it reads back as the same id: __Host- (RFC 6265bis §4.1.3.2).
			w := httptest.NewRecorder()
			setBrowserCookie(w, got, time.Hour)
			set := w.Result().Cookies()
			if len(set) != 1 || set[0].Value != got || !set[0].Secure || !set[0].HttpOnly || set[0].Path != "/" || set[0].Domain != "" {
				t.Fatalf("Set-Cookie %q", w.Header().Values("Set-Cookie"))
			}
			back := httptest.NewRequest(http.MethodGet, "/", nil)
			back.AddCookie(set[0])
			if again, f2 := browserID(back); f2 || again != got {
				t.Fatalf("cookie %q does not read back: %q, %v", got, again, f2)
			}
		}

		session, value, err := s.appsSession(r)
		c, cerr := r.Cookie(appsCookie)
		shaped := cerr == nil && len(c.Value) == 47 && strings.HasPrefix(c.Value, "abp_")
		if !shaped {
			// Malformed or missing: not signed in, and the store is never asked.
			if !errors.Is(err, store.ErrNotFound) || value != "" || session != (store.AppsSession{}) {
				t.Fatalf("cookie %q: session %+v, %q, %v", cookie, session, value, err)
			}
			return
		}
		if err == nil || errors.Is(err, store.ErrNotFound) || value != c.Value {
			t.Fatalf("well-formed %q did not reach the store: %q, %v", c.Value, value, err)
		}
		// The CSRF token is bound to the session: 43 base64url characters, one per cookie.
		tok := appsCSRFToken(value)
		if len(tok) != 43 || tok != appsCSRFToken(value) || tok == appsCSRFToken(value+"x") {
			t.Fatalf("CSRF token %q", tok)
		}
	})
}

// FuzzConnectedAppsForm posts the connected-apps page's form with any Origin, cookie and body:
// nothing is changed without a live session and its CSRF token.
func FuzzConnectedAppsForm(f *testing.F) {
	page := "abp_" + strings.Repeat("B", 43)
	csrf := appsCSRFToken(page)
	for _, s := range [][3]string{
		{fuzzIssuer, appsCookie + "=" + page, "action=revoke&client_id=abc_1&csrf_token=" + csrf},
		{"", appsCookie + "=" + page, "action=revoke_all&csrf_token=" + csrf},
		{"null", "", "action=sign_out&csrf_token=x"},
		{"https://evil.example", appsCookie + "=" + page, "action=revoke_all&csrf_token=" + csrf},
		{fuzzIssuer + ".evil.example", "", "action=revoke_all"},
		{"HTTPS://AUTH.EXAMPLE.TEST", "", "action=revoke_all"},
		{fuzzIssuer, appsCookie + "=" + page, "action=revoke&action=revoke_all&csrf_token=" + csrf},
		{fuzzIssuer, appsCookie + "=" + page, "action=%zz"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	s := fuzzServer(f)
	h := fuzzHandler(f, s, ConnectedAppsEndpoint)
	f.Fuzz(func(t *testing.T, origin, cookie, body string) {
		r := httptest.NewRequest(http.MethodPost, PathConnectedApps, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusForbidden, http.StatusBadRequest:
		case http.StatusServiceUnavailable:
			// Only a same-origin form with a well-formed session cookie reaches the store.
			c, err := r.Cookie(appsCookie)
			if (origin != "" && origin != "null" && origin != fuzzIssuer) || err != nil || len(c.Value) != 47 {
				t.Fatalf("503 for Origin %q, cookie %q", origin, cookie)
			}
		default:
			t.Fatalf("status %d: nothing may change without a live session", w.Code)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("status %d with Content-Type %q", w.Code, ct)
		}
	})
}
