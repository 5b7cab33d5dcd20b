package workosemu

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"
)

// Seed ids from infra/workos-seed.json.
const (
	adaID       = "user_01JADAGS1DPDFA9S9S631SFWJ6"
	graceID     = "user_01JGRACEKMTYT908QFRXV1B71A"
	alanID      = "user_01JTVRINGMCR6W88FM6MJH8F15"
	enginesID   = "org_01JENGINESADMFHXS2JFX687EA"
	bletchleyID = "org_01JBETCHQRG70JHEH2TNSCKN1M"
	connID      = "conn_01JENGSS0Z9TSV3CTN91P4ZR7Z"

	testRedirect = "http://localhost:8080/callback"
	testReturnTo = "http://localhost:8080/signed-out"
)

// Memberships in creation order (ascending).
var seedMembershipsAsc = []string{
	"om_01JADA0ENGNJGCWZTHGPFSQ4K1",
	"om_01JGRACE0ENG7R3WVSJZ3QDKHB",
	"om_01JGRACE0BETWV6MRM4Z01JMCB",
	"om_01JTVR0BETR8FCY3TN0DYCHD6H",
	"om_01JTVR0ENGKJKFWNKYNMVY00TD",
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t       *testing.T
	emu     *Emulator
	srv     *httptest.Server
	um      *usermanagement.Client
	browser *http.Client
	clock   *fakeClock
	dir     string
}

func loadTestSeed(t *testing.T) Seed {
	t.Helper()
	seed, err := LoadSeed("../workos-seed.json")
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func newEnv(t *testing.T, mods ...func(*Options)) *env {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)}
	dir := t.TempDir()
	opts := Options{
		ClientID:     DefaultClientID,
		APIKey:       DefaultAPIKey,
		RedirectURIs: []string{testRedirect, "http://localhost:8080/cb?tenant=a"},
		ReturnToURIs: []string{testReturnTo},
		Seed:         loadTestSeed(t),
		StateDir:     dir,
		Now:          clk.Now,
	}
	for _, m := range mods {
		m(&opts)
	}
	emu, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	um := usermanagement.NewClient(DefaultAPIKey)
	um.Endpoint = srv.URL
	um.HTTPClient = srv.Client()
	browser := srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, emu: emu, srv: srv, um: um, browser: browser, clock: clk, dir: dir}
}

func (e *env) client(apiKey string) *usermanagement.Client {
	c := usermanagement.NewClient(apiKey)
	c.Endpoint = e.srv.URL
	c.HTTPClient = e.srv.Client()
	return c
}

type pkce struct{ verifier, challenge string }

func newPKCE(t *testing.T) pkce {
	t.Helper()
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizeURL builds the authorize URL with the real SDK.
func (e *env) authorizeURL(opts usermanagement.GetAuthorizationURLOpts) string {
	e.t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.RedirectURI == "" {
		opts.RedirectURI = testRedirect
	}
	if opts.Provider == "" && opts.ConnectionID == "" && opts.OrganizationID == "" {
		opts.Provider = "authkit"
	}
	u, err := e.um.GetAuthorizationURL(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.String()
}

type page struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(req *http.Request) page {
	e.t.Helper()
	res, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (e *env) get(rawURL string) page {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *env) postForm(path string, form url.Values) page {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

var (
	formRe  = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`([a-zA-Z_-]+)="([^"]*)"`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(s, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// form finds the form with the given id and returns its action and the values a browser would
// send (every named input with its value).
func form(t *testing.T, body, id string) (string, url.Values) {
	t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		fa := attrs(m[1])
		if fa["id"] != id {
			continue
		}
		if !strings.EqualFold(fa["method"], "post") {
			t.Fatalf("form %s: method %q", id, fa["method"])
		}
		vals := url.Values{}
		for _, in := range inputRe.FindAllStringSubmatch(m[2], -1) {
			a := attrs(in[1])
			if a["name"] != "" {
				vals.Add(a["name"], a["value"])
			}
		}
		return fa["action"], vals
	}
	t.Fatalf("no form with id %q in page:\n%s", id, body)
	return "", nil
}

// submit posts a form from a page, with fields overridden, as a browser would.
func (e *env) submit(p page, id string, set map[string]string) page {
	e.t.Helper()
	action, vals := form(e.t, p.body, id)
	for k, v := range set {
		vals.Set(k, v)
	}
	return e.postForm(action, vals)
}

// callback checks a 302 to the redirect URI and returns its query.
func callback(t *testing.T, p page, redirectURI string) url.Values {
	t.Helper()
	if p.status != http.StatusFound {
		t.Fatalf("status %d, want 302; body:\n%s", p.status, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	base := *loc
	base.RawQuery = ""
	want, _ := url.Parse(redirectURI)
	want.RawQuery = ""
	if base.String() != want.String() {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	return loc.Query()
}

// signInAs runs authorize → page → pick user button → callback and returns the code.
func (e *env) signInAs(userID string, opts usermanagement.GetAuthorizationURLOpts) string {
	e.t.Helper()
	p := e.get(e.authorizeURL(opts))
	if p.status != http.StatusOK {
		e.t.Fatalf("authorize page: %d\n%s", p.status, p.body)
	}
	q := callback(e.t, e.submit(p, "user-"+userID, nil), testRedirect)
	if q.Get("state") != opts.State {
		e.t.Fatalf("state %q, want %q", q.Get("state"), opts.State)
	}
	return q.Get("code")
}

func (e *env) authenticate(code, verifier string) (usermanagement.AuthenticateResponse, error) {
	return e.um.AuthenticateWithCode(context.Background(), usermanagement.AuthenticateWithCodeOpts{
		ClientID: DefaultClientID, Code: code, CodeVerifier: verifier,
		IPAddress: "203.0.113.7", UserAgent: "test-browser/1.0",
	})
}

// httpErr asserts that err is the SDK's generic HTTPError with the given status and code.
func httpErr(t *testing.T, err error, status int, code string) workos_errors.HTTPError {
	t.Helper()
	var he workos_errors.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T) is not a workos_errors.HTTPError", err, err)
	}
	if he.Code != status || he.ErrorCode != code {
		t.Fatalf("got status %d code %q (%s), want %d %q", he.Code, he.ErrorCode, he.Message, status, code)
	}
	if he.RequestID == "" {
		t.Fatalf("no X-Request-ID on the error")
	}
	return he
}

// verifyJWT checks an RS256 JWT against a JWKS document, independently of the emulator's code.
func verifyJWT(t *testing.T, token string, jwks []byte) (map[string]string, map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64url: %v", err)
		}
		return b
	}
	var header map[string]string
	if err := json.Unmarshal(dec(parts[0]), &header); err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Kid, Alg, Use, N, E string }
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k.Kid != header["kid"] {
			continue
		}
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" {
			t.Fatalf("unexpected JWK %+v", k)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(dec(k.N)), E: int(new(big.Int).SetBytes(dec(k.E)).Int64())}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], dec(parts[2])); err != nil {
			t.Fatalf("signature: %v", err)
		}
		return header, claims
	}
	t.Fatalf("kid %q not in JWKS %s", header["kid"], jwks)
	return nil, nil
}

func (e *env) jwks() []byte {
	e.t.Helper()
	u, err := e.um.GetJWKSURL(DefaultClientID)
	if err != nil {
		e.t.Fatal(err)
	}
	p := e.get(u.String())
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/json" {
		e.t.Fatalf("jwks: %d %s", p.status, p.header.Get("Content-Type"))
	}
	return []byte(p.body)
}
