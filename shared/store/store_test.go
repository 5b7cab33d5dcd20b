package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// counter counts DynamoDB operations (not HTTP attempts) made through a client.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *counter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

// take returns the counts since the last take and resets them.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

// clock is a settable clock shared by a test and its store.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type env struct {
	t     testing.TB
	db    *dynamodb.Client // counted: the store's client
	plain *dynamodb.Client // not counted: the test's own look-ups
	table string
	store *Store
	clock *clock
	calls *counter
	ctx   context.Context
}

// newEnv creates a fresh table in DynamoDB Local and a store on it whose clock starts at
// the current second. The table is deleted when the test ends.
func newEnv(t testing.TB) *env {
	t.Helper()
	calls := &counter{calls: map[string]int{}}
	db := dynamodb.NewFromConfig(testenv.AWSConfig(t), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("authbridgeCountCalls",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
					middleware.InitializeOutput, middleware.Metadata, error,
				) {
					calls.add(awsmiddleware.GetOperationName(ctx))
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	ctx := context.Background()
	table := testenv.UniqueName("authbridge-test")
	if err := CreateTable(ctx, db, table); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	calls.take()
	c := &clock{}
	c.set(time.Now().Truncate(time.Second))
	return &env{t: t, db: db, plain: testenv.DynamoDB(t), table: table, store: New(db, table).WithClock(c.now), clock: c, calls: calls, ctx: ctx}
}

// raw reads an item directly, bypassing the store's expiry checks; nil when absent.
func (e *env) raw(pk string) map[string]types.AttributeValue {
	e.t.Helper()
	out, err := e.plain.GetItem(e.ctx, &dynamodb.GetItemInput{
		TableName: aws.String(e.table), Key: keyOf(pk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		e.t.Fatalf("raw get %s: %v", pk, err)
	}
	return out.Item
}

// expectCalls checks the operations made since the last check.
func (e *env) expectCalls(what string, want map[string]int) {
	e.t.Helper()
	got := e.calls.take()
	if len(got) != len(want) {
		e.t.Errorf("%s: calls %v, want %v", what, got, want)
		return
	}
	for op, n := range want {
		if got[op] != n {
			e.t.Errorf("%s: calls %v, want %v", what, got, want)
			return
		}
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func mustErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func mustOK(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var testRequest = AuthRequest{
	ClientID:      "client-1",
	RedirectURI:   "http://127.0.0.1:33418/callback",
	CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	Scope:         "openid profile",
	Resource:      "https://mcp.example.com/mcp",
	State:         "client-state",
}

var testUser = User{
	ID: "user_01", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
	OrganizationID: "org_01", SessionID: "session_01",
}

func TestCreateTable(t *testing.T) {
	e := newEnv(t)
	d, err := e.db.DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(e.table)})
	mustOK(t, "describe", err)
	tbl := d.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status %s", tbl.TableStatus)
	}
	if len(tbl.KeySchema) != 1 || aws.ToString(tbl.KeySchema[0].AttributeName) != "pk" || tbl.KeySchema[0].KeyType != types.KeyTypeHash {
		t.Errorf("key schema %+v", tbl.KeySchema)
	}
	attrs := map[string]types.ScalarAttributeType{}
	for _, a := range tbl.AttributeDefinitions {
		attrs[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	if len(attrs) != 2 || attrs["pk"] != types.ScalarAttributeTypeS || attrs[FamiliesIndexKey] != types.ScalarAttributeTypeS {
		t.Errorf("attributes %v, want pk and %s, both S", attrs, FamiliesIndexKey)
	}
	// The families index (grants.go): families only, keyed by user, client and org projected.
	if len(tbl.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("indexes %+v, want %s only", tbl.GlobalSecondaryIndexes, FamiliesIndex)
	}
	gsi := tbl.GlobalSecondaryIndexes[0]
	if aws.ToString(gsi.IndexName) != FamiliesIndex || len(gsi.KeySchema) != 1 ||
		aws.ToString(gsi.KeySchema[0].AttributeName) != FamiliesIndexKey || gsi.KeySchema[0].KeyType != types.KeyTypeHash ||
		gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeInclude ||
		strings.Join(gsi.Projection.NonKeyAttributes, ",") != strings.Join(FamiliesIndexProjection, ",") {
		t.Errorf("families index %+v", gsi)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing %+v", tbl.BillingModeSummary)
	}
	ttl, err := e.db.DescribeTimeToLive(e.ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(e.table)})
	mustOK(t, "describe ttl", err)
	if ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled ||
		aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" {
		t.Errorf("ttl %+v", ttl.TimeToLiveDescription)
	}
	e.calls.take()
	// Idempotent: an existing table with TTL on is accepted.
	mustOK(t, "second CreateTable", CreateTable(e.ctx, e.db, e.table))
	e.expectCalls("CreateTable on an existing table", map[string]int{"CreateTable": 1, "DescribeTable": 1, "DescribeTimeToLive": 1})
}

// TestInvalidHash: a hash that is not 32 bytes is refused before any DynamoDB call.
func TestInvalidHash(t *testing.T) {
	e := newEnv(t)
	s, ctx, good := e.store, e.ctx, hash("x")
	exp := e.clock.now().Add(time.Minute)
	for _, bad := range [][]byte{nil, {}, make([]byte, 31), make([]byte, 33), []byte("raw-secret-not-a-hash")} {
		errs := map[string]error{
			"PutConsentRequest(id)": s.PutConsentRequest(ctx, bad,
				ConsentRequest{CSRFHash: good, BrowserHash: good, ExpiresAt: exp}),
			"PutConsentRequest(csrf)": s.PutConsentRequest(ctx, good,
				ConsentRequest{CSRFHash: bad, BrowserHash: good, ExpiresAt: exp}),
			"PutConsentRequest(browser)": s.PutConsentRequest(ctx, good,
				ConsentRequest{CSRFHash: good, BrowserHash: bad, ExpiresAt: exp}),
			"DeleteConsentRequest": s.DeleteConsentRequest(ctx, bad),
			"PutConsent":           s.PutConsent(ctx, bad, "c", "https://r", Consent{UserID: "u", ExpiresAt: exp}),
			"PutUpstreamState":     s.PutUpstreamState(ctx, bad, UpstreamState{BrowserHash: good, ExpiresAt: exp}),
			"PutCode":              s.PutCode(ctx, bad, Code{ExpiresAt: exp}),
			"IssueFamily": s.IssueFamily(ctx, Family{ID: "f", ClientID: "c", ExpiresAt: exp}, bad,
				RefreshToken{ExpiresAt: exp}),
			"RotateRefreshToken(old)": s.RotateRefreshToken(ctx, bad, good,
				RefreshToken{FamilyID: "f", ClientID: "c", ExpiresAt: exp}),
			"RotateRefreshToken(new)": s.RotateRefreshToken(ctx, good, bad,
				RefreshToken{FamilyID: "f", ClientID: "c", ExpiresAt: exp}),
		}
		_, errs["GetConsentRequest"] = s.GetConsentRequest(ctx, bad)
		_, errs["GetConsent"] = s.GetConsent(ctx, bad, "c", "https://r")
		_, errs["ConsumeUpstreamState(state)"] = s.ConsumeUpstreamState(ctx, bad, good)
		_, errs["ConsumeUpstreamState(browser)"] = s.ConsumeUpstreamState(ctx, good, bad)
		_, errs["RedeemCode"] = s.RedeemCode(ctx, bad)
		_, errs["GetCode"] = s.GetCode(ctx, bad)
		_, errs["GetRefreshToken"] = s.GetRefreshToken(ctx, bad)
		if len(bad) > 0 {
			// A nil SecretHash means a public client, which is valid.
			errs["PutClient"] = s.PutClient(ctx, Client{ID: "c", SecretHash: bad})
		}
		for name, err := range errs {
			if !errors.Is(err, ErrInvalidHash) {
				t.Errorf("%s with a %d-byte hash: error %v, want ErrInvalidHash", name, len(bad), err)
			}
		}
	}
	// The browser binding of a state has the length of a hash too.
	mustErr(t, "UpstreamState.BrowserHash of 5 bytes",
		s.PutUpstreamState(ctx, good, UpstreamState{BrowserHash: make([]byte, 5), ExpiresAt: exp}), ErrInvalidHash)
	e.expectCalls("invalid hashes", map[string]int{})
}

func TestInvalidArguments(t *testing.T) {
	e := newEnv(t)
	s, ctx, h := e.store, e.ctx, hash("x")
	exp := e.clock.now().Add(time.Minute)
	mustErr(t, "empty client id", s.PutClient(ctx, Client{}), ErrInvalid)
	_, err := s.GetClient(ctx, "")
	mustErr(t, "GetClient empty id", err, ErrInvalid)
	mustErr(t, "code without expiry", s.PutCode(ctx, h, Code{}), ErrInvalid)
	mustErr(t, "state without expiry", s.PutUpstreamState(ctx, h, UpstreamState{BrowserHash: h}), ErrInvalid)
	mustErr(t, "consent without expiry", s.PutConsent(ctx, h, "c", "https://r", Consent{UserID: "u"}), ErrInvalid)
	mustErr(t, "approve an empty redirect URI", s.ApproveRedirectURI(ctx, "c", ""), ErrInvalid)
	mustErr(t, "token of another family", s.IssueFamily(ctx, Family{ID: "f", ClientID: "c", ExpiresAt: exp}, h,
		RefreshToken{FamilyID: "g", ExpiresAt: exp}), ErrInvalid)
	mustErr(t, "rotate onto itself", s.RotateRefreshToken(ctx, h, h,
		RefreshToken{FamilyID: "f", ClientID: "c", ExpiresAt: exp}), ErrInvalid)
	e.expectCalls("invalid arguments", map[string]int{})
}

// lostAnswer is the error of an attempt whose request DynamoDB applied but whose answer never
// arrived (a read timeout): the SDK retries it, as it retries any timeout.
type lostAnswer struct{}

func (lostAnswer) Error() string { return "the answer was lost (read timeout)" }
func (lostAnswer) Timeout() bool { return true }

// DynamoDB may apply a write whose answer is lost (a timeout, a 5xx); the SDK then sends the
// same call again. Every single-use write must take that repetition as the success it is,
// and still refuse any other call. Here the first attempt reaches DynamoDB Local and is
// applied, then its answer is replaced by a timeout, and the SDK's standard retryer repeats
// the call (the retry is the SDK's, not the test's).
func TestRepeatedCallIsItsOwnSuccess(t *testing.T) {
	e := newEnv(t)
	var lose atomic.Bool // the next attempt's answer is lost
	lossy := dynamodb.WithAPIOptions(func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("loseAnswer", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if err == nil && lose.CompareAndSwap(true, false) {
				return out, md, lostAnswer{}
			}
			return out, md, err
		}), middleware.Before)
	})
	st := New(dynamodb.New(e.db.Options(), lossy), e.table).WithClock(e.clock.now)
	lost := func(what string, call func() error) {
		t.Helper()
		lose.Store(true)
		mustOK(t, what+", its first answer lost", call())
		if lose.Load() {
			t.Fatalf("%s: no attempt reached DynamoDB", what)
		}
	}
	exp := e.clock.now().Add(time.Minute)

	lost("put a consent request", func() error {
		return st.PutConsentRequest(e.ctx, hash("request"), ConsentRequest{Request: testRequest, CSRFHash: hash("c"), BrowserHash: hash("b"), ExpiresAt: exp})
	})
	lost("spend it", func() error { return st.DeleteConsentRequest(e.ctx, hash("request")) })
	mustErr(t, "spend it again", st.DeleteConsentRequest(e.ctx, hash("request")), ErrNotFound)

	lost("put a state", func() error {
		return st.PutUpstreamState(e.ctx, hash("state"), UpstreamState{Request: testRequest, BrowserHash: hash("b"), ExpiresAt: exp})
	})
	lost("consume it", func() error { _, err := st.ConsumeUpstreamState(e.ctx, hash("state"), hash("b")); return err })
	_, err := st.ConsumeUpstreamState(e.ctx, hash("state"), hash("b"))
	mustErr(t, "consume it again", err, ErrNotFound)

	lost("put a code", func() error {
		return st.PutCode(e.ctx, hash("code"), Code{Request: testRequest, User: testUser, ExpiresAt: exp})
	})
	lost("redeem it", func() error { _, err := st.RedeemCode(e.ctx, hash("code")); return err })
	_, err = st.RedeemCode(e.ctx, hash("code"))
	mustErr(t, "redeem it again (a replay)", err, ErrConsumed)

	lost("put a code with a family", func() error {
		return st.PutCode(e.ctx, hash("code-2"), Code{Request: testRequest, User: testUser, FamilyID: "fam-lost", ExpiresAt: exp})
	})
	lost("redeem it and issue the family (a transaction, its token repeated)", func() error {
		_, err := st.RedeemCodeIssuingFamily(e.ctx, hash("code-2"), Family{ID: "fam-lost", ClientID: testRequest.ClientID, ExpiresAt: exp},
			hash("refresh-1"), RefreshToken{User: testUser, ExpiresAt: exp}, "")
		return err
	})
	_, err = st.RedeemCodeIssuingFamily(e.ctx, hash("code-2"), Family{ID: "fam-lost", ClientID: testRequest.ClientID, ExpiresAt: exp},
		hash("refresh-2"), RefreshToken{User: testUser, ExpiresAt: exp}, "")
	mustErr(t, "redeem it again", err, ErrConsumed)

	lost("claim a webhook event", func() error { return st.ClaimWebhookEvent(e.ctx, "event_1", e.clock.now().Add(time.Hour)) })
	mustErr(t, "a second delivery", st.ClaimWebhookEvent(e.ctx, "event_1", e.clock.now().Add(time.Hour)), ErrExists)

	lost("put a page session", func() error {
		return st.PutAppsSession(e.ctx, hash("abp_x"), AppsSession{User: testUser, ExpiresAt: exp})
	})
}
