package guard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/tokens"
)

// Fuzz targets of the request parsers in this package. Their seeds run with go test; a longer
// run: go test -run '^$' -fuzz '^FuzzBearerHeader$' -fuzztime 30s ./shared/guard
// (infra/fuzz/targets.txt lists every target). No KMS: a local P-256 key stands in for it.

// localKMS answers GetPublicKey and Sign with a P-256 key generated in the process, so that
// tokens.LoadKeySet and tokens.Minter run unchanged without local-kms.
type localKMS struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func (k *localKMS) GetPublicKey(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &kms.GetPublicKeyOutput{KeyId: aws.String(k.kid), PublicKey: der, KeySpec: kmstypes.KeySpecEccNistP256,
		KeyUsage: kmstypes.KeyUsageTypeSignVerify, SigningAlgorithms: []kmstypes.SigningAlgorithmSpec{kmstypes.SigningAlgorithmSpecEcdsaSha256}}, nil
}

func (k *localKMS) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, in.Message)
	if err != nil {
		return nil, err
	}
	return &kms.SignOutput{KeyId: aws.String(k.kid), Signature: sig, SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256}, nil
}

// fuzzNow is the authorizer's clock in the fuzz targets, so that a token's validity does not
// depend on when an input is replayed.
var fuzzNow = time.Unix(1_900_000_000, 0)

// authorizerFuzz is an authorizer over a local key with the built-in /mcp route and front
// door 1, and tokens minted for it, substituted for the events/ placeholders.
type authorizerFuzz struct {
	cfg    config.Config
	keys   *tokens.KeySet
	minter *tokens.Minter
	tokens map[string]string // placeholder → token
}

var (
	fuzzFixtureOnce sync.Once
	fuzzFixture     *authorizerFuzz
	fuzzFixtureErr  error
)

func newAuthorizerFuzz(f *testing.F) *authorizerFuzz {
	fuzzFixtureOnce.Do(func() { fuzzFixture, fuzzFixtureErr = buildAuthorizerFuzz() })
	if fuzzFixtureErr != nil {
		f.Fatal(fuzzFixtureErr)
	}
	return fuzzFixture
}

