package guard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/obs"
)

// The authorizer's cost per request, measured on events built as API Gateway sends them and
// tokens minted by the token function's signer (local-kms). Run:
//
//	go test -run '^$' -bench . -benchtime 2s -count 5 ./shared/guard/
//
// Targets (issue 3): fresh token ≤ 1.3 × BenchmarkRawES256Verify; repeated token ≤ 5 µs.

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
// ES256 verification and claim checks, policy and context built, cache insert).
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

// BenchmarkRawES256Verify is only the cryptography on one of the same tokens: SHA-256 of the
// signing input and ecdsa.Verify (signature decoded beforehand), the floor for a fresh token.
func BenchmarkRawES256Verify(b *testing.B) {
	f, _, toks := benchAuthorizer(b, 1)
	tok := toks[0]
	dot := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := publicKey(b, f).(*ecdsa.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			b.Fatal("signature does not verify")
		}
	}
}
