package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"slices"
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

// rawES256 is the floor of Verify's cost: the cryptography of one ES256 verification and
// nothing else, through the cheapest public API — SHA-256 of the token's signing input, then
// ecdsa.VerifyASN1 of the signature converted to DER once beforehand (ecdsa.Verify with
// big.Int r and s would cost more: it builds the DER itself). The difference to Verify is
// the cost of decoding, parsing and checking.
type rawES256 struct {
	pub   *ecdsa.PublicKey
	input []byte // ASCII(header64 '.' payload64)
	der   []byte // the signature as ASN.1 DER
}

func newRawES256(b *testing.B, tok string, ks *KeySet) rawES256 {
	b.Helper()
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil || len(sig) != 64 {
		b.Fatal(err, len(sig))
	}
	return rawES256{pub: ks.key(ks.KeyIDs()[0]), input: []byte(tok[:dot]), der: rawToDER(nil, sig)}
}

func (r rawES256) verify() bool {
	digest := sha256.Sum256(r.input)
	return ecdsa.VerifyASN1(r.pub, digest[:], r.der)
}

// BenchmarkRawES256Verify is rawES256 on the same token as BenchmarkVerify.
func BenchmarkRawES256Verify(b *testing.B) {
	tok, ks := benchToken(b)
	raw := newRawES256(b, tok, ks)
	b.ReportAllocs()
	for b.Loop() {
		if !raw.verify() {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkVerifyVsRaw times Verify and rawES256 on the same token in alternation (which
// goes first alternates too) and reports verify/raw, the ratio of their medians over the
// last ratioSamples iterations (a preemption by another process lands in one sample instead
// of skewing a mean), the medians (verify-med-ns, raw-med-ns) and verify/raw-mean, the
// ratio of the means. ns/op and allocs/op are of the pair.
func BenchmarkVerifyVsRaw(b *testing.B) {
	tok, ks := benchToken(b)
	v := NewVerifier(ks, testIssuer, 30*time.Second)
	raw := newRawES256(b, tok, ks)
	var sumV, sumR time.Duration
	verS, rawS := make([]time.Duration, ratioSamples), make([]time.Duration, ratioSamples)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var tv, tr time.Duration
		var err error
		ok := false
		if t0 := time.Now(); i%2 == 0 {
			ok = raw.verify()
			t1 := time.Now()
			_, err = v.Verify(tok, testAudience)
			tv, tr = time.Since(t1), t1.Sub(t0)
		} else {
			_, err = v.Verify(tok, testAudience)
			t1 := time.Now()
			ok = raw.verify()
			tv, tr = t1.Sub(t0), time.Since(t1)
		}
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
		sumV += tv
		sumR += tr
		verS[i%ratioSamples], rawS[i%ratioSamples] = tv, tr
		i++
	}
	n := min(i, ratioSamples)
	medV, medR := median(verS[:n]), median(rawS[:n])
	b.ReportMetric(float64(medV)/float64(medR), "verify/raw")
	b.ReportMetric(float64(medV.Nanoseconds()), "verify-med-ns")
	b.ReportMetric(float64(medR.Nanoseconds()), "raw-med-ns")
	b.ReportMetric(float64(sumV)/float64(sumR), "verify/raw-mean")
}

const ratioSamples = 1 << 14

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
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