func buildAuthorizerFuzz() (*authorizerFuzz, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &localKMS{kid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", priv: priv}
	vars := map[string]string{
		"ISSUER": testIssuer, "SIGNING_KEY_ID": k.kid,
		"PROTECTED_RESOURCES":      testResource + "," + crmResource,
		"SCOPES_SUPPORTED":         "mcp:tools orgs:read crm:read crm:write crm:export",
		"FRONT_DOOR_1_RESOURCE":    crmResource,
		"FRONT_DOOR_1_UPSTREAM":    crmUpstream,
		"FRONT_DOOR_1_SCOPES":      "mcp:tools crm:read",
		"FRONT_DOOR_1_TOOL_SCOPES": "delete_contact=crm:write;export=crm:read crm:export",
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		return nil, err
	}
	keys, err := tokens.LoadKeySet(context.Background(), k, cfg.AcceptedKeyIDs)
	if err != nil {
		return nil, err
	}
	minter := tokens.NewMinter(k, k.kid, testIssuer, 15*time.Minute).WithClock(func() time.Time { return fuzzNow })
	mint := func(aud, scope string, at time.Time) (string, error) {
		tok, _, err := tokens.NewMinter(k, k.kid, testIssuer, 15*time.Minute).WithClock(func() time.Time { return at }).
			Mint(context.Background(), tokens.AccessClaims{Subject: adaID, Audience: aud, ClientID: "abc_client", Scope: scope,
				Email: "ada@example.com", OrgID: "org_01JENGINESADMFHXS2JFX687EA", SessionID: "session_1"})
		return tok, err
	}
	a := &authorizerFuzz{cfg: cfg, keys: keys, minter: minter, tokens: map[string]string{}}
	for placeholder, spec := range map[string]struct {
		aud, scope string
		at         time.Time
	}{
		"${ACCESS_TOKEN}":                     {testResource, "mcp:tools orgs:read", fuzzNow},
		"${ACCESS_TOKEN_WITHOUT_ROUTE_SCOPE}": {testResource, "orgs:read", fuzzNow},
		"${EXPIRED_ACCESS_TOKEN}":             {testResource, "mcp:tools orgs:read", fuzzNow.Add(-45 * time.Minute)},
		"${CRM_TOKEN}":                        {crmResource, "mcp:tools crm:read crm:write", fuzzNow},
	} {
		if a.tokens[placeholder], err = mint(spec.aud, spec.scope, spec.at); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *authorizerFuzz) authorizer() *guard.Authorizer {
	return guard.New(a.cfg, a.keys, nil).WithAssertionMinter(a.minter).WithClock(func() time.Time { return fuzzNow })
}

// FuzzBearerHeader feeds header names and values, as API Gateway passes them in its two
// header maps, through AuthorizationValues and BearerToken.
func FuzzBearerHeader(f *testing.F) {
	for _, s := range []struct {
		n1, v1, n2, v2 string
		multi          bool
	}{
		{"Authorization", "Bearer eyJh.eyJi.c2ln", "Accept", "application/json", true},
		{"authorization", "bearer   abc-._~+/==", "Accept", "*/*", false},
		{"Authorization", "Bearer a", "authorization", "Bearer b", false},
		{"AUTHORIZATION", "Bearer a", "Authorization", "Bearer a", true},
		{"Authorization", "Bearer\ta", "", "", false},
		{"Authorization", "Bearer a b", "", "", false},
		{"Authorization", "Bearer a=b", "", "", false},
		{"Authorization", " \tBearer abc\t ", "", "", false},
		{"Authorization", "Bearer abc\x00", "", "", true},
		{"Authorization", "Bearer abc\r\nX-Injected: 1", "", "", false},
		{"Authorization", "Basic YWJjOmRlZg==", "", "", false},
		{"Authorization", "BearerX abc", "", "", false},
		{"Authorization", "Bearer", "", "", false},
		{"Authorization", "Bearer \u00a0abc", "", "", false},
		{"Authorization", "Bеarer abc", "", "", false}, // Cyrillic е
		{"Authoriz\u0430tion", "Bearer abc", "", "", false},
		{"Authorization", "Bearer " + strings.Repeat("A", 200) + "==", "", "", true},
	} {
		f.Add(s.n1, s.v1, s.n2, s.v2, s.multi)
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, multi bool) {
		var single map[string]string
		var multiple map[string][]string
		if multi {
			multiple = map[string][]string{n1: {v1}}
			multiple[n2] = append(multiple[n2], v2)
		} else {
			single = map[string]string{n1: v1, n2: v2}
		}
		values := guard.AuthorizationValues(single, multiple)
		// RFC 9110 §5.1: field names are case-insensitive; every spelling counts.
		want := 0
		for _, n := range []string{n1, n2} {
			if strings.EqualFold(n, "Authorization") {
				want++
			}
		}
		if n1 == n2 && !multi {
			want = min(want, 1) // one key of a map
		}
		if len(values) != want {
			t.Fatalf("%d Authorization values %q, want %d", len(values), values, want)
		}
		tok, err := guard.BearerToken(values)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with %v", tok, err)
			}
			known := []error{guard.ErrNoCredentials, guard.ErrSeveralCredentials, guard.ErrNotBearer, guard.ErrMalformedCredential}
			if !errorsIsOne(err, known) {
				t.Fatalf("error %v is none of the bearer reasons", err)
			}
			// RFC 6750 §2: one method, once.
			if len(values) > 1 && !errors.Is(err, guard.ErrSeveralCredentials) {
				t.Fatalf("%d values refused with %v", len(values), err)
			}
			return
		}
		if len(values) != 1 {
			t.Fatalf("token %q accepted from %d values", tok, len(values))
		}
		// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
		body := strings.TrimRight(tok, "=")
		if body == "" || strings.ContainsFunc(body, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/", r))
		}) {
			t.Fatalf("token %q is not a b64token", tok)
		}
		// The value is OWS, the scheme (any case), spaces, the token, OWS: nothing else.
		v := strings.Trim(values[0], " \t")
		if !strings.EqualFold(v[:6], "Bearer") || strings.TrimLeft(v[6:], " ") != tok || !strings.HasPrefix(v[6:], " ") {
			t.Fatalf("token %q from %q", tok, values[0])
		}
		if again, err := guard.BearerToken([]string{"Bearer " + tok}); err != nil || again != tok {
			t.Fatalf("token %q does not round-trip: %q, %v", tok, again, err)
		}
	})
}

