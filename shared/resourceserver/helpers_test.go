package resourceserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/resourceserver"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
)

const (
	testResource = "https://mcp.example.test/mcp"
	ttl          = 15 * time.Minute
)

// t0 is when the fixture's tokens are issued.
var t0 = time.Unix(1_800_000_000, 0)

// clock is a settable test clock.
type clock struct{ at atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)     { c.at.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.at.Add(int64(d)) }
func (c *clock) now() time.Time      { return time.Unix(0, c.at.Load()) }

// authbridge plays the parts of Authbridge a resource server talks to: tokens minted by the
// token endpoint's own Minter with local-kms keys, and the JWKS endpoint serving the public
// keys of the published KMS keys (as the jwks function does) plus any extra JWK.
type authbridge struct {
	t       *testing.T
	kms     *kms.Client
	server  *httptest.Server
	issuer  string
	fetches atomic.Int64

	mu        sync.Mutex
	published []string         // KMS key ids served
	extra     []map[string]any // other JWKs served
	status    int              // non-zero: answer this status instead
	delay     time.Duration
	body      []byte // non-nil: answer this body instead
}

func newAuthbridge(t *testing.T) *authbridge {
	t.Helper()
	a := &authbridge{t: t, kms: testenv.KMS(t)}
	a.server = httptest.NewServer(http.HandlerFunc(a.serveJWKS))
	t.Cleanup(a.server.Close)
	a.issuer = a.server.URL
	return a
}

func (a *authbridge) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != resourceserver.PathJWKS || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	a.fetches.Add(1)
	a.mu.Lock()
	ids, extra, status, delay, body := append([]string(nil), a.published...), a.extra, a.status, a.delay, a.body
	a.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	if body != nil {
		_, _ = w.Write(body)
		return
	}
	ks, err := tokens.LoadKeySet(r.Context(), a.kms, ids)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err == nil {
		raw, _ := ks.JWKS()
		err = json.Unmarshal(raw, &doc)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	doc.Keys = append(doc.Keys, extra...)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (a *authbridge) set(f func(a *authbridge)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// newKey creates a local-kms signing key, publishes it when publish is set, and returns a
// Minter signing with it at t0, as the token endpoint does.
func (a *authbridge) newKey(publish bool) (string, *tokens.Minter) {
	a.t.Helper()
	id := testenv.NewSigningKey(a.t, a.kms)
	if publish {
		a.set(func(a *authbridge) { a.published = append(a.published, id) })
	}
	return id, tokens.NewMinter(a.kms, id, a.issuer, ttl).WithClock(func() time.Time { return t0 })
}

// ada is the person of the tokens.
var ada = tokens.AccessClaims{
	Subject: "user_01ADA", ClientID: "client_01", Scope: "mcp:tools orgs:read",
	Email: "ada@example.com", OrgID: "org_01", SessionID: "session_01",
}

func mint(t *testing.T, m *tokens.Minter, aud string) (string, tokens.AccessClaims) {
	t.Helper()
	c := ada
	c.Audience = aud
	tok, claims, err := m.Mint(context.Background(), c)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok, claims
}

// localKey is an ES256 key outside KMS, for tokens with crafted headers; publish puts its JWK
// in the JWKS.
type localKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newLocalKey(t *testing.T, kid string) localKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return localKey{kid: kid, priv: priv}
}

func (k localKey) jwk() map[string]any {
	pt, _ := k.priv.PublicKey.Bytes()
	return map[string]any{
		"kty": "EC", "crv": "P-256", "kid": k.kid, "use": "sig", "alg": "ES256",
		"x": base64.RawURLEncoding.EncodeToString(pt[1:33]), "y": base64.RawURLEncoding.EncodeToString(pt[33:]),
	}
}

// sign returns a compact JWS of header and claims with a genuine ES256 signature (R‖S).
func (k localKey) sign(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// claimsMap is a valid claims set of ada's for aud, issued at t0 by issuer.
func claimsMap(issuer, aud string) map[string]any {
	return map[string]any{
		"iss": issuer, "sub": ada.Subject, "aud": aud, "client_id": ada.ClientID, "scope": ada.Scope,
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(ttl).Unix(), "jti": "jti_01",
	}
}

// wantRefused checks that err is a refusal of the token (401 invalid_token), wrapping cause
// when given.
func wantRefused(t *testing.T, id resourceserver.Identity, err error, cause error) {
	t.Helper()
	if !errors.Is(err, resourceserver.ErrInvalidToken) {
		t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", id, err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("Verify error %v does not wrap %v", err, cause)
	}
	if id.Subject != "" {
		t.Fatalf("identity returned with a refusal: %+v", id)
	}
}

// wantUnavailable checks that err says the token could not be checked (not a refusal).
func wantUnavailable(t *testing.T, id resourceserver.Identity, err error) {
	t.Helper()
	if err == nil || errors.Is(err, resourceserver.ErrInvalidToken) {
		t.Fatalf("Verify = %+v, %v; want an error other than ErrInvalidToken", id, err)
	}
}
