package tokens

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authbridge/authbridge/shared/testenv"
)

func request() AccessClaims {
	return AccessClaims{
		Subject: "user_01HXYZ", Audience: testAudience, ClientID: "client-123",
		Scope: "mcp:tools mcp:read", Email: "ada@example.test", OrgID: "org_1", SessionID: "session_1",
		// Mint must overwrite these.
		Issuer: "https://evil.example", ExpiresAt: 1, IssuedAt: 1, NotBefore: 1, JTI: "chosen",
	}
}

// decodeHeader returns the raw JOSE header JSON of a compact token.
func decodeHeader(t *testing.T, token string) string {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("header base64: %v", err)
	}
	return string(b)
}

func TestMintThenVerify(t *testing.T) {
	k := newKMSKey(t)
	signer := &countingSigner{SignAPI: k.client}
	m := NewMinter(signer, k.id, testIssuer, 10*time.Minute).WithClock(clock(fixedNow))
	if m.TTL() != 10*time.Minute {
		t.Fatalf("TTL = %v", m.TTL())
	}
	token, claims, err := m.Mint(context.Background(), request())
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if n := signer.calls.Load(); n != 1 {
		t.Errorf("Sign calls = %d, want 1 for a key id", n)
	}
	// RFC 9068 §2.1 header, exactly.
	if got, want := decodeHeader(t, token), `{"alg":"ES256","typ":"at+jwt","kid":"`+k.id+`"}`; got != want {
		t.Errorf("header = %s, want %s", got, want)
	}
	if claims.Issuer != testIssuer || claims.IssuedAt != fixedNow.Unix() || claims.NotBefore != fixedNow.Unix() ||
		claims.ExpiresAt != fixedNow.Add(10*time.Minute).Unix() {
		t.Errorf("times/issuer not filled: %+v", claims)
	}
	if jti, err := base64.RawURLEncoding.DecodeString(claims.JTI); err != nil || len(jti) < 16 {
		t.Errorf("jti %q is not ≥128 random bits", claims.JTI)
	}

	ks := k.keySet(t)
	v := NewVerifier(ks, testIssuer, 30*time.Second).WithClock(clock(fixedNow.Add(time.Minute)))
	got, err := v.Verify(token, testAudience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got != claims {
		t.Errorf("verified claims differ:\n got %+v\nwant %+v", got, claims)
	}

	// Two tokens never share a jti.
	token2, claims2, err := m.Mint(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if claims2.JTI == claims.JTI || token2 == token {
		t.Error("jti repeated")
	}
}

func TestMintRequiresSubjectAudienceClient(t *testing.T) {
	k := newKMSKey(t)
	m := NewMinter(k.client, k.id, testIssuer, 0)
	if m.TTL() != DefaultTTL {
		t.Errorf("default TTL = %v", m.TTL())
	}
	for _, c := range []AccessClaims{
		{Audience: testAudience, ClientID: "c"}, {Subject: "s", ClientID: "c"}, {Subject: "s", Audience: testAudience},
	} {
		if _, _, err := m.Mint(context.Background(), c); err == nil {
			t.Errorf("Mint(%+v) succeeded", c)
		}
	}
}

// verifyWithGoJose checks token independently of our Verifier, from the JWKS document only.
func verifyWithGoJose(t *testing.T, token string, jwksDoc []byte, wantKid string, now time.Time) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwksDoc, &set); err != nil {
		t.Fatalf("go-jose cannot parse JWKS: %v", err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("go-jose ParseSignedCompact: %v", err)
	}
	if len(jws.Signatures) != 1 {
		t.Fatalf("%d signatures", len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if h.KeyID != wantKid || h.Algorithm != "ES256" || h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Fatalf("go-jose header: kid %q alg %q typ %v", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 || !keys[0].Valid() || keys[0].Use != "sig" || keys[0].Algorithm != "ES256" {
		t.Fatalf("JWKS entry for %s: %+v", h.KeyID, keys)
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Fatalf("go-jose Verify: %v", err)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var std jwt.Claims
	var ours struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if err := parsed.Claims(keys[0].Key, &std, &ours); err != nil {
		t.Fatalf("go-jose Claims: %v", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{testAudience}, Time: now}, 0); err != nil {
		t.Fatalf("go-jose Validate: %v", err)
	}
	if ours.ClientID == "" || std.Subject == "" || std.ID == "" {
		t.Fatalf("claims missing: %+v %+v", std, ours)
	}
	// Any other key in the set must not verify it.
	for _, other := range set.Keys {
		if other.KeyID != wantKid {
			if _, err := jws.Verify(other); err == nil {
				t.Fatalf("token verified under %s too", other.KeyID)
			}
		}
	}
}

func TestGoJoseVerifiesAgainstJWKS(t *testing.T) {
	k := newKMSKey(t)
	token, _, err := NewMinter(k.client, k.id, testIssuer, time.Minute).Mint(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := k.keySet(t).JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil || len(raw.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	want := map[string]bool{"kty": true, "crv": true, "x": true, "y": true, "kid": true, "use": true, "alg": true}
	for name := range raw.Keys[0] {
		if !want[name] {
			t.Errorf("unexpected JWK member %q", name)
		}
	}
	for _, c := range []string{"x", "y"} {
		if b, err := base64.RawURLEncoding.DecodeString(raw.Keys[0][c]); err != nil || len(b) != 32 {
			t.Errorf("%s is not 32 bytes base64url", c)
		}
	}
	verifyWithGoJose(t, token, doc, k.id, time.Now())
}

func TestMinterKeyReferenceForms(t *testing.T) {
	k := newKMSKey(t)
	ctx := context.Background()
	desc, err := k.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.id)})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(desc.KeyMetadata.Arn)
	alias := "alias/" + testenv.UniqueName("authbridge-ref")
	if _, err := k.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(k.id)}); err != nil {
		t.Fatal(err)
	}
	aliasARN := strings.TrimSuffix(keyARN, "key/"+k.id) + alias
	ks := k.keySet(t)
	for _, tc := range []struct {
		name, ref string
		calls     int64 // Sign calls for the first token
	}{
		{"key id", k.id, 1}, {"key ARN", keyARN, 1}, {"alias", alias, 2}, {"alias ARN", aliasARN, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signer := &countingSigner{SignAPI: k.client}
			token, _, err := NewMinter(signer, tc.ref, testIssuer, time.Minute).Mint(ctx, request())
			if err != nil {
				t.Fatal(err)
			}
			if n := signer.calls.Load(); n != tc.calls {
				t.Errorf("Sign calls = %d, want %d", n, tc.calls)
			}
			if !strings.Contains(decodeHeader(t, token), `"kid":"`+k.id+`"`) {
				t.Errorf("header %s does not name %s", decodeHeader(t, token), k.id)
			}
			if _, err := NewVerifier(ks, testIssuer, 0).Verify(token, testAudience); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	// LoadKeySet resolves every form to the same kid.
	ks2, err := LoadKeySet(ctx, k.client, []string{k.id, keyARN, alias, aliasARN})
	if err != nil {
		t.Fatal(err)
	}
	if ids := ks2.KeyIDs(); len(ids) != 1 || ids[0] != k.id {
		t.Errorf("KeyIDs = %v, want [%s]", ids, k.id)
	}
}

func TestRotationAliasMovesToNewKey(t *testing.T) {
	ctx := context.Background()
	a := newKMSKey(t)
	b := kmsKey{client: a.client, id: testenv.NewSigningKey(t, a.client)}
	alias := "alias/" + testenv.UniqueName("authbridge-signing")
	if _, err := a.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(a.id)}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	signer := &countingSigner{SignAPI: a.client}
	m := NewMinter(signer, alias, testIssuer, 5*time.Minute)

	// Cold start: the first token costs two Sign calls, then one.
	tokA, _, err := m.Mint(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	if n := signer.calls.Load(); n != 2 {
		t.Errorf("cold start Sign calls = %d, want 2", n)
	}
	tokA2, _, err := m.Mint(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	if n := signer.calls.Load(); n != 3 {
		t.Errorf("steady state Sign calls = %d, want 3 in total", n)
	}

	if _, err := a.client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(b.id)}); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	tokB, _, err := m.Mint(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	if n := signer.calls.Load(); n != 5 {
		t.Errorf("after rotation Sign calls = %d, want 5 in total (one re-sign)", n)
	}
	for tok, want := range map[string]string{tokA: a.id, tokA2: a.id, tokB: b.id} {
		if h := decodeHeader(t, tok); !strings.Contains(h, `"kid":"`+want+`"`) {
			t.Errorf("header %s, want kid %s", h, want)
		}
	}

	both, err := LoadKeySet(ctx, a.client, []string{a.id, b.id})
	if err != nil {
		t.Fatal(err)
	}
	if ids := both.KeyIDs(); len(ids) != 2 || ids[0] != a.id || ids[1] != b.id {
		t.Errorf("KeyIDs = %v", ids)
	}
	v := NewVerifier(both, testIssuer, 0)
	doc, err := both.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	for tok, kid := range map[string]string{tokA: a.id, tokB: b.id} {
		if _, err := v.Verify(tok, testAudience); err != nil {
			t.Errorf("Verify token of %s: %v", kid, err)
		}
		verifyWithGoJose(t, tok, doc, kid, time.Now())
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil || len(set.Keys) != 2 || len(set.Key(a.id)) != 1 || len(set.Key(b.id)) != 1 {
		t.Errorf("JWKS does not list both keys: %s", doc)
	}

	// A set holding only the old key does not know the new kid.
	if _, err := NewVerifier(a.keySet(t), testIssuer, 0).Verify(tokB, testAudience); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old-key set on new token: %v, want ErrUnknownKey", err)
	}
	// The alias now resolves to key B.
	viaAlias, err := LoadKeySet(ctx, a.client, []string{alias})
	if err != nil || len(viaAlias.KeyIDs()) != 1 || viaAlias.KeyIDs()[0] != b.id {
		t.Errorf("alias key set = %v, %v", viaAlias.KeyIDs(), err)
	}
}

func TestMintConcurrentColdStart(t *testing.T) {
	ctx := context.Background()
	k := newKMSKey(t)
	alias := "alias/" + testenv.UniqueName("authbridge-conc")
	if _, err := k.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(k.id)}); err != nil {
		t.Fatal(err)
	}
	m := NewMinter(k.client, alias, testIssuer, time.Minute)
	v := NewVerifier(k.keySet(t), testIssuer, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			tok, _, err := m.Mint(ctx, request())
			if err == nil {
				_, err = v.Verify(tok, testAudience)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestKeyIDFromRef(t *testing.T) {
	for ref, want := range map[string]string{
		"1234abcd-12ab-34cd-56ef-1234567890ab":                                            "1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab":     "1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab": "mrk-1234abcd12ab34cd56ef1234567890ab",
		"alias/authbridge-signing":                                                        "",
		"arn:aws:kms:us-east-1:111122223333:alias/authbridge-signing":                     "",
		"arn:aws:kms:us-east-1:111122223333:key/":                                         "",
		"arn:aws:kms:us-east-1":                                                           "",
		"":                                                                                "",
	} {
		got, ok := keyIDFromRef(ref)
		if got != want || ok != (want != "") {
			t.Errorf("keyIDFromRef(%q) = %q, %v; want %q", ref, got, ok, want)
		}
	}
}

// TestMintUntilKeepsTheGivenExpiry: the front door's assertion (docs/front-door.md) expires
// with the client token it stands for (RFC 7519 §4.1.4 exp as given, iat and nbf now), and a
// token is never minted already expired: that is refused before any kms:Sign.
func TestMintUntilKeepsTheGivenExpiry(t *testing.T) {
	k := newKMSKey(t)
	signer := &countingSigner{SignAPI: k.client}
	m := NewMinter(signer, k.id, testIssuer, 10*time.Minute).WithClock(clock(fixedNow))
	exp := fixedNow.Add(3 * time.Minute)
	token, claims, err := m.MintUntil(context.Background(), request(), exp)
	if err != nil {
		t.Fatal(err)
	}
	if claims.ExpiresAt != exp.Unix() || claims.IssuedAt != fixedNow.Unix() || claims.NotBefore != fixedNow.Unix() || claims.Issuer != testIssuer {
		t.Errorf("claims %+v", claims)
	}
	got, err := NewVerifier(k.keySet(t), testIssuer, 0).WithClock(clock(fixedNow)).Verify(token, testAudience)
	if err != nil || got != claims {
		t.Fatalf("Verify: %v, %+v", err, got)
	}
	for _, past := range []time.Time{fixedNow, fixedNow.Add(-time.Second)} {
		if _, _, err := m.MintUntil(context.Background(), request(), past); !errors.Is(err, ErrExpired) {
			t.Errorf("exp %v: err %v, want ErrExpired", past.Sub(fixedNow), err)
		}
	}
	if n := signer.calls.Load(); n != 1 {
		t.Errorf("Sign calls = %d, want 1", n)
	}
}