func errorsIsOne(err error, known []error) bool {
	n := 0
	for _, k := range known {
		if errors.Is(err, k) {
			n++
		}
	}
	return n == 1
}

// FuzzParseMethodARN checks ParseMethodARN against MethodARN.String, its inverse.
func FuzzParseMethodARN(f *testing.F) {
	for _, s := range []string{
		gatewaytest.Default.MethodARN("POST", "/mcp"),
		gatewaytest.Default.MethodARN("GET", "/"),
		"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/Prod/GET",
		"arn:aws-cn:execute-api:cn-north-1:1:api/stage/POST/mcp/a/b//c",
		"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5//POST/mcp",
		"arn:aws:lambda:us-east-1:123456789012:a1b2c3d4e5/Prod/POST/mcp",
		"arn:aws:execute-api:us-east-1:123:456:a1b2c3d4e5/Prod/POST/mcp",
		"arn:aws:execute-api:::/a/b/c",
		"arn:aws:execute-api:us-east-1:1:a/P/*/mcp\x00",
		"ARN:aws:execute-api:us-east-1:1:a/P/GET/mcp",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		m, err := guard.ParseMethodARN(arn)
		if err != nil {
			if m != (guard.MethodARN{}) {
				t.Fatalf("%+v returned with %v", m, err)
			}
			return
		}
		// arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{path}
		if !strings.HasPrefix(arn, m.Stage+"/"+m.Method) || !strings.HasPrefix(m.Stage, "arn:") ||
			!strings.Contains(m.Stage, ":execute-api:") || m.Method == "" || strings.Contains(m.Method, "/") || !strings.HasPrefix(m.Path, "/") {
			t.Fatalf("parts %+v of %q", m, arn)
		}
		again, err := guard.ParseMethodARN(m.String())
		if err != nil || again != m {
			t.Fatalf("%q → %+v → %q → %+v, %v", arn, m, m.String(), again, err)
		}
		if strings.Count(arn[len(m.Stage):], "/") > 1 && m.String() != arn {
			t.Fatalf("String() = %q, want %q", m.String(), arn)
		}
	})
}

