package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

// A JWKS consumer verifies with the keys the JWKS document publishes exactly as the
// authorizer does with the keys it loads from KMS.
func TestRFC7517_ParseJWKSRoundTripVerifiesKMSTokens(t *testing.T) {
	f := newVerifyFixture(t)
	other := newKMSKey(t)
	loaded, err := LoadKeySet(context.Background(), f.k.client, []string{f.k.id, other.id})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := loaded.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseJWKS(doc)
	if err != nil {
		t.Fatalf("ParseJWKS(%s): %v", doc, err)
	}
	if !slices.Equal(parsed.KeyIDs(), loaded.KeyIDs()) {
		t.Fatalf("kids %q, want %q", parsed.KeyIDs(), loaded.KeyIDs())
	}
	again, _ := parsed.JWKS()
	if string(again) != string(doc) {
		t.Fatalf("JWKS of the parsed set differs:\n%s\n%s", again, doc)
	}
	v := NewVerifier(parsed, testIssuer, time.Minute).WithClock(clock(fixedNow.Add(time.Minute)))
	c, err := v.Verify(f.token, testAudience)
	if err != nil || c.JTI != f.claims.JTI {
		t.Fatalf("Verify with the parsed JWKS = %+v, %v", c, err)
	}
	// RFC 7515 §4.1.4: a key missing from the document is unknown, whatever the token says.
	onlyOther, err := ParseJWKS([]byte(strings.Replace(string(doc), f.k.id, "retired", 1)))
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, NewVerifier(onlyOther, testIssuer, time.Minute).WithClock(clock(fixedNow)), f.token, testAudience, ErrUnknownKey)
}

func TestRFC7518_6_2_ParseJWKSKeepsOnlyES256SigningKeys(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pt, _ := priv.PublicKey.Bytes()
	x := base64.RawURLEncoding.EncodeToString(pt[1:33])
	y := base64.RawURLEncoding.EncodeToString(pt[33:])
	key := func(extra string) string {
		return `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"` + extra + `}`
	}
	good := key(`,"kid":"good","alg":"ES256","use":"sig"`)
	for _, tt := range []struct {
		name, doc string
		kids      []string // nil: an error
	}{
		{"RFC 7517 §5 one key", `{"keys":[` + good + `]}`, []string{"good"}},
		{"RFC 7517 §4.3-4.4 alg and use may be absent", `{"keys":[` + key(`,"kid":"bare"`) + `]}`, []string{"bare"}},
		{"RFC 7517 §5 unknown members ignored", `{"keys":[` + key(`,"kid":"k","x5t":"abc","ext":true`) + `],"other":1}`, []string{"k"}},
		{"RFC 8725 §3.1 RSA key skipped", `{"keys":[{"kty":"RSA","kid":"rsa","n":"AQAB","e":"AQAB"},` + good + `]}`, []string{"good"}},
		{"RFC 8725 §3.1 ES384 key skipped", `{"keys":[` + key(`,"kid":"es384","alg":"ES384"`) + `,` + good + `]}`, []string{"good"}},
		{"RFC 7518 §6.2.1.1 P-384 key skipped", `{"keys":[{"kty":"EC","crv":"P-384","kid":"p384","x":"` + x + `","y":"` + y + `"},` + good + `]}`, []string{"good"}},
		{"RFC 7517 §4.2 encryption key skipped", `{"keys":[` + key(`,"kid":"enc","use":"enc"`) + `,` + good + `]}`, []string{"good"}},
		{"RFC 7515 §4.1.4 key without kid skipped", `{"keys":[` + key(``) + `,` + good + `]}`, []string{"good"}},
		{"RFC 7517 §5 no usable key", `{"keys":[{"kty":"RSA","kid":"rsa"}]}`, nil},
		{"RFC 7517 §5 empty set", `{"keys":[]}`, nil},
		{"RFC 7517 §5 keys member required", `{}`, nil},
		{"RFC 7517 §5 not JSON", `<html>`, nil},
		{"RFC 7517 §4.5 kid twice", `{"keys":[` + good + `,` + good + `]}`, nil},
		{"RFC 7518 §6.2.1.2 short x", `{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"AAAA","y":"` + y + `"}]}`, nil},
		{"RFC 7518 §6.2.1.2 padded x", `{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"` + x + `=","y":"` + y + `"}]}`, nil},
		{"RFC 7518 §6.2.1 point off the curve", `{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"` + x + `","y":"` + x + `"}]}`, nil},
		{"RFC 7517 §5 too many keys", `{"keys":[` + strings.Repeat(`{"kty":"RSA"},`, MaxJWKSKeys) + good + `]}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseJWKS([]byte(tt.doc))
			if tt.kids == nil {
				if err == nil {
					t.Fatalf("accepted: %q", ks.KeyIDs())
				}
				return
			}
			if err != nil || !slices.Equal(ks.KeyIDs(), tt.kids) {
				t.Fatalf("ParseJWKS = %q, %v; want %q", ks.KeyIDs(), err, tt.kids)
			}
		})
	}
}
