package resourceserver_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/resourceserver"
	"github.com/authbridge/authbridge/shared/tokens"
)

func newJWKSVerifier(t *testing.T, a *authbridge, c *clock, mutate ...func(*resourceserver.Config)) *resourceserver.JWKSVerifier {
	t.Helper()
	cfg := resourceserver.Config{Issuer: a.issuer, Resource: testResource, Scopes: []string{"mcp:tools"}}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := resourceserver.NewJWKSVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v.WithClock(c.now)
}

// RFC 9068 §4: a token Authbridge's token endpoint minted for this resource is accepted, with
// its claims as the identity, and the JWKS is fetched once for any number of tokens.
func TestRFC9068_4_JWKSVerifierAcceptsAuthbridgeTokens(t *testing.T) {
	a := newAuthbridge(t)
	kid, m := a.newKey(true)
	c := newClock(t0.Add(time.Minute))
	v := newJWKSVerifier(t, a, c)
	if a.fetches.Load() != 0 {
		t.Fatal("the JWKS was fetched before it was needed")
	}
	for range 5 {
		tok, claims := mint(t, m, testResource)
		id, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		want := resourceserver.Identity{
			Subject: ada.Subject, Email: ada.Email, OrgID: ada.OrgID, SessionID: ada.SessionID, ClientID: ada.ClientID,
			Scopes: []string{"mcp:tools", "orgs:read"}, Audience: testResource, JTI: claims.JTI, ExpiresAt: t0.Add(ttl),
		}
		if !identityEqual(id, want) {
			t.Fatalf("identity %+v, want %+v", id, want)
		}
	}
	if n := a.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
	if !slices.Equal(v.KeyIDs(), []string{kid}) {
		t.Fatalf("kids %q, want [%s]", v.KeyIDs(), kid)
	}
}

func identityEqual(a, b resourceserver.Identity) bool {
	return slices.Equal(a.Scopes, b.Scopes) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.Subject == b.Subject && a.Email == b.Email && a.OrgID == b.OrgID && a.SessionID == b.SessionID &&
		a.ClientID == b.ClientID && a.Audience == b.Audience && a.JTI == b.JTI
}

