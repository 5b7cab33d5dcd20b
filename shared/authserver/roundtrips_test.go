package authserver_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"

	sam "github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
)

// callCounter counts the AWS operations its clients send (one per API call; the SDK's own
// retries are not counted: it sits before the retry loop).
type callCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *callCounter) option(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.ops[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = map[string]int{}
	return out
}

func total(ops map[string]int) int {
	n := 0
	for _, v := range ops {
		n += v
	}
	return n
}

func opsString(ops map[string]int) string {
	var parts []string
	for op, n := range ops {
		parts = append(parts, fmt.Sprintf("%s:%d", op, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// countingSignIn counts the calls to WorkOS (AuthorizationURL builds a URL: no call).
type countingSignIn struct {
	authserver.SignIn
	calls atomic.Int64
}

func (c *countingSignIn) Authenticate(ctx context.Context, code, verifier, ip, ua string) (upstream.Identity, error) {
	c.calls.Add(1)
	return c.SignIn.Authenticate(ctx, code, verifier, ip, ua)
}

func (c *countingSignIn) Refresh(ctx context.Context, refreshToken, org string) (upstream.Identity, error) {
	c.calls.Add(1)
	return c.SignIn.Refresh(ctx, refreshToken, org)
}

// TestRoundTripsPerEndpoint counts, against DynamoDB Local and local-kms, the requests each
// endpoint makes to DynamoDB, KMS and WorkOS in the steady state (the minter warm), prints
// them as `CALLS <endpoint> dynamodb=<n> kms=<n> workos=<n>` (the performance report reads
// these lines) and fails when the token endpoint exceeds its budget: a code exchange and a
// refresh of a public client make at most 2 DynamoDB requests and exactly one kms:Sign, a
// client's first token included (README "Calls per request").
func TestRoundTripsPerEndpoint(t *testing.T) {
	s := newStack(t, nil)
	ddb, kmsCalls := &callCounter{ops: map[string]int{}}, &callCounter{ops: map[string]int{}}
	s.Server.Store = store.New(dynamodb.New(s.DB.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, ddb.option) }), s.Table).WithClock(s.clock.now)
	kmsClient := kms.NewFromConfig(testenv.AWSConfig(t), func(o *kms.Options) { o.APIOptions = append(o.APIOptions, kmsCalls.option) })
	s.Server.Minter = tokens.NewMinter(kmsClient, s.Server.Config.SigningKeyID, s.Issuer, s.Server.Config.AccessTokenTTL).WithClock(s.clock.now)
	workos := &countingSignIn{SignIn: s.Server.SignIn}
	s.Server.SignIn = workos

	type row struct {
		endpoint     string
		function     string // its function's logical id in template.yaml
		ddb, kms, wo int
		ops          string
		used         []string // IAM actions: dynamodb:<operation>, kms:<operation>
	}
	var rows []row
	measure := func(endpoint string, e authserver.Endpoint, fn func()) row {
		t.Helper()
		ddb.take()
		kmsCalls.take()
		workos.calls.Store(0)
		fn()
		d, k := ddb.take(), kmsCalls.take()
		r := row{endpoint, e.LogicalID(), total(d), total(k), int(workos.calls.Load()), opsString(d) + " " + opsString(k), nil}
		for op := range d {
			if op == "TransactWriteItems" {
				// Authorized per contained action (IAM has no TransactWriteItems action);
				// Authbridge's transactions put and update items.
				r.used = append(r.used, "dynamodb:PutItem", "dynamodb:UpdateItem")
				continue
			}
			r.used = append(r.used, "dynamodb:"+op)
		}
		for op := range k {
			r.used = append(r.used, "kms:"+op)
		}
		rows = append(rows, r)
		return r
	}

	// Warm-up: the minter's first token after a cold start costs a second Sign (kid).
	warm := s.publicClient(t, "Warm-up", "http://127.0.0.1/cb")
	s.tokens(t, warm, "http://127.0.0.1:7801/cb", "")

	var clientID string
	measure("register", authserver.RegisterEndpoint, func() { clientID = s.publicClient(t, "Counted", "http://127.0.0.1/cb") })
	redirectURI := "http://127.0.0.1:7802/cb"
	b := newBrowser(t)
	verifier, challenge := pkce()
	authURL := s.authorizeURL(authorizeParams(clientID, redirectURI, challenge, "st", s.Issuer+"/mcp", ""))
	var page string
	measure("authorize (consent page)", authserver.AuthorizeEndpoint, func() { _, page = b.get(authURL) })
	var resp *http.Response
	measure("consent (approve)", authserver.ConsentEndpoint, func() {
		resp = b.submit(authURL, page, `name="decision"`, url.Values{"decision": {"approve"}})
	})
	callback := s.workosSignIn(t, b, resp.Header.Get("Location"), "ada@example.com")
	var code string
	measure("callback", authserver.CallbackEndpoint, func() {
		resp, _ := b.get(callback)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code = loc.Query().Get("code")
	})
	g := grant{ClientID: clientID, RedirectURI: redirectURI, Code: code, Verifier: verifier, Resource: s.Issuer + "/mcp"}
	var refresh string
	first := measure("token authorization_code (client's first token)", authserver.TokenEndpoint, func() {
		r := s.postToken(t, g.form())
		if r.Status != http.StatusOK {
			t.Fatalf("code exchange: %d %s", r.Status, r.Body)
		}
		refresh = str(r.json(t), "refresh_token")
	})
	second := s.authorizeCode(t, clientID, redirectURI, "")
	steady := measure("token authorization_code", authserver.TokenEndpoint, func() {
		if r := s.postToken(t, second.form()); r.Status != http.StatusOK {
			t.Fatalf("code exchange: %d %s", r.Status, r.Body)
		}
	})
	rotated := measure("token refresh_token", authserver.TokenEndpoint, func() {
		r := s.postToken(t, refreshForm(clientID, refresh))
		if r.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		refresh = str(r.json(t), "refresh_token")
	})
	measure("revoke (refresh token)", authserver.RevokeEndpoint, func() {
		if r := s.postFormRaw(t, authserver.PathRevoke, url.Values{"token": {refresh}, "client_id": {clientID}}); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
	})
	for path, e := range map[string]authserver.Endpoint{authserver.PathPRM + "/mcp": authserver.ResourceMetadataEndpoint,
		authserver.PathASMetadata: authserver.ServerMetadataEndpoint, authserver.PathJWKS: authserver.JWKSEndpoint} {
		measure("GET "+path, e, func() { b.get(s.Issuer + path) })
	}

	for _, r := range rows {
		t.Logf("CALLS %s dynamodb=%d kms=%d workos=%d (%s)", strings.ReplaceAll(r.endpoint, " ", "_"), r.ddb, r.kms, r.wo, strings.TrimSpace(r.ops))
	}
	for _, r := range []row{first, steady, rotated} {
		if r.ddb > 2 {
			t.Errorf("%s: %d DynamoDB requests (%s), want at most 2", r.endpoint, r.ddb, r.ops)
		}
		if r.kms != 1 {
			t.Errorf("%s: %d KMS requests (%s), want exactly 1 Sign", r.endpoint, r.kms, r.ops)
		}
	}
	if rotated.wo != 1 {
		t.Errorf("refresh: %d WorkOS calls, want 1 (the session followed)", rotated.wo)
	}

	// Every call made is one the function's IAM policy in template.yaml allows: a call the
	// local stack makes freely would be AccessDenied on AWS.
	tmpl, err := sam.Load(filepath.Join(repoRoot(), "template.yaml"), map[string]string{ // the parameters without a default
		"Issuer": "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/Prod", "WorkOSClientId": "client_01TEST",
		"WorkOSApiKeySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:authbridge/workos-AbCdEf",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		allowed := map[string]bool{}
		policies, _ := sam.Get(tmpl.Props(r.function), "Policies").([]any)
		for _, policy := range policies {
			stmts, _ := sam.Get(policy, "Statement").([]any)
			for _, st := range stmts {
				for _, a := range sam.Strings(sam.Get(st, "Action")) {
					allowed[a] = true
				}
			}
		}
		for _, a := range r.used {
			if !allowed[a] && !(a == "kms:GetPublicKey") { // GetPublicKey: the key set, loaded here by the test
				t.Errorf("%s (%s) calls %s, which its IAM policy in template.yaml does not allow", r.endpoint, r.function, a)
			}
		}
	}
}
