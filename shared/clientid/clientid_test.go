package clientid_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/clientid"
	"github.com/authbridge/authbridge/shared/oauth"
)

// fixture is a local HTTPS server playing the client's host. Its certificate (httptest's)
// names example.com and *.example.com; the test resolver maps client.example.com to the
// server's 127.0.0.1 address.
type fixture struct {
	srv *httptest.Server

	mu           sync.Mutex
	hits         int
	status       int
	contentType  string
	cacheControl string
	body         string // %s is replaced by the client_id
	location     string
}

const host = "client.example.com"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{status: 200, contentType: "application/json", body: validBody}
	fx.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		fx.hits++
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "no Accept", 400)
			return
		}
		w.Header().Set("Content-Type", fx.contentType)
		if fx.cacheControl != "" {
			w.Header().Set("Cache-Control", fx.cacheControl)
		}
		if fx.location != "" {
			w.Header().Set("Location", fx.location)
		}
		w.WriteHeader(fx.status)
		fmt.Fprint(w, strings.ReplaceAll(fx.body, "%s", fx.clientIDLocked()))
	}))
	t.Cleanup(fx.srv.Close)
	return fx
}

func (fx *fixture) clientIDLocked() string {
	_, port, _ := net.SplitHostPort(fx.srv.Listener.Addr().String())
	return "https://" + host + ":" + port + "/oauth/client.json"
}

func (fx *fixture) clientID() string {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.clientIDLocked()
}

func (fx *fixture) set(f func(fx *fixture)) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	f(fx)
}

func (fx *fixture) hitCount() int {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.hits
}

const validBody = `{"client_id":"%s","client_name":"Example Agent",
 "redirect_uris":["https://client.example.com/callback","http://127.0.0.1:0/callback"],
 "scope":"openid mcp:tools unknown","logo_uri":"https://client.example.com/logo.png"}`

// staticResolver answers from a map, or with a sequence of answers for rebinding tests.
type staticResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr // each lookup takes the next answer; the last repeats
	calls   int
}

func (r *staticResolver) LookupNetIP(_ context.Context, _, h string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, ok := r.answers[h]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: h, IsNotFound: true}
	}
	i := min(r.calls, len(seq)-1)
	r.calls++
	return seq[i], nil
}

