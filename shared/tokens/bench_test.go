package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"
)

// benchToken mints one real token with local-kms and loads the key set.
func benchToken(b *testing.B) (string, *KeySet) {
	b.Helper()
	k := newKMSKey(b)
	tok, _, err := NewMinter(k.client, k.id, testIssuer, 15*time.Minute).Mint(context.Background(), request())
	if err != nil {
		b.Fatal(err)
	}
	return tok, k.keySet(b)
}

// BenchmarkVerify is the whole Verifier on a valid token: split, base64, header, signature,
// strict claims parsing and checks.
func BenchmarkVerify(b *testing.B) {
	tok, ks := benchToken(b)
	v := NewVerifier(ks, testIssuer, 30*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok, testAudience); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawES256Verify is only the cryptography on the same token's bytes: SHA-256 of the
// signing input and ecdsa.Verify (signature bytes decoded beforehand). The difference to
// BenchmarkVerify is the cost of parsing and checking.
func BenchmarkRawES256Verify(b *testing.B) {
	tok, ks := benchToken(b)
	dot := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := ks.key(ks.KeyIDs()[0])
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			b.Fatal("signature does not verify")
		}
	}
}

// benchParts mints a real token and returns its decoded header and claims JSON.
func benchParts(b *testing.B) (header, claims []byte) {
	tok, _ := benchToken(b)
	h64, rest, _ := strings.Cut(tok, ".")
	p64, _, _ := strings.Cut(rest, ".")
	header, err := base64.RawURLEncoding.DecodeString(h64)
	if err != nil {
		b.Fatal(err)
	}
	claims, err = base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		b.Fatal(err)
	}
	return header, claims
}

// BenchmarkParse is only the strict JSON step of Verify: the JOSE header and the claims set
// of a real token, which BenchmarkVerify cannot resolve under the noise of ES256.
func BenchmarkParse(b *testing.B) {
	header, claims := benchParts(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseHeader(header); err != nil {
			b.Fatal(err)
		}
		if p, err := parseClaims(claims); err != nil || p.missing() != "" {
			b.Fatal(err, p.missing())
		}
	}
}
