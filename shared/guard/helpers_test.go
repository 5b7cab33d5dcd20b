package guard_test

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
)

const (
	testIssuer   = "https://auth.example.test"
	testResource = testIssuer + "/mcp"
	adaID        = "user_01JADAGS1DPDFA9S9S631SFWJ6"
)

// fixture is an authorizer over one local-kms key, with the token function's signer for
// that key and a second KMS key whose tokens are not accepted.
type fixture struct {
	kms      *kms.Client
	keyID    string
	otherKey string
	keys     *tokens.KeySet
	cfg      config.Config
	auth     *guard.Authorizer
	logs     *syncBuffer
}

type syncBuffer = testenv.Buffer

func newFixture(t testing.TB, env map[string]string) *fixture {
	t.Helper()
	client := testenv.KMS(t)
	keyID := testenv.NewSigningKey(t, client)
	vars := map[string]string{"ISSUER": testIssuer, "SIGNING_KEY_ID": keyID}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.LoadKeySet(context.Background(), client, cfg.AcceptedKeyIDs)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &fixture{
		kms: client, keyID: keyID, otherKey: testenv.NewSigningKey(t, client), keys: keys, cfg: cfg,
		auth: guard.New(cfg, keys, log), logs: logs,
	}
}

// mint signs a token as the token function does (tokens.Minter on the KMS key).
func (f *fixture) mint(t testing.TB, scope string, opts ...func(*mintOpts)) string {
	t.Helper()
	o := mintOpts{issuer: testIssuer, audience: testResource, key: f.keyID, now: time.Now()}
	for _, fn := range opts {
		fn(&o)
	}
	tok, _, err := tokens.NewMinter(f.kms, o.key, o.issuer, 15*time.Minute).WithClock(func() time.Time { return o.now }).
		Mint(context.Background(), tokens.AccessClaims{
			Subject: adaID, Audience: o.audience, ClientID: "abc_client", Scope: scope,
			Email: "ada@example.com", OrgID: "org_01JENGINESADMFHXS2JFX687EA", SessionID: "session_1",
		})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type mintOpts struct {
	issuer, audience, key string
	now                   time.Time
}

func withIssuer(iss string) func(*mintOpts)   { return func(o *mintOpts) { o.issuer = iss } }
func withAudience(aud string) func(*mintOpts) { return func(o *mintOpts) { o.audience = aud } }
func withKey(key string) func(*mintOpts)      { return func(o *mintOpts) { o.key = key } }
func withClock(now time.Time) func(*mintOpts) { return func(o *mintOpts) { o.now = now } }
func b64(s string) string                     { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func b64bytes(b []byte) string                { return base64.RawURLEncoding.EncodeToString(b) }
func parts(tok string) (h64, p64, s64 string) { s := strings.Split(tok, "."); return s[0], s[1], s[2] }
func decodePart(t testing.TB, p string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(p)
	must(t, err)
	return b
}
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func claimsOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	_, p64, _ := parts(tok)
	var m map[string]any
	must(t, json.Unmarshal(decodePart(t, p64), &m))
	return m
}

// kmsSign signs arbitrary header and payload JSON with a KMS key, so that a crafted token
// carries a genuine signature and reaches the check under test.
func (f *fixture) kmsSign(t testing.TB, key, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	out, err := f.kms.Sign(context.Background(), &kms.SignInput{
		KeyId: aws.String(key), Message: digest[:],
		MessageType: kmstypes.MessageTypeDigest, SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256,
	})
	must(t, err)
	var sig struct{ R, S *big.Int }
	_, err = asn1.Unmarshal(out.Signature, &sig)
	must(t, err)
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return input + "." + b64bytes(raw)
}

// request is a client request to path with the given Authorization header values.
func request(method, path string, authorization ...string) gatewaytest.Request {
	h := map[string][]string{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
	if len(authorization) > 0 {
		h["Authorization"] = authorization
	}
	return gatewaytest.Request{Method: method, Path: path, Header: h}
}

// authorize runs the authorizer on r as API Gateway would and returns the status the client
// would see (401 for the error "Unauthorized", 403 for a Deny, 200 for an Allow).
func (f *fixture) authorize(t testing.TB, r gatewaytest.Request) (int, events.APIGatewayCustomAuthorizerResponse, error) {
	t.Helper()
	ev := gatewaytest.Default.AuthorizerEvent(r)
	resp, err := f.auth.Handle(context.Background(), ev)
	return gatewaytest.Status(resp, err, ev.MethodArn), resp, err
}