// Each rule of the authorizer holds here too, because it is the same code (tokens.Verifier).
func TestRFC9068_JWKSVerifierRefuses(t *testing.T) {
	a := newAuthbridge(t)
	_, m := a.newKey(true)
	local := newLocalKey(t, "local-key")
	a.set(func(a *authbridge) { a.extra = append(a.extra, local.jwk()) })
	es256 := func(typ string) map[string]any { return map[string]any{"alg": "ES256", "typ": typ, "kid": local.kid} }
	good := local.sign(t, es256("at+jwt"), claimsMap(a.issuer, testResource))
	otherAud, _ := mint(t, m, "https://other.example.test/mcp")
	tok, _ := mint(t, m, testResource)

	// The crafted token with the local key passes, so each refusal below is its rule's.
	if _, err := newJWKSVerifier(t, a, newClock(t0)).Verify(context.Background(), good); err != nil {
		t.Fatalf("the reference token was refused: %v", err)
	}
	for _, tt := range []struct {
		name  string
		token string
		at    time.Time
		cfg   func(*resourceserver.Config)
		cause error
	}{
		// RFC 9068 §4 / RFC 8725 §3.11: typ must be at+jwt.
		{"RFC 9068 §4 typ JWT", local.sign(t, es256("JWT"), claimsMap(a.issuer, testResource)), t0, nil, tokens.ErrType},
		// RFC 8725 §3.1: only ES256.
		{"RFC 8725 §3.1 alg none", local.sign(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": local.kid}, claimsMap(a.issuer, testResource)), t0, nil, tokens.ErrAlgorithm},
		{"RFC 8725 §3.1 alg HS256", local.sign(t, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": local.kid}, claimsMap(a.issuer, testResource)), t0, nil, tokens.ErrAlgorithm},
		// RFC 7515 §4.1.4: the key must be one of the JWKS's.
		{"RFC 7515 §4.1.4 unknown kid", local.sign(t, map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "nope"}, claimsMap(a.issuer, testResource)), t0, nil, tokens.ErrUnknownKey},
		// RFC 7515 §5.2: the signature must verify.
		{"RFC 7515 §5.2 signature", good[:len(good)-4] + "AAAA", t0, nil, tokens.ErrSignature},
		// RFC 8725 §3.8: iss exact.
		{"RFC 8725 §3.8 issuer", local.sign(t, es256("at+jwt"), claimsMap(a.issuer+"/", testResource)), t0, nil, tokens.ErrIssuer},
		// RFC 8707 / RFC 9068 §4: aud must be this resource.
		{"RFC 8707 token for another resource", otherAud, t0, nil, tokens.ErrAudience},
		// RFC 7519 §4.1.4: exp, with the leeway.
		{"RFC 7519 §4.1.4 expired beyond the leeway", tok, t0.Add(ttl + resourceserver.DefaultLeeway), nil, tokens.ErrExpired},
		{"RFC 7519 §4.1.4 configured leeway", tok, t0.Add(ttl + 5*time.Second), func(c *resourceserver.Config) { c.Leeway = 5 * time.Second }, tokens.ErrExpired},
		// RFC 7519 §4.1.5: nbf, with the leeway.
		{"RFC 7519 §4.1.5 not yet valid", tok, t0.Add(-resourceserver.DefaultLeeway - time.Second), nil, tokens.ErrNotYetValid},
		{"RFC 6750 §2.1 not a JWT", "abrt_opaque", t0, nil, tokens.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*resourceserver.Config)
			if tt.cfg != nil {
				mutate = append(mutate, tt.cfg)
			}
			id, err := newJWKSVerifier(t, a, newClock(tt.at), mutate...).Verify(context.Background(), tt.token)
			wantRefused(t, id, err, tt.cause)
		})
	}
	// Inside the leeway, the same tokens pass (the rule above is the leeway's edge).
	for _, at := range []time.Time{t0.Add(ttl + resourceserver.DefaultLeeway - time.Second), t0.Add(-resourceserver.DefaultLeeway)} {
		if _, err := newJWKSVerifier(t, a, newClock(at)).Verify(context.Background(), tok); err != nil {
			t.Errorf("RFC 7519 §4.1.4-5: refused within the leeway at %s: %v", at.Sub(t0), err)
		}
	}
}

// Key rotation (README: publish, switch, retire): a token signed by a key published after
// the last fetch makes the verifier fetch again, but at most once per MinRefreshInterval, so
// a flood of unknown kids costs the JWKS endpoint one request per interval.
func TestRFC7517_JWKSRefreshOnUnknownKidIsRateLimited(t *testing.T) {
	a := newAuthbridge(t)
	_, mA := a.newKey(true)
	idB, mB := a.newKey(false) // created, not yet published
	c := newClock(t0)
	v := newJWKSVerifier(t, a, c)
	ctx := context.Background()
	tokA, _ := mint(t, mA, testResource)
	tokB, _ := mint(t, mB, testResource)
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatal(err)
	}
	// An unknown kid triggers one refetch (the first fetch was MinRefreshInterval ago).
	c.add(resourceserver.MinRefreshInterval)
	id, err := v.Verify(ctx, tokB)
	wantRefused(t, id, err, tokens.ErrUnknownKey)
	if n := a.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d after an unknown kid, want 2", n)
	}
	// A flood of unknown kids within the interval: no further fetch.
	local := newLocalKey(t, "x")
	for i := range 50 {
		hdr := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "made-up-" + strings.Repeat("k", i)}
		id, err := v.Verify(ctx, local.sign(t, hdr, claimsMap(a.issuer, testResource)))
		wantRefused(t, id, err, tokens.ErrUnknownKey)
	}
	// B is published; within the interval the verifier still does not know it.
	a.set(func(a *authbridge) { a.published = append(a.published, idB) })
	c.add(resourceserver.MinRefreshInterval - time.Second)
	id, err = v.Verify(ctx, tokB)
	wantRefused(t, id, err, tokens.ErrUnknownKey)
	if n := a.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d during the flood, want 2", n)
	}
	// Once the interval has passed, B's token makes it fetch and is accepted; A still works.
	c.add(time.Second)
	if _, err := v.Verify(ctx, tokB); err != nil {
		t.Fatalf("token of the newly published key: %v", err)
	}
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}
	if n := a.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d, want 3", n)
	}
}

// Key retirement: the keys are fetched again after DefaultMaxAge (the JWKS max-age), so a
// retired key stops verifying; an unreachable JWKS keeps the keys fetched before.
func TestRFC7517_JWKSMaxAgeDropsRetiredKeys(t *testing.T) {
	a := newAuthbridge(t)
	idA, mA := a.newKey(true)
	_, mB := a.newKey(true)
	c := newClock(t0)
	v := newJWKSVerifier(t, a, c)
	ctx := context.Background()
	tokA, _ := mint(t, mA, testResource)
	tokB, _ := mint(t, mB, testResource)
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatal(err)
	}
	// The JWKS is down when the keys are due: the old keys keep working.
	a.set(func(a *authbridge) { a.status = http.StatusBadGateway })
	c.add(resourceserver.DefaultMaxAge)
	if _, err := v.Verify(ctx, tokA); err != nil {
		t.Fatalf("refused while the JWKS is down: %v", err)
	}
	// A is retired and the JWKS is back: after the next refresh A's tokens are refused.
	a.set(func(a *authbridge) {
		a.status = 0
		a.published = slices.DeleteFunc(a.published, func(id string) bool { return id == idA })
	})
	c.add(resourceserver.MinRefreshInterval)
	id, err := v.Verify(ctx, tokA)
	wantRefused(t, id, err, tokens.ErrUnknownKey)
	if _, err := v.Verify(ctx, tokB); err != nil {
		t.Fatalf("token of the remaining key: %v", err)
	}
	if n := a.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d, want 3 (first, failed refresh, refresh)", n)
	}
}

