package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/authbridge/authbridge/shared/testenv"
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "https://mcp.example.test/mcp"
)

// fixedNow is a round instant used by tests that pin the clock.
var fixedNow = time.Unix(1_800_000_000, 0)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// kmsKey is a fresh local-kms signing key and a client for it.
type kmsKey struct {
	client *kms.Client
	id     string
}

func newKMSKey(t testing.TB) kmsKey {
	t.Helper()
	c := testenv.KMS(t)
	return kmsKey{client: c, id: testenv.NewSigningKey(t, c)}
}

func (k kmsKey) keySet(t testing.TB) *KeySet {
	t.Helper()
	ks, err := LoadKeySet(context.Background(), k.client, []string{k.id})
	if err != nil {
		t.Fatalf("LoadKeySet: %v", err)
	}
	return ks
}

// countingSigner passes calls to the real local-kms client and counts them.
type countingSigner struct {
	SignAPI
	calls atomic.Int64
}

func (c *countingSigner) Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error) {
	c.calls.Add(1)
	return c.SignAPI.Sign(ctx, in, optFns...)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// kmsSignCompact signs arbitrary header and payload JSON with the KMS key, so that a crafted
// token has a genuine signature and reaches the check under test.
func kmsSignCompact(t testing.TB, k kmsKey, headerJSON, payloadJSON string) string {
	t.Helper()
	input := b64(headerJSON) + "." + b64(payloadJSON)
	digest := sha256.Sum256([]byte(input))
	out, err := k.client.Sign(context.Background(), &kms.SignInput{
		KeyId: aws.String(k.id), Message: digest[:],
		MessageType: kmstypes.MessageTypeDigest, SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		t.Fatalf("kms Sign: %v", err)
	}
	raw, err := derToRaw(out.Signature)
	if err != nil {
		t.Fatalf("derToRaw: %v", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(raw)
}

// localSignCompact signs header and payload with a local ECDSA key.
func localSignCompact(t testing.TB, priv *ecdsa.PrivateKey, headerJSON, payloadJSON string) string {
	t.Helper()
	input := b64(headerJSON) + "." + b64(payloadJSON)
	digest := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatalf("SignASN1: %v", err)
	}
	raw, err := derToRaw(der)
	if err != nil {
		t.Fatalf("derToRaw: %v", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(raw)
}

func headerJSON(alg, typ, kid string) string {
	m := map[string]string{}
	if alg != "" {
		m["alg"] = alg
	}
	if typ != "" {
		m["typ"] = typ
	}
	if kid != "" {
		m["kid"] = kid
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// validClaims returns the claims of a valid token issued at iat.
func validClaims(iat time.Time) AccessClaims {
	return AccessClaims{
		Issuer: testIssuer, Subject: "user_01HXYZ", Audience: testAudience, ClientID: "client-123",
		Scope: "mcp:tools", IssuedAt: iat.Unix(), NotBefore: iat.Unix(),
		ExpiresAt: iat.Add(15 * time.Minute).Unix(), JTI: "jti-0123456789abcdef",
	}
}

func claimsJSON(c any) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}
