package guard_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
)

// TestAuthorizerAllows: a token from the token function's signer opens the MCP route; the
// Allow carries the caller's identity and covers every method of the route in the stage,
// and nothing else.
func TestAuthorizerAllows(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.mint(t, "mcp:tools orgs:read")
	claims := claimsOf(t, tok)

	status, resp, err := f.authorize(t, request("POST", "/mcp", "Bearer "+tok))
	if status != http.StatusOK || err != nil {
		t.Fatalf("status %d, err %v", status, err)
	}
	if resp.PrincipalID != adaID {
		t.Fatalf("principalId %q", resp.PrincipalID)
	}
	want := map[string]any{
		"sub": adaID, "email": "ada@example.com", "org_id": "org_01JENGINESADMFHXS2JFX687EA", "client_id": "abc_client",
		"scope": "mcp:tools orgs:read", "jti": claims["jti"], "exp": int64(claims["exp"].(float64)), "aud": testResource,
	}
	for k, v := range want {
		if resp.Context[k] != v {
			t.Errorf("context[%s] = %#v, want %#v", k, resp.Context[k], v)
		}
	}
	// A policy API Gateway caches (front doors: per Authorization header) applies to every
	// route behind the authorizer: it must cover the whole MCP route, and only it.
	for _, c := range []struct {
		arn  string
		want int
	}{
		{gatewaytest.Default.MethodARN("GET", "/mcp"), http.StatusOK},
		{gatewaytest.Default.MethodARN("DELETE", "/mcp"), http.StatusOK},
		{gatewaytest.Default.MethodARN("POST", "/mcp/sub/path"), http.StatusOK},
		{gatewaytest.Default.MethodARN("POST", "/mcpx"), http.StatusForbidden},
		{gatewaytest.Default.MethodARN("POST", "/other"), http.StatusForbidden},
		{gatewaytest.Default.MethodARN("GET", "/admin/mcp"), http.StatusForbidden},
		{gatewaytest.API{Region: "us-east-1", Account: "123456789012", ID: "a1b2c3d4e5", Stage: "Dev"}.MethodARN("POST", "/mcp"), http.StatusForbidden},
	} {
		if got := gatewaytest.Status(resp, nil, c.arn); got != c.want {
			t.Errorf("policy on %s: %d, want %d", c.arn, got, c.want)
		}
	}
	// RFC 7235 §2.1 / RFC 6750 §2.1: the scheme is case-insensitive; 1*SP before the token.
	for _, h := range []string{"bearer " + tok, "BEARER " + tok, "Bearer   " + tok, " Bearer " + tok + " "} {
		if status, _, err := f.authorize(t, request("POST", "/mcp", h)); status != http.StatusOK {
			t.Errorf("%q: status %d (%v)", h[:12], status, err)
		}
	}
	if strings.Contains(f.logs.String(), tok) || strings.Contains(f.logs.String(), parts3(tok)) {
		t.Fatal("a token was logged")
	}
}

func parts3(tok string) string { _, _, s := parts(tok); return s }