func loopbackResolver() *staticResolver {
	return &staticResolver{answers: map[string][][]netip.Addr{host: {{netip.MustParseAddr("127.0.0.1")}}}}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var supported = oauth.Scope{"openid", "mcp:tools"}

// newFetcher returns a Fetcher trusting the fixture's CA, resolving host to 127.0.0.1, and
// allowed (test-only hook) to dial loopback.
func newFetcher(fx *fixture, c *clock, opts ...clientid.Option) *clientid.Fetcher {
	base := []clientid.Option{
		clientid.WithRootCAs(fx.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs),
		clientid.WithResolver(loopbackResolver()),
		clientid.WithTestAllowAddr(func(a netip.Addr) bool { return a.IsLoopback() }),
	}
	if c != nil {
		base = append(base, clientid.WithTestClock(c.now))
	}
	return clientid.NewFetcher(supported, append(base, opts...)...)
}

func fetch(t *testing.T, f *clientid.Fetcher, id string) (clientid.Document, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.Fetch(ctx, id)
}

// MCP authorization 2026-07-28, Client ID Metadata Documents: the server fetches the document
// at the client_id URL and validates it (redirect URIs as for a registration).
func TestMCPCIMD_ValidDocumentFetchedAndValidated(t *testing.T) {
	fx := newFixture(t)
	doc, err := fetch(t, newFetcher(fx, nil), fx.clientID())
	if err != nil {
		t.Fatal(err)
	}
	if doc.ClientID != fx.clientID() || doc.ClientName != "Example Agent" || doc.Domain != host ||
		doc.TokenEndpointAuthMethod != "none" || len(doc.RedirectURIs) != 2 || !doc.LoopbackRedirects {
		t.Fatalf("document = %+v", doc)
	}
	if doc.Metadata.Scope != "openid mcp:tools" {
		t.Errorf("scope = %q, want the supported scopes only", doc.Metadata.Scope)
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents: the document's client_id
// matches the document URL exactly.
func TestMCPCIMD_ClientIDMustMatchURL(t *testing.T) {
	fx := newFixture(t)
	id := fx.clientID()
	for name, docID := range map[string]string{
		"other path":     strings.Replace(id, "client.json", "other.json", 1),
		"case differs":   strings.Replace(id, "client.example.com", "Client.example.com", 1),
		"trailing slash": id + "/",
		"query added":    id + "?x=1",
	} {
		fx.set(func(fx *fixture) { fx.body = strings.Replace(validBody, "%s", docID, 1) })
		if _, err := fetch(t, newFetcher(fx, nil), id); !errors.Is(err, clientid.ErrClientIDMismatch) {
			t.Errorf("%s: err = %v, want ErrClientIDMismatch", name, err)
		}
	}
	fx.set(func(fx *fixture) { fx.body = `{"client_name":"x","redirect_uris":["https://a.example/cb"]}` })
	if _, err := fetch(t, newFetcher(fx, nil), id); !errors.Is(err, clientid.ErrClientIDMismatch) {
		t.Errorf("missing client_id: err = %v", err)
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations: the
// document is served at the client_id URL itself; redirects are not followed.
func TestMCPCIMD_RedirectRefused(t *testing.T) {
	fx := newFixture(t)
	fx.set(func(fx *fixture) { fx.status, fx.location = 302, "https://client.example.com/elsewhere.json" })
	_, err := fetch(t, newFetcher(fx, nil), fx.clientID())
	if !errors.Is(err, clientid.ErrRedirect) {
		t.Fatalf("err = %v, want ErrRedirect", err)
	}
	if fx.hitCount() != 1 {
		t.Errorf("hits = %d, want 1 (redirect not followed)", fx.hitCount())
	}
}

// draft-ietf-oauth-client-id-metadata-document: the server may limit the document's size
// (5 KiB here), with or without a Content-Length.
func TestMCPCIMD_OversizedDocumentRefused(t *testing.T) {
	fx := newFixture(t)
	big := strings.Replace(validBody, `"client_name"`, `"padding":"`+strings.Repeat("x", clientid.MaxDocumentSize)+`","client_name"`, 1)
	fx.set(func(fx *fixture) { fx.body = big })
	if _, err := fetch(t, newFetcher(fx, nil), fx.clientID()); !errors.Is(err, clientid.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// Exactly at the limit passes the size check (and then is a valid document).
	at := strings.Replace(validBody, "%s", fx.clientID(), 1)
	pad := clientid.MaxDocumentSize - len(at) - len(`"padding":"",`)
	at = strings.Replace(at, `"client_name"`, `"padding":"`+strings.Repeat("x", pad)+`","client_name"`, 1)
	fx.set(func(fx *fixture) { fx.body = at })
	if _, err := fetch(t, newFetcher(fx, nil), fx.clientID()); err != nil {
		t.Fatalf("document of exactly %d bytes: %v", len(at), err)
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents: the document is JSON.
func TestMCPCIMD_ContentTypeMustBeJSON(t *testing.T) {
	fx := newFixture(t)
	for ct, ok := range map[string]bool{
		"text/html": false, "text/plain; charset=utf-8": false, "": false, "application/javascript": false,
		"application/json; charset=utf-8": true, "application/client-metadata+json": true,
	} {
		fx.set(func(fx *fixture) { fx.contentType = ct })
		_, err := fetch(t, newFetcher(fx, nil), fx.clientID())
		if ok && err != nil || !ok && !errors.Is(err, clientid.ErrContentType) {
			t.Errorf("Content-Type %q: err = %v", ct, err)
		}
	}
}

// draft-ietf-oauth-client-id-metadata-document: no shared secret — client_secret and the
// client_secret_* methods are refused (MCP authorization 2026-07-28, Client ID Metadata
// Documents: none, or private_key_jwt with a JWKS).
func TestMCPCIMD_ClientSecretRefused(t *testing.T) {
	fx := newFixture(t)
	for _, extra := range []string{
		`"client_secret":"s3cret",`,
		`"client_secret_expires_at":0,`,
		`"token_endpoint_auth_method":"client_secret_post",`,
		`"token_endpoint_auth_method":"client_secret_basic",`,
		`"token_endpoint_auth_method":"client_secret_jwt",`,
		`"token_endpoint_auth_method":"tls_client_auth",`,
	} {
		fx.set(func(fx *fixture) { fx.body = strings.Replace(validBody, `"client_name"`, extra+`"client_name"`, 1) })
		if _, err := fetch(t, newFetcher(fx, nil), fx.clientID()); !errors.Is(err, clientid.ErrInvalidDocument) {
			t.Errorf("%s: err = %v, want ErrInvalidDocument", extra, err)
		}
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents: private_key_jwt comes with
// its keys (jwks or jwks_uri; RFC 7591 §2: not both).
func TestMCPCIMD_PrivateKeyJWTRequiresKeys(t *testing.T) {
	fx := newFixture(t)
	jwks := `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
	cases := []struct {
		extra string
		ok    bool
	}{
		{`"token_endpoint_auth_method":"private_key_jwt",`, false},
		{`"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[]},`, false},
		{`"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"http://client.example.com/jwks",`, false},
		{`"token_endpoint_auth_method":"private_key_jwt","jwks":` + jwks + `,"jwks_uri":"https://client.example.com/jwks",`, false},
		{`"token_endpoint_auth_method":"private_key_jwt","jwks":` + jwks + `,`, true},
		{`"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://client.example.com/jwks",`, true},
	}
	for _, c := range cases {
		fx.set(func(fx *fixture) { fx.body = strings.Replace(validBody, `"client_name"`, c.extra+`"client_name"`, 1) })
		doc, err := fetch(t, newFetcher(fx, nil), fx.clientID())
		if c.ok && (err != nil || doc.TokenEndpointAuthMethod != "private_key_jwt" || (doc.JWKS == nil && doc.JWKSURI == "")) ||
			!c.ok && !errors.Is(err, clientid.ErrInvalidDocument) {
			t.Errorf("%s: doc = %+v, err = %v", c.extra, doc, err)
		}
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents: redirect URIs follow the
// registration rules (HTTPS or loopback); client_name is required.
func TestMCPCIMD_RegistrationRulesApply(t *testing.T) {
	fx := newFixture(t)
	for _, body := range []string{
		`{"client_id":"%s","client_name":"x","redirect_uris":["http://evil.example/cb"]}`,
		`{"client_id":"%s","client_name":"x","redirect_uris":["javascript:alert(1)"]}`,
		`{"client_id":"%s","client_name":"x","redirect_uris":[]}`,
		`{"client_id":"%s","client_name":"  ","redirect_uris":["https://a.example/cb"]}`,
		`{"client_id":"%s","client_name":"x","redirect_uris":["https://a.example/cb"],"grant_types":["password"]}`,
		`["%s"]`,
	} {
		fx.set(func(fx *fixture) { fx.body = body })
		if _, err := fetch(t, newFetcher(fx, nil), fx.clientID()); !errors.Is(err, clientid.ErrInvalidDocument) {
			t.Errorf("%s: err = %v, want ErrInvalidDocument", body, err)
		}
	}
	fx.set(func(fx *fixture) {
		fx.body = `{"client_id":"%s","client_name":"x","redirect_uris":["https://a.example/cb","com.example.app:/cb"]}`
	})
	doc, err := fetch(t, newFetcher(fx, nil), fx.clientID())
	if err != nil || doc.LoopbackRedirects {
		t.Errorf("no loopback redirect: doc = %+v, err = %v", doc, err)
	}
}

// draft-ietf-oauth-client-id-metadata-document: the server caches the document per HTTP
// cache headers (RFC 9111 §4.2.1 max-age), within its own upper bound.
func TestMCPCIMD_CacheHonoursMaxAge(t *testing.T) {
	fx := newFixture(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(fx, c)
	fx.set(func(fx *fixture) { fx.cacheControl = "public, max-age=120" })
	for range 2 {
		if _, err := fetch(t, f, fx.clientID()); err != nil {
			t.Fatal(err)
		}
	}
	if fx.hitCount() != 1 {
		t.Fatalf("hits = %d, want 1 (second fetch from cache)", fx.hitCount())
	}
	c.advance(121 * time.Second)
	if _, err := fetch(t, f, fx.clientID()); err != nil || fx.hitCount() != 2 {
		t.Fatalf("after max-age: hits = %d, err = %v, want a refetch", fx.hitCount(), err)
	}
}

// Authbridge bound on the cache: max-age above one hour is capped; no header means 5 minutes.
func TestMCPCIMD_CacheLifetimeBounded(t *testing.T) {
	for _, c := range []struct {
		cacheControl string
		life         time.Duration
	}{
		{"max-age=86400", clientid.MaxCacheLifetime},
		{"", clientid.DefaultCacheLifetime},
	} {
		fx := newFixture(t)
		clk := &clock{t: time.Unix(1_800_000_000, 0)}
		f := newFetcher(fx, clk)
		fx.set(func(fx *fixture) { fx.cacheControl = c.cacheControl })
		fetch(t, f, fx.clientID())
		clk.advance(c.life - time.Second)
		fetch(t, f, fx.clientID())
		if fx.hitCount() != 1 {
			t.Errorf("%q: hits = %d before %v, want 1", c.cacheControl, fx.hitCount(), c.life)
		}
		clk.advance(time.Second)
		fetch(t, f, fx.clientID())
		if fx.hitCount() != 2 {
			t.Errorf("%q: hits = %d at %v, want 2", c.cacheControl, fx.hitCount(), c.life)
		}
	}
}

// RFC 9111 §5.2.2.5 no-store, §5.2.2.4 no-cache (no revalidation here): not cached.
func TestMCPCIMD_NoStoreNotCached(t *testing.T) {
	for _, cc := range []string{"no-store", "max-age=600, no-cache", "max-age=0"} {
		fx := newFixture(t)
		f := newFetcher(fx, nil)
		fx.set(func(fx *fixture) { fx.cacheControl = cc })
		fetch(t, f, fx.clientID())
		fetch(t, f, fx.clientID())
		if fx.hitCount() != 2 {
			t.Errorf("%q: hits = %d, want 2", cc, fx.hitCount())
		}
	}
}

// draft-ietf-oauth-client-id-metadata-document: do not cache errors or invalid documents —
// the fixed document is served on the next call.
func TestMCPCIMD_InvalidDocumentNotCached(t *testing.T) {
	fx := newFixture(t)
	f := newFetcher(fx, nil)
	fx.set(func(fx *fixture) {
		fx.cacheControl = "max-age=3600"
		fx.body = `{"client_id":"%s","client_name":"x","redirect_uris":["http://evil.example/cb"]}`
	})
	if _, err := fetch(t, f, fx.clientID()); !errors.Is(err, clientid.ErrInvalidDocument) {
		t.Fatalf("err = %v", err)
	}
	fx.set(func(fx *fixture) { fx.body = validBody })
	if _, err := fetch(t, f, fx.clientID()); err != nil {
		t.Fatalf("fixed document: %v", err)
	}
	// A server error is not cached either.
	fx2 := newFixture(t)
	f2 := newFetcher(fx2, nil)
	fx2.set(func(fx *fixture) { fx.status = 500 })
	if _, err := fetch(t, f2, fx2.clientID()); !errors.Is(err, clientid.ErrHTTPStatus) {
		t.Fatalf("500: err = %v", err)
	}
	fx2.set(func(fx *fixture) { fx.status = 200 })
	if _, err := fetch(t, f2, fx2.clientID()); err != nil {
		t.Fatalf("after 500: %v", err)
	}
}

// RFC 9110 §15.5.5/§15.5.11 (404 and 410 are heuristically cacheable): a "does not exist"
// answer is remembered for NotFoundCacheLifetime (30 s) only; no-store keeps it out.
func TestMCPCIMD_NotFoundNegativeCacheIsShort(t *testing.T) {
	fx := newFixture(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	f := newFetcher(fx, c)
	fx.set(func(fx *fixture) { fx.status = 404 })
	for range 2 {
		if _, err := fetch(t, f, fx.clientID()); !errors.Is(err, clientid.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if fx.hitCount() != 1 {
		t.Fatalf("hits = %d, want 1 (404 cached briefly)", fx.hitCount())
	}
	fx.set(func(fx *fixture) { fx.status = 200 })
	c.advance(clientid.NotFoundCacheLifetime)
	if _, err := fetch(t, f, fx.clientID()); err != nil {
		t.Fatalf("after %v: %v", clientid.NotFoundCacheLifetime, err)
	}

	fx2 := newFixture(t)
	f2 := newFetcher(fx2, nil)
	fx2.set(func(fx *fixture) { fx.status, fx.cacheControl = 410, "no-store" })
	fetch(t, f2, fx2.clientID())
	fetch(t, f2, fx2.clientID())
	if fx2.hitCount() != 2 {
		t.Errorf("410 no-store: hits = %d, want 2", fx2.hitCount())
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents: an https URL with a path;
// draft-ietf-oauth-client-id-metadata-document: no fragment, user info or dot segments.
func TestMCPCIMD_IsURLClientID(t *testing.T) {
	for id, want := range map[string]bool{
		"https://app.example.com/client.json":       true,
		"https://app.example.com:8443/oauth/client": true,
		"https://app.example.com/client.json?v=1":   true,
		"https://xn--bcher-kva.example/client.json": true,
		"abc_0123456789":                                       false,
		"http://app.example.com/client.json":                   false,
		"HTTPS://app.example.com/client.json":                  false,
		"https://app.example.com":                              false,
		"https://app.example.com/":                             false,
		"https://app.example.com/client.json#frag":             false,
		"https://user:pw@app.example.com/c.json":               false,
		"https://user@app.example.com/c.json":                  false,
		"https://app.example.com/a/../c.json":                  false,
		"https://app.example.com/./c.json":                     false,
		"https://app.example.com/a/%2e%2E/c.json":              false,
		"https://app.example.com/a/..":                         false,
		"https:///client.json":                                 false,
		"https://127.0.0.1/client.json":                        false,
		"https://[::1]/client.json":                            false,
		"https://app.example.com./client.json":                 false,
		"https://app.example.com/client json":                  false,
		"https://bücher.example/client.json":                   false,
		"https://app.example.com\\@evil.example/c":             false,
		"https://app.example.com:0/client.json":                false,
		"https://app.example.com:99999/client.json":            false,
		"https://app.example.com/" + strings.Repeat("a", 2048): false,
	} {
		if got := clientid.IsURLClientID(id); got != want {
			t.Errorf("IsURLClientID(%q) = %v, want %v", id, got, want)
		}
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations
// (SSRF): only public unicast addresses may be fetched.
func TestSSRF_AddressClassifier(t *testing.T) {
	for a, public := range map[string]bool{
		"93.184.215.14": true, "8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true,
		"2a00:1450:4001:80b::200e": true, "::ffff:93.184.215.14": true,
		"127.0.0.1": false, "127.255.255.254": false, "::1": false, "::ffff:127.0.0.1": false,
		"10.0.0.1": false, "172.16.0.1": false, "172.31.255.255": false, "192.168.1.1": false,
		"::ffff:10.0.0.1": false, "::ffff:192.168.0.1": false, "fc00::1": false, "fd00:ec2::254": false,
		"169.254.169.254": false, "::ffff:169.254.169.254": false, "169.254.0.1": false, "fe80::1": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "239.255.255.250": false, "ff02::1": false, "ff0e::1": false,
		"100.64.0.1": false, "100.127.255.255": false, "255.255.255.255": false, "240.0.0.1": false,
		"192.0.2.1": false, "198.51.100.1": false, "203.0.113.1": false, "198.18.0.1": false, "2001:db8::1": false,
		"64:ff9b::7f00:1": false, "2002:7f00:1::": false, "2001:0:4136:e378::1": false, "::127.0.0.1": false,
		"fec0::1": false, "100::1": false, "3fff::1": false, "fe80::1%eth0": false,
	} {
		if got := clientid.IsPublicAddr(netip.MustParseAddr(a)); got != public {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", a, got, public)
		}
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations
// (SSRF): the check runs on the socket address being connected (net.Dialer Control).
func TestSSRF_DialControlChecksSocketAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"93.184.215.14:443": true, "[2606:4700:4700::1111]:443": true,
		"127.0.0.1:443": false, "[::1]:443": false, "[::ffff:127.0.0.1]:443": false,
		"169.254.169.254:80": false, "10.1.2.3:443": false, "[fe80::1%eth0]:443": false, "junk": false,
	} {
		err := clientid.DialControl("tcp", addr)
		if ok && err != nil || !ok && !errors.Is(err, clientid.ErrAddressNotPublic) {
			t.Errorf("DialControl(%s) = %v", addr, err)
		}
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations
// (SSRF): a host name resolving to 127.0.0.1 is refused by the production checks, although
// the fixture listens there — only the test-only allowance lets the other tests through.
func TestSSRF_LoopbackRefusedWithoutTestAllowance(t *testing.T) {
	fx := newFixture(t)
	for name, r := range map[string]clientid.Resolver{
		"custom resolver": loopbackResolver(),
		"mapped v6":       &staticResolver{answers: map[string][][]netip.Addr{host: {{netip.MustParseAddr("::ffff:127.0.0.1")}}}},
		"mixed answer": &staticResolver{answers: map[string][][]netip.Addr{host: {{
			netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("127.0.0.1")}}}},
	} {
		f := clientid.NewFetcher(supported,
			clientid.WithRootCAs(fx.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs),
			clientid.WithResolver(r))
		_, err := fetch(t, f, fx.clientID())
		if !errors.Is(err, clientid.ErrAddressNotPublic) || !strings.Contains(err.Error(), "address not public") {
			t.Errorf("%s: err = %v, want address not public", name, err)
		}
	}
	// The system resolver: localhost resolves to loopback.
	_, port, _ := net.SplitHostPort(fx.srv.Listener.Addr().String())
	f := clientid.NewFetcher(supported, clientid.WithRootCAs(fx.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs))
	if _, err := fetch(t, f, "https://localhost:"+port+"/oauth/client.json"); !errors.Is(err, clientid.ErrAddressNotPublic) {
		t.Errorf("localhost: err = %v, want address not public", err)
	}
	if fx.hitCount() != 0 {
		t.Errorf("fixture hits = %d, want 0", fx.hitCount())
	}
}

// The local stack's exception (localstack.go) is compiled only with the build tag
// authbridge_localstack: in this build, as in a deployed function, its environment variables
// change nothing — the fixture's own loopback address and port stay refused, and a name
// mapped to it is resolved by DNS, not by the variable.
func TestSSRF_LocalStackSettingsIgnoredWithoutBuildTag(t *testing.T) {
	fx := newFixture(t)
	addr := fx.srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	t.Setenv("AUTHBRIDGE_LOCAL_CIMD_ALLOW", addr)
	t.Setenv("AUTHBRIDGE_LOCAL_CIMD_HOSTS", "localhost=127.0.0.1")
	f := clientid.NewFetcher(supported, clientid.WithRootCAs(fx.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs))
	if _, err := fetch(t, f, "https://localhost:"+port+"/oauth/client.json"); !errors.Is(err, clientid.ErrAddressNotPublic) {
		t.Errorf("with the local stack's variables set: err = %v, want address not public", err)
	}
	if fx.hitCount() != 0 {
		t.Errorf("fixture hits = %d, want 0", fx.hitCount())
	}
}

// MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations
// (SSRF, DNS rebinding): the name is resolved once per connection and the checked address
// is the one dialled, so an answer that turns to loopback is refused, never followed.
func TestSSRF_DNSRebindingDialsOnlyCheckedAddress(t *testing.T) {
	fx := newFixture(t)
	public, loopback := netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("127.0.0.1")
	r := &staticResolver{answers: map[string][][]netip.Addr{host: {{public}, {loopback}}}}
	var mu sync.Mutex
	var dialled []string
	f := clientid.NewFetcher(supported,
		clientid.WithRootCAs(fx.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs),
		clientid.WithResolver(r),
		// Stands in for the network: a dial of the public address fails without traffic.
		clientid.WithTestConnect(func(_ context.Context, _, address string) (net.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			dialled = append(dialled, address)
			return nil, errors.New("simulated: unreachable")
		}))
	id := fx.clientID()
	_, err1 := fetch(t, f, id) // first answer: public, dialled (and fails)
	_, err2 := fetch(t, f, id) // rebound answer: loopback, refused before any connect
	u, _ := url.Parse(id)
	if len(dialled) != 1 || dialled[0] != net.JoinHostPort(public.String(), u.Port()) {
		t.Errorf("dialled %v, want only the checked public address", dialled)
	}
	if errors.Is(err1, clientid.ErrAddressNotPublic) || !errors.Is(err2, clientid.ErrAddressNotPublic) {
		t.Errorf("err1 = %v, err2 = %v", err1, err2)
	}
	if fx.hitCount() != 0 {
		t.Errorf("fixture reached %d times", fx.hitCount())
	}
}

func TestMCPCIMD_FetchRefusesNonURLClientID(t *testing.T) {
	if _, err := clientid.NewFetcher(supported).Fetch(context.Background(), "abc_123"); !errors.Is(err, clientid.ErrNotURLClientID) {
		t.Fatalf("err = %v", err)
	}
}
