package guard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/obs"
)

// The authorizer's cost per request, measured on events built as API Gateway sends them and
// tokens minted by the token function's signer (local-kms). Run:
//
//	go test -run '^$' -bench 'Authorizer|RawES256' -benchtime 2s -count 10 ./shared/guard/
//
// Targets (issue 3): fresh token ≤ 1.1 × a raw ES256 verification measured in the same run,
// read from the fresh/raw metric of BenchmarkAuthorizerFreshVsRaw (both timed in alternation,
// so that the load of a shared machine weighs on both alike); repeated token < 2 µs
// (BenchmarkAuthorizerRepeatedToken). BenchmarkAuthorizerFreshToken and
// BenchmarkRawES256Verify are the same two costs measured apart.

// benchPool is the number of distinct tokens cycled through by the fresh-token benchmark;
// the authorizer's cache is made smaller than that, so every request misses it and pays
// for the whole verification, exactly as a token the function has not seen yet.
const benchPool = 128

func benchAuthorizer(b *testing.B, n int) (*fixture, []events.APIGatewayCustomAuthorizerRequestTypeRequest, []string) {
	b.Helper()
	f := newFixture(b, nil)
	// Production logs JSON at INFO (an Allow is logged at DEBUG only).
	f.auth = guard.New(f.cfg, f.keys, slog.New(slog.NewJSONHandler(io.Discard, nil))).
		WithMetrics(obs.NewMetrics(io.Discard, "AuthorizerFunction")) // as deployed: one EMF line per request
	evs := make([]events.APIGatewayCustomAuthorizerRequestTypeRequest, n)
	toks := make([]string, n)
	for i := range evs {
		toks[i] = f.mint(b, "mcp:tools orgs:read")
		evs[i] = gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer "+toks[i]))
	}
	return f, evs, toks
}

// BenchmarkAuthorizerFreshToken: a token not in the warm cache (hash, cache miss, full
// ES256 verification and claim checks, policy and context built, cache insert). The cache
// keeps the last benchPool/4 tokens and the benchmark cycles through benchPool distinct
// ones, so each was evicted long before it comes back: every iteration misses.
func BenchmarkAuthorizerFreshToken(b *testing.B) {
	f, evs, _ := benchAuthorizer(b, benchPool)
	f.auth.WithCacheSize(benchPool / 4)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		resp, err := f.auth.Handle(ctx, evs[i%benchPool])
		if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAuthorizerRepeatedToken: the same token again (hash and cache hit).
func BenchmarkAuthorizerRepeatedToken(b *testing.B) {
	f, evs, _ := benchAuthorizer(b, 1)
	ctx := context.Background()
	if _, err := f.auth.Handle(ctx, evs[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := f.auth.Handle(ctx, evs[0])
		if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
			b.Fatal(err)
		}
	}
}

// rawES256 is the floor of a fresh token's cost: the cryptography of one ES256 verification
// and nothing else, through the cheapest public API — SHA-256 of the token's signing input,
// then ecdsa.VerifyASN1 of the signature, converted to DER once beforehand (ecdsa.Verify
// with big.Int r and s would cost more: it builds the DER itself). Decoding base64, looking
// up the key and the R‖S to DER conversion are left out: they are the verifier's overhead.
type rawES256 struct {
	pub   *ecdsa.PublicKey
	input []byte // ASCII(header64 '.' payload64)
	der   []byte // the signature as ASN.1 DER
}

func newRawES256(b *testing.B, f *fixture, tok string) rawES256 {
	b.Helper()
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil || len(sig) != 64 {
		b.Fatal(err, len(sig))
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		b.Fatal(err)
	}
	return rawES256{pub: publicKey(b, f).(*ecdsa.PublicKey), input: []byte(tok[:dot]), der: der}
}

func (r rawES256) verify() bool {
	digest := sha256.Sum256(r.input)
	return ecdsa.VerifyASN1(r.pub, digest[:], r.der)
}

// BenchmarkRawES256Verify is rawES256 on one of the same tokens: SHA-256 of the signing
// input and ecdsa.VerifyASN1 of a DER signature prepared beforehand.
func BenchmarkRawES256Verify(b *testing.B) {
	f, _, toks := benchAuthorizer(b, 1)
	raw := newRawES256(b, f, toks[0])
	b.ReportAllocs()
	for b.Loop() {
		if !raw.verify() {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkAuthorizerFreshVsRaw times, in alternation within each iteration, one fresh-token
// request (as BenchmarkAuthorizerFreshToken) and one raw ES256 verification (as
// BenchmarkRawES256Verify), alternating which goes first: on a shared, busy machine the
// ratio of two separate benchmarks mostly measures the load that changed between them. It
// reports
//
//   - fresh/raw: the median fresh request over the median raw verification (medians of the
//     last ratioSamples iterations: a preemption by another process lands in one sample
//     instead of skewing a mean), the figure issue 3's target (≤ 1.1) is about;
//   - fresh-med-ns, raw-med-ns: those medians;
//   - fresh/raw-mean, fresh-ns/op, raw-ns/op: the same from means (which include the
//     garbage collection that allocations cause, and every preemption).
//
// ns/op, B/op and allocs/op are of the pair.
func BenchmarkAuthorizerFreshVsRaw(b *testing.B) {
	f, evs, toks := benchAuthorizer(b, benchPool)
	f.auth.WithCacheSize(benchPool / 4)
	raw := newRawES256(b, f, toks[0])
	ctx := context.Background()
	var fresh, floor time.Duration
	freshS, floorS := make([]time.Duration, ratioSamples), make([]time.Duration, ratioSamples)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var tf, tr time.Duration
		if i%2 == 0 {
			t0 := time.Now()
			ok := raw.verify()
			t1 := time.Now()
			resp, err := f.auth.Handle(ctx, evs[i%benchPool])
			tf, tr = time.Since(t1), t1.Sub(t0)
			if !ok || err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
				b.Fatal(ok, err)
			}
		} else {
			t0 := time.Now()
			resp, err := f.auth.Handle(ctx, evs[i%benchPool])
			t1 := time.Now()
			ok := raw.verify()
			tf, tr = t1.Sub(t0), time.Since(t1)
			if !ok || err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
				b.Fatal(ok, err)
			}
		}
		fresh += tf
		floor += tr
		freshS[i%ratioSamples], floorS[i%ratioSamples] = tf, tr
		i++
	}
	n := min(i, ratioSamples)
	medFresh, medRaw := median(freshS[:n]), median(floorS[:n])
	b.ReportMetric(float64(medFresh)/float64(medRaw), "fresh/raw")
	b.ReportMetric(float64(medFresh.Nanoseconds()), "fresh-med-ns")
	b.ReportMetric(float64(medRaw.Nanoseconds()), "raw-med-ns")
	b.ReportMetric(float64(fresh)/float64(floor), "fresh/raw-mean")
	b.ReportMetric(float64(fresh.Nanoseconds())/float64(i), "fresh-ns/op")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(i), "raw-ns/op")
}

// ratioSamples bounds the iterations BenchmarkAuthorizerFreshVsRaw keeps for its medians.
const ratioSamples = 1 << 14

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}