// FuzzAuthorizerEvent feeds JSON, decoded as the Lambda runtime decodes a REQUEST authorizer
// event, through Authorizer.Handle. The events/ placeholders (${ACCESS_TOKEN}, …) are
// replaced by tokens signed with the authorizer's key, so the fuzzer reaches Allow and Deny.
func FuzzAuthorizerEvent(f *testing.F) {
	a := newAuthorizerFuzz(f)
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "authorizer-*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	crm := gatewaytest.API{Region: "us-east-1", Account: "123456789012", ID: "fd1crm0001", Stage: "Prod"}
	for _, ev := range []events.APIGatewayCustomAuthorizerRequestTypeRequest{
		gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer ${ACCESS_TOKEN}")),
		gatewaytest.Default.AuthorizerEvent(request("GET", "/mcp/x", "bearer ${ACCESS_TOKEN_WITHOUT_ROUTE_SCOPE}")),
		gatewaytest.Default.AuthorizerEvent(request("POST", "/mcpx", "Bearer ${ACCESS_TOKEN}")),
		gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer ${ACCESS_TOKEN}", "Bearer ${ACCESS_TOKEN}")),
		gatewaytest.Default.AuthorizerEvent(request("POST", "/mcp", "Bearer ${CRM_TOKEN}")),
		frontDoorEvent(crm, "1", "${CRM_TOKEN}", "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "delete_contact"),
		frontDoorEvent(crm, "1", "${CRM_TOKEN}", "Mcp-Method", "tools/call", "Mcp-Name", "export"),
		frontDoorEvent(crm, "1", "${ACCESS_TOKEN}"),
		frontDoorEvent(crm, "9", "${CRM_TOKEN}"),
	} {
		b, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"type":"REQUEST","methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/Prod/POST/mcp","headers":{"Authorization":"Bearer ${ACCESS_TOKEN}"}}`,
		`{"methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/Prod/POST/mcp","headers":{"Authorization":"Bearer ${ACCESS_TOKEN}"},"multiValueHeaders":{"authorization":["Bearer x","Bearer ${ACCESS_TOKEN}"]}}`,
		`{"methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/Prod/POST/mcp","methodArn":"x","headers":{"Authorization":"Bearer ${ACCESS_TOKEN}\u0000"}}`,
		`{"methodArn":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/Prod/POST/mcp","stageVariables":{"frontDoor":""}}`,
		`{"methodArn":"","headers":null,"multiValueHeaders":{"Authorization":[]}}`,
		`{"methodArn":"arn:aws:execute-api:us-east-1:1:a/Prod/GET/mcp/../admin","headers":{"Authorization":"Bearer ${ACCESS_TOKEN}"}}`,
		`{"methodArn":1e999}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		f.Add([]byte(s))
	}
	minted := map[string]bool{}
	for _, tok := range a.tokens {
		minted[tok] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := string(data)
		for placeholder, tok := range a.tokens {
			s = strings.ReplaceAll(s, placeholder, tok)
		}
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if json.Unmarshal([]byte(s), &ev) != nil {
			return // the Lambda runtime refuses such a payload before any handler runs
		}
		auth := a.authorizer()
		resp, err := auth.Handle(context.Background(), ev)
		// The cache must not change the answer: the same event again.
		resp2, err2 := auth.Handle(context.Background(), ev)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || effect(resp) != effect(resp2) {
			t.Fatalf("answers differ: %v / %v", err, err2)
		}
		if err != nil {
			// API Gateway: "Unauthorized" is the 401; any other error a 500 (fail closed).
			if resp.PolicyDocument.Statement != nil || resp.Context != nil {
				t.Fatalf("policy returned with %v", err)
			}
			if !errors.Is(err, guard.ErrUnauthorized) && !strings.HasPrefix(err.Error(), "authorizer: ") {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		st := resp.PolicyDocument.Statement
		if len(st) != 1 || (st[0].Effect != "Allow" && st[0].Effect != "Deny") || resp.PrincipalID != adaID {
			t.Fatalf("policy %+v for %q", resp.PolicyDocument, resp.PrincipalID)
		}
		// RFC 6750 §2.1: exactly one Authorization header, carrying one of our tokens.
		values := guard.AuthorizationValues(ev.Headers, ev.MultiValueHeaders)
		tok, berr := guard.BearerToken(values)
		if berr != nil || !minted[tok] {
			t.Fatalf("%s for credentials %q (%v)", st[0].Effect, values, berr)
		}
		if tok == a.tokens["${EXPIRED_ACCESS_TOKEN}"] {
			t.Fatalf("%s for an expired token", st[0].Effect) // RFC 7519 §4.1.4
		}
		arn, perr := guard.ParseMethodARN(ev.MethodArn)
		if perr != nil {
			t.Fatalf("%s for methodArn %q", st[0].Effect, ev.MethodArn)
		}
		// The policy covers this stage only, and the request itself when it allows.
		for _, r := range st[0].Resource {
			if !strings.HasPrefix(r, arn.Stage+"/") {
				t.Fatalf("resource %q outside the stage %q", r, arn.Stage)
			}
		}
		// API Gateway refuses null, arrays and objects in an authorizer context.
		for k, v := range resp.Context {
			switch v.(type) {
			case string, int64, float64, bool:
			default:
				t.Fatalf("context %s is %T", k, v)
			}
		}
		if st[0].Effect == "Allow" {
			if !guard.InvokeAllowed(st, ev.MethodArn) {
				t.Fatalf("Allow does not cover its own request %q", ev.MethodArn)
			}
			if resp.Context[guard.CtxSubject] != adaID || resp.Context[guard.CtxClientID] != "abc_client" {
				t.Fatalf("context %v", resp.Context)
			}
			return
		}
		// RFC 6750 §3.1: a Deny is a valid token without the scopes (insufficient_scope).
		if guard.InvokeAllowed(st, ev.MethodArn) {
			t.Fatalf("Deny allows %q", ev.MethodArn)
		}
		if _, frontDoor := ev.StageVariables[guard.StageVariableFrontDoor]; tok == a.tokens["${ACCESS_TOKEN}"] && !frontDoor {
			scope, _ := oauth.ParseScope("mcp:tools orgs:read")
			if a.cfg.RequiredScopes.SubsetOf(scope) {
				t.Fatal("Deny for a token with every required scope")
			}
		}
	})
}

func effect(resp events.APIGatewayCustomAuthorizerResponse) string {
	if len(resp.PolicyDocument.Statement) == 0 {
		return ""
	}
	return resp.PolicyDocument.Statement[0].Effect
}