// TestAuthorizerRefuses is issue item 5: each forged, foreign, stale or malformed credential
// is refused with the status API Gateway would send — 401 (the error "Unauthorized") — and
// a valid token without the route's scope gets 403 (a Deny policy). Every refusal is logged
// with its reason and without the token.
func TestAuthorizerRefuses(t *testing.T) {
	f := newFixture(t, nil)
	good := f.mint(t, "mcp:tools orgs:read")
	h64, p64, s64 := parts(good)
	payload := string(decodePart(t, p64))
	header := func(alg, typ, kid string) string {
		m := map[string]string{"alg": alg, "kid": kid}
		if typ != "" {
			m["typ"] = typ
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	spki, err := x509.MarshalPKIXPublicKey(publicKey(t, f))
	must(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	junk := make([]byte, 10<<10)
	_, _ = rand.Read(junk)
	tampered := strings.Replace(payload, adaID, "user_01JGRACEKMTYT908QFRXV1B71A", 1)

	cases := []struct {
		name   string
		auth   []string // Authorization header values
		want   int
		reason string
	}{
		// RFC 8725 §2.1, §3.1: "none" is never accepted, with or without the signature kept.
		{"alg none", []string{"Bearer " + b64(header("none", "at+jwt", f.keyID)) + "." + p64 + "."}, 401, "algorithm_not_allowed"},
		{"alg none, signature kept", []string{"Bearer " + b64(header("none", "at+jwt", f.keyID)) + "." + p64 + "." + s64}, 401, "algorithm_not_allowed"},
		// RFC 8725 §2.1: key confusion, HS256 keyed with the public key.
		{"HS256 with the public key as secret", []string{"Bearer " + hs256(header("HS256", "at+jwt", f.keyID), payload, spki)}, 401, "algorithm_not_allowed"},
		// RFC 7515 §5.2 step 8: ES256 by another key under a kid we know.
		{"ES256 by another key under a known kid", []string{"Bearer " + localSign(t, other, header("ES256", "at+jwt", f.keyID), payload)}, 401, "bad_signature"},
		// RFC 7515 §4.1.4: a kid that is not one of the accepted KMS keys (a real KMS key).
		{"unknown kid", []string{"Bearer " + f.mint(t, "mcp:tools", withKey(f.otherKey))}, 401, "unknown_key"},
		// RFC 7519 §4.1.4: minted an hour ago, 15-minute lifetime.
		{"expired", []string{"Bearer " + f.mint(t, "mcp:tools", withClock(time.Now().Add(-time.Hour)))}, 401, "expired"},
		// RFC 7519 §4.1.5: nbf ten minutes ahead (beyond the leeway).
		{"not yet valid", []string{"Bearer " + f.mint(t, "mcp:tools", withClock(time.Now().Add(10*time.Minute)))}, 401, "not_yet_valid"},
		// RFC 7519 §4.1.1, RFC 8725 §3.8: another issuer, signed by our own key.
		{"wrong iss", []string{"Bearer " + f.mint(t, "mcp:tools", withIssuer("https://evil.example.test"))}, 401, "wrong_issuer"},
		// RFC 8707 / RFC 9068 §4 / MCP: a token for another resource is not ours.
		{"token for another resource", []string{"Bearer " + f.mint(t, "mcp:tools", withAudience("https://other.example.test/mcp"))}, 401, "wrong_audience"},
		// RFC 9068 §4, RFC 8725 §3.11: explicit typing is required (a genuine KMS signature).
		{"missing typ", []string{"Bearer " + f.kmsSign(t, f.keyID, header("ES256", "", f.keyID), payload)}, 401, "wrong_token_type"},
		{"typ JWT (an ID token shape)", []string{"Bearer " + f.kmsSign(t, f.keyID, header("ES256", "JWT", f.keyID), payload)}, 401, "wrong_token_type"},
		// RFC 7515 §5.2 step 8: any change to the signed bytes.
		{"tampered payload", []string{"Bearer " + h64 + "." + b64(tampered) + "." + s64}, 401, "bad_signature"},
		// RFC 7518 §3.4, RFC 7515 §7.1.
		{"truncated token", []string{"Bearer " + good[:len(good)-10]}, 401, "bad_signature"},
		{"two parts", []string{"Bearer " + h64 + "." + p64}, 401, "malformed_token"},
		// Size bound (tokens are ≤ 8 KiB): base64url junk, and raw binary junk.
		{"10 KB of junk", []string{"Bearer " + b64bytes(junk)[:10<<10]}, 401, "malformed_token"},
		{"10 KB of binary junk", []string{string(junk)}, 401, "not_bearer"},
		// RFC 6750 §2: one credential, once. API Gateway lists both values in multiValueHeaders.
		{"two Authorization headers", []string{"Bearer " + good, "Bearer " + good}, 401, "several_authorization_headers"},
		// Opaque tokens are not access tokens (refresh token, authorization code).
		{"refresh token as bearer", []string{"Bearer " + oauth.NewOpaque(oauth.PrefixRefreshToken)}, 401, "malformed_token"},
		{"authorization code as bearer", []string{"Bearer " + oauth.NewOpaque(oauth.PrefixCode)}, 401, "malformed_token"},
		// RFC 6750 §2.1 syntax.
		{"no Authorization header", nil, 401, "missing_token"},
		{"empty header", []string{""}, 401, "missing_token"},
		{"Basic scheme", []string{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, 401, "not_bearer"},
		{"scheme only", []string{"Bearer"}, 401, "malformed_credentials"},
		{"no space", []string{"Bearer" + good}, 401, "not_bearer"},
		{"two tokens", []string{"Bearer " + good + " " + good}, 401, "malformed_credentials"},
		{"comma-joined credentials", []string{"Bearer " + good + ", Bearer " + good}, 401, "malformed_credentials"},
		{"token in quotes", []string{`Bearer "` + good + `"`}, 401, "malformed_credentials"},
		// MCP authorization: a valid token without the route's scope → 403 (step-up).
		{"valid token without mcp:tools", []string{"Bearer " + f.mint(t, "orgs:read")}, 403, "insufficient_scope"},
		{"valid token without any scope", []string{"Bearer " + f.mint(t, "")}, 403, "insufficient_scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.logs.String())
			status, resp, err := f.authorize(t, request("POST", "/mcp", c.auth...))
			if status != c.want {
				t.Fatalf("status %d (err %v, policy %+v), want %d", status, err, resp.PolicyDocument, c.want)
			}
			if c.want == 401 && (err == nil || err.Error() != "Unauthorized" || resp.PrincipalID != "") {
				t.Fatalf("a 401 must be the bare error \"Unauthorized\": %v %+v", err, resp)
			}
			if c.want == 403 && (err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" || resp.Context != nil) {
				t.Fatalf("a 403 must be a Deny policy without context: %v %+v", err, resp)
			}
			logged := f.logs.String()[before:]
			if !strings.Contains(logged, `"reason":"`+c.reason+`"`) {
				t.Fatalf("refusal not logged with reason %s: %s", c.reason, logged)
			}
			for _, a := range c.auth {
				for _, piece := range strings.Split(strings.TrimPrefix(a, "Bearer "), ".") {
					if len(piece) > 16 && strings.Contains(logged, piece) {
						t.Fatalf("the token was logged: %s", logged)
					}
				}
			}
		})
	}
}

func publicKey(t testing.TB, f *fixture) any {
	t.Helper()
	var set struct {
		Keys []struct{ X, Y string } `json:"keys"`
	}
	doc, err := f.keys.JWKS()
	must(t, err)
	must(t, json.Unmarshal(doc, &set))
	// SEC 1 uncompressed point: 0x04 || X || Y (RFC 7518 §6.2.1.2: 32 bytes each for P-256).
	point := append([]byte{4}, decodePart(t, set.Keys[0].X)...)
	point = append(point, decodePart(t, set.Keys[0].Y)...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	must(t, err)
	return pub
}

func hs256(header, payload string, secret []byte) string {
	input := b64(header) + "." + b64(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64bytes(mac.Sum(nil))
}

func localSign(t *testing.T, key *ecdsa.PrivateKey, header, payload string) string {
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	must(t, err)
	var sig struct{ R, S *big.Int }
	_, err = asn1.Unmarshal(der, &sig)
	must(t, err)
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return input + "." + b64bytes(raw)
}

// TestAuthorizerCache: a repeated token is answered from the warm cache until its exp, and
// never past it; a cached token is still checked against each route's resource.
func TestAuthorizerCache(t *testing.T) {
	f := newFixture(t, map[string]string{"PROTECTED_RESOURCES": testResource + "," + testIssuer + "/reports"})
	now := time.Now()
	clock := now
	f.auth.WithClock(func() time.Time { return clock })
	tok := f.mint(t, "mcp:tools", withClock(now))
	exp := int64(claimsOf(t, tok)["exp"].(float64))

	for range 3 {
		if status, _, err := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != 200 {
			t.Fatalf("status %d (%v)", status, err)
		}
	}
	// The same token on another protected route (another audience) is verified again: 401.
	if status, _, _ := f.authorize(t, request("POST", "/reports", "Bearer "+tok)); status != 401 {
		t.Fatalf("token for /mcp accepted on /reports: %d", status)
	}
	if status, _, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != 200 {
		t.Fatalf("status %d after another route", status)
	}
	// At exp the cache no longer answers; within the leeway the verifier still accepts, after
	// it the token is refused.
	clock = time.Unix(exp, 0).Add(guard.Leeway + time.Second)
	if status, _, _ := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != 401 {
		t.Fatalf("expired cached token: status %d", status)
	}
}

// TestAuthorizerRoutes: routes map to resources relative to the issuer (a stage URL issuer
// included), and a route with no resource is a server error, never an Allow.
func TestAuthorizerRoutes(t *testing.T) {
	stageIssuer := "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/Prod"
	f := newFixture(t, map[string]string{"ISSUER": stageIssuer})
	tok := f.mint(t, "mcp:tools", withIssuer(stageIssuer), withAudience(stageIssuer+"/mcp"))
	if status, _, err := f.authorize(t, request("POST", "/mcp", "Bearer "+tok)); status != 200 {
		t.Fatalf("stage issuer: %d %v", status, err)
	}
	status, _, err := f.authorize(t, request("POST", "/elsewhere", "Bearer "+tok))
	if status != 500 || err == nil || errors.Is(err, guard.ErrUnauthorized) {
		t.Fatalf("unconfigured route: %d %v", status, err)
	}
	ev := gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer "+tok))
	ev.MethodArn = "not-an-arn"
	if _, err := f.auth.Handle(context.Background(), ev); err == nil || err.Error() == "Unauthorized" {
		t.Fatalf("bad methodArn: %v", err)
	}
}

func TestRoutes(t *testing.T) {
	rs := guard.NewRoutes("https://h.example/Prod", []string{"https://h.example/Prod/mcp", "https://h.example/Prod/mcp/admin", "https://other.example/tools"})
	for path, want := range map[string]string{
		"/mcp": "https://h.example/Prod/mcp", "/mcp/x": "https://h.example/Prod/mcp", "/mcp/admin": "https://h.example/Prod/mcp/admin",
		"/mcp/admin/y": "https://h.example/Prod/mcp/admin", "/mcpx": "", "/": "",
		// Companion mode: a resource on another host is no route of this API, so a token
		// issued for it never opens one of Authbridge's own routes (RFC 8707, RFC 9068 §4).
		"/tools": "",
	} {
		r, ok := rs.ForPath(path)
		if r.Resource != want || ok != (want != "") {
			t.Errorf("ForPath(%s) = %+v %v, want %s", path, r, ok, want)
		}
	}
	if r, ok := guard.NewRoutes("https://h.example", []string{"https://h.example"}).ForPath("/anything"); !ok || r.Path != "/" {
		t.Errorf("root resource: %+v %v", r, ok)
	}
	if got := guard.ResourceMetadataURL("https://h.example/Prod", guard.Route{Path: "/mcp"}); got != "https://h.example/Prod/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("PRM URL %s", got)
	}
}

// RFC 9728 §3.1 and §5.1: the metadata URL a challenge names for each resource. On the
// issuer's origin, the resource's path below the issuer's follows the well-known path (after
// the stage, docs/decisions.md); on another origin (companion mode), its host[:port] and
// path, so that it never collides with the issuer's own resource of the same path.
func TestRFC9728_3_1_MetadataURL(t *testing.T) {
	for _, tt := range []struct{ issuer, resource, want string }{
		{"https://auth.example.com", "https://auth.example.com/mcp", "https://auth.example.com/.well-known/oauth-protected-resource/mcp"},
		{"https://h.example/Prod", "https://h.example/Prod/mcp", "https://h.example/Prod/.well-known/oauth-protected-resource/mcp"},
		{"https://h.example/Prod", "https://h.example/Prod/mcp/admin", "https://h.example/Prod/.well-known/oauth-protected-resource/mcp/admin"},
		{"https://auth.example.com", "https://auth.example.com", "https://auth.example.com/.well-known/oauth-protected-resource"},
		{"https://auth.example.com", "https://crm.example.com/mcp", "https://auth.example.com/.well-known/oauth-protected-resource/crm.example.com/mcp"},
		{"https://h.example/Prod", "https://crm.example.com/mcp", "https://h.example/Prod/.well-known/oauth-protected-resource/crm.example.com/mcp"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:5310/mcp", "http://127.0.0.1:3000/.well-known/oauth-protected-resource/127.0.0.1:5310/mcp"},
		{"https://auth.example.com", "https://auth.example.com:8443/mcp", "https://auth.example.com/.well-known/oauth-protected-resource/auth.example.com:8443/mcp"},
		{"https://auth.example.com", "http://auth.example.com/mcp", "https://auth.example.com/.well-known/oauth-protected-resource/auth.example.com/mcp"},
	} {
		if got := guard.MetadataURL(tt.issuer, tt.resource); got != tt.want {
			t.Errorf("MetadataURL(%s, %s) = %s, want %s", tt.issuer, tt.resource, got, tt.want)
		}
		if got := guard.ResourceMetadataURL(tt.issuer, guard.Route{Path: "/ignored", Resource: tt.resource}); got != tt.want {
			t.Errorf("ResourceMetadataURL(%s, route of %s) = %s, want %s", tt.issuer, tt.resource, got, tt.want)
		}
	}
}

func TestParseMethodARN(t *testing.T) {
	m, err := guard.ParseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/POST/mcp/x")
	if err != nil || m.Stage != "arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod" || m.Method != "POST" || m.Path != "/mcp/x" {
		t.Fatalf("%+v %v", m, err)
	}
	if m, err := guard.ParseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:abc123/Prod/GET/"); err != nil || m.Path != "/" {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"", "arn:aws:s3:::bucket", "arn:aws:execute-api:eu-west-1:1:abc", "arn:aws:execute-api:eu-west-1:1:abc/Prod"} {
		if _, err := guard.ParseMethodARN(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestIdentityFromAuthorizer(t *testing.T) {
	exp := time.Now().Add(time.Minute).Unix()
	base := map[string]any{"principalId": adaID, "sub": adaID, "client_id": "c", "scope": "mcp:tools orgs:read",
		"aud": testResource, "jti": "j", "email": "", "org_id": "", "integrationLatency": 2.0}
	for name, v := range map[string]any{"string": strconv.FormatInt(exp, 10), "float": float64(exp), "int64": exp} {
		m := map[string]any{"exp": v}
		for k, x := range base {
			m[k] = x
		}
		id, err := guard.IdentityFromAuthorizer(m)
		if err != nil || id.ExpiresAt.Unix() != exp || !id.HasScopes(oauth.Scope{"orgs:read"}) || id.Subject != adaID {
			t.Errorf("%s: %+v %v", name, id, err)
		}
	}
	for name, m := range map[string]map[string]any{
		"nil": nil, "no exp": base, "no sub": {"client_id": "c", "aud": "a", "exp": "1"},
		"bad exp": {"sub": "s", "client_id": "c", "aud": "a", "exp": "soon"},
	} {
		if _, err := guard.IdentityFromAuthorizer(m); !errors.Is(err, guard.ErrNoIdentity) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestChallenges(t *testing.T) {
	prm := "https://h.example/.well-known/oauth-protected-resource/mcp"
	both := oauth.Scope{"mcp:tools", "orgs:read"}
	if got := guard.InvalidTokenChallenge(prm, both); got != `Bearer error="invalid_token", resource_metadata="`+prm+`", scope="mcp:tools orgs:read"` {
		t.Error(got)
	}
	if got := guard.GatewayChallenge(prm, both); got != `Bearer resource_metadata="`+prm+`", scope="mcp:tools orgs:read"` {
		t.Error(got)
	}
	if got := guard.InsufficientScopeChallenge(oauth.Scope{"mcp:tools", "orgs:read"}, prm); got != `Bearer error="insufficient_scope", scope="mcp:tools orgs:read", resource_metadata="`+prm+`"` {
		t.Error(got)
	}
}

// Issue 5: the authorizer counts allows (summed per second) and denials by reason (EMF).
func TestAuthorizerMetrics(t *testing.T) {
	f := newFixture(t, nil)
	var buf bytes.Buffer
	f.auth.WithMetrics(obs.NewMetrics(&buf, "AuthorizerFunction"))
	ctx := context.Background()
	good := f.mint(t, "mcp:tools")
	for range 3 {
		if _, err := f.auth.Handle(ctx, gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer "+good))); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = f.auth.Handle(ctx, gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer not.a.token")))
	_, _ = f.auth.Handle(ctx, gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp")))
	sums := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line is not JSON: %q", line)
		}
		if v, ok := doc[obs.AuthorizerAllow].(float64); ok {
			sums["allow"] += v
		}
		if v, ok := doc[obs.AuthorizerDeny].(float64); ok {
			sums["deny:"+doc[obs.DimReason].(string)] += v
		}
	}
	if sums["deny:malformed_token"] != 1 || sums["deny:missing_token"] != 1 {
		t.Fatalf("denials by reason: %v", sums)
	}
	// The first allow is written at once, the next two within the same second are pending.
	if sums["allow"] != 1 {
		t.Fatalf("allow lines sum to %v before the interval, want 1", sums["allow"])
	}
}