// A JWKS that cannot be read means the token could not be checked — not that it is invalid
// (the middleware answers 503, and the client keeps its token).
func TestRFC6750_3_1_UnreachableJWKSIsNoInvalidToken(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(a *authbridge)
	}{
		{"server error", func(a *authbridge) { a.status = http.StatusInternalServerError }},
		{"not found", func(a *authbridge) { a.status = http.StatusNotFound }},
		{"not a JWK Set", func(a *authbridge) { a.body = []byte("<html>maintenance</html>") }},
		{"response larger than MaxResponseBytes", func(a *authbridge) {
			a.body = []byte(`{"keys":[],"pad":"` + strings.Repeat("x", resourceserver.MaxResponseBytes) + `"}`)
		}},
		{"slower than Timeout", func(a *authbridge) { a.delay = 2 * time.Second }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthbridge(t)
			_, m := a.newKey(true)
			tok, _ := mint(t, m, testResource)
			a.set(tt.set)
			v := newJWKSVerifier(t, a, newClock(t0), func(c *resourceserver.Config) { c.Timeout = 200 * time.Millisecond })
			start := time.Now()
			id, err := v.Verify(context.Background(), tok)
			wantUnavailable(t, id, err)
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Verify took %s with a %s timeout", d, 200*time.Millisecond)
			}
			// Within MinRefreshInterval the JWKS is not asked again.
			id, err = v.Verify(context.Background(), tok)
			wantUnavailable(t, id, err)
			if n := a.fetches.Load(); n != 1 {
				t.Fatalf("fetches %d, want 1", n)
			}
		})
	}
}

func TestConfigIsChecked(t *testing.T) {
	ok := resourceserver.Config{Issuer: "https://auth.example.com", Resource: "https://mcp.example.com/mcp"}
	for _, tt := range []struct {
		name   string
		mutate func(*resourceserver.Config)
	}{
		{"RFC 8414 §2 issuer with a trailing slash", func(c *resourceserver.Config) { c.Issuer += "/" }},
		{"RFC 8414 §2 issuer with a query", func(c *resourceserver.Config) { c.Issuer += "?x=1" }},
		{"RFC 8414 §2 issuer not http(s)", func(c *resourceserver.Config) { c.Issuer = "ftp://auth.example.com" }},
		{"RFC 8707 §2 resource with a fragment", func(c *resourceserver.Config) { c.Resource += "#x" }},
		{"RFC 8707 §2 relative resource", func(c *resourceserver.Config) { c.Resource = "/mcp" }},
		{"RFC 6749 §3.3 scope with a quote", func(c *resourceserver.Config) { c.Scopes = []string{`a"b`} }},
		{"leeway above 60 s", func(c *resourceserver.Config) { c.Leeway = 2 * time.Minute }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			if _, err := resourceserver.NewJWKSVerifier(cfg); err == nil {
				t.Error("NewJWKSVerifier accepted it")
			}
			if _, err := resourceserver.NewIntrospectionVerifier(cfg, "id", "secret"); err == nil {
				t.Error("NewIntrospectionVerifier accepted it")
			}
		})
	}
	if _, err := resourceserver.NewJWKSVerifier(ok); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	if _, err := resourceserver.NewIntrospectionVerifier(ok, "", "secret"); err == nil {
		t.Error("introspection without a client id accepted")
	}
}

// Concurrent first requests share one JWKS fetch (the others wait for it, then verify).
func TestRFC7517_ConcurrentFirstRequestsFetchTheJWKSOnce(t *testing.T) {
	a := newAuthbridge(t)
	_, m := a.newKey(true)
	a.set(func(a *authbridge) { a.delay = 100 * time.Millisecond })
	v := newJWKSVerifier(t, a, newClock(t0))
	tok, _ := mint(t, m, testResource)
	errs := make(chan error, 20)
	for range cap(errs) {
		go func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if n := a.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}
