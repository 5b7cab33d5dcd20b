// Package store keeps Authbridge's state in one DynamoDB table.
//
// # Table
//
// Partition key pk (S) only, PAY_PER_REQUEST, server-side encryption, TTL on expires_at
// (N, epoch seconds), and one sparse global secondary index, families, over the token
// families for the operator's look-ups (grants.go). One item type per file; every key is a
// type prefix plus an id:
//
//	CLIENT#<client id>                          clients.go       registered client
//	AUTHREQ#<b64url(sha256(request id))>        authrequests.go  request waiting for consent
//	CONSENT#<b64url(sha256(browser))>#<b64url(sha256(resource))>#<client>
//	                                            consents.go      a person in this browser approved
//	                                                             this client, resource and scopes
//	STATE#<b64url(sha256(upstream state))>      states.go        pending WorkOS sign-in
//	CODE#<b64url(sha256(code))>                 codes.go         authorization code
//	REFRESH#<b64url(sha256(refresh token))>     refresh.go       refresh token
//	FAMILY#<family id>                          refresh.go       refresh token family
//	APPSESSION#<b64url(sha256(page cookie))>    connectedapps.go a person signed in to the
//	                                                             connected-apps page
//	APPREVOKED#<b64url(sha256(user id))>#<client>
//	                                            connectedapps.go the person revoked that app there
//	WEBHOOKEVENT#<WorkOS event id>              webhookevents.go a WorkOS event acted on
//	RESOURCESERVER#<resource server id>         resourceservers.go
//	                                                             a resource server's introspection
//	                                                             credentials (RFC 7662 §2.1)
//
// The store never sees a raw secret: callers pass SHA-256 hashes (exactly 32 bytes, checked
// before any call; ErrInvalidHash otherwise). Hashes stored inside items are binary (B).
//
// # Expiry
//
// DynamoDB deletes TTL-expired items days late (DynamoDB Local never does), so an item is
// live only while now < expires_at, checked in code on every read and by
// "expires_at > :now" in every condition that consumes or rotates an item. An expired item
// is reported as ErrNotFound and left untouched. Times are stored as epoch seconds.
//
// # DynamoDB calls per method
//
// Each "operation" below is one API call; the SDK's own retries of throttling and network
// errors are not counted. Every read is ConsistentRead.
//
//	CreateTable            1 CreateTable + ≥1 DescribeTable (waiter) + 1 DescribeTimeToLive
//	                       + 1 UpdateTimeToLive (skipped when TTL is already on)
//	PutClient              1 PutItem
//	GetClient              1 GetItem
//	MarkClientUsed         1 UpdateItem
//	ApproveRedirectURI     1 UpdateItem
//	PutConsentRequest      1 PutItem
//	GetConsentRequest      1 GetItem
//	DeleteConsentRequest   1 UpdateItem (the request marked spent: consumed_by)
//	PutConsent             1 PutItem
//	GetConsent             1 GetItem
//	PutUpstreamState       1 PutItem
//	ConsumeUpstreamState   1 UpdateItem (marked spent, conditional on the browser binding)
//	PutCode                1 PutItem
//	GetCode                1 GetItem
//	RedeemCode             1 UpdateItem
//	RedeemCodeIssuingFamily 1 TransactWriteItems (3 actions: Update code, Put family, Put token)
//	IssueFamily            1 TransactWriteItems (2 actions: Put family, Put token)
//	GetRefreshToken        1 GetItem
//	RotateRefreshToken     1 TransactWriteItems (3 actions: Update family (last used, on the
//	                       condition that it is live), Update old, Put new); repeated, at
//	                       most 3 times in all, only when DynamoDB cancels it for a
//	                       TransactionConflict with a concurrent write
//	KeepUpstream           1 UpdateItem
//	RevokeFamily           1 UpdateItem
//	FamilyRevoked          1 GetItem
//	GrantRevoked           1 GetItem
//	Families               ≥1 Query (by user) or ≥1 Scan (by client or organization) of the
//	                       families index, one per 1 MB page, + 1 GetItem per family found
//	RevokeFamilies         Families + 1 UpdateItem per family not yet revoked
//	DeleteClient           1 DeleteItem
//	PutResourceServer      1 PutItem
//	GetResourceServer      1 GetItem
//	DeleteResourceServer   1 DeleteItem
//	PutAppsSession         1 PutItem (conditional: new)
//	GetAppsSession         1 GetItem
//	DeleteAppsSession      1 DeleteItem
//	PutAppRevoked          1 PutItem
//	AppRevokedAt           1 GetItem
//	ClaimWebhookEvent      1 PutItem (conditional: the event id is new)
//	ReleaseWebhookEvent    1 DeleteItem
package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sentinel errors; compare with errors.Is.
var (
	// ErrNotFound: the item is missing or expired.
	ErrNotFound = errors.New("store: not found or expired")
	// ErrConsumed: a one-time item was already used, or a refresh token was already rotated.
	ErrConsumed = errors.New("store: already used")
	// ErrRevoked: the refresh token family is revoked (or missing, or expired).
	ErrRevoked = errors.New("store: token family revoked")
	// ErrExists: an item that is created once already exists.
	ErrExists = errors.New("store: already exists")
	// ErrInvalidHash: a hash argument is not a 32-byte SHA-256 digest; no call was made.
	ErrInvalidHash = errors.New("store: hash must be 32 bytes (SHA-256)")
	// ErrOtherBrowser: the item is live but bound to another browser; nothing was changed.
	ErrOtherBrowser = errors.New("store: bound to another browser")
	// ErrInvalid: another argument is unusable (empty id, missing expiry, ...); no call was made.
	ErrInvalid = errors.New("store: invalid argument")
)

// Store reads and writes Authbridge's items in one DynamoDB table. It is safe for
// concurrent use.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
}

// New returns a Store on table, using the wall clock.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, now: time.Now}
}

// WithClock returns a copy of the store that reads the time from now (for tests).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// User is the identity of the signed-in person, from WorkOS.
type User struct {
	ID, Email, FirstName, LastName, OrganizationID, SessionID string
}

// AuthRequest is a validated MCP authorization request (the client's view).
type AuthRequest struct {
	ClientID, RedirectURI, CodeChallenge, Scope, Resource, State string
}

// Attribute names.
const (
	attrPK        = "pk"
	attrExpiresAt = "expires_at"
)

// Key prefixes.
const (
	prefixClient  = "CLIENT#"
	prefixAuthReq = "AUTHREQ#"
	prefixConsent = "CONSENT#"
	prefixState   = "STATE#"
	prefixCode    = "CODE#"
	prefixRefresh = "REFRESH#"
	prefixFamily  = "FAMILY#"

	prefixResourceServer = "RESOURCESERVER#"
)

// maxIDLen bounds client and family ids (the partition key may hold 2048 bytes).
const maxIDLen = 512

type item = map[string]types.AttributeValue

// ---- arguments ----

func checkHash(h []byte) error {
	if len(h) != 32 {
		return fmt.Errorf("%w (got %d bytes)", ErrInvalidHash, len(h))
	}
	return nil
}

// checkOptionalHash accepts nil or a 32-byte hash.
func checkOptionalHash(h []byte) error {
	if len(h) == 0 {
		return nil
	}
	return checkHash(h)
}

func checkID(what, id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%w: %s must be 1..%d bytes", ErrInvalid, what, maxIDLen)
	}
	return nil
}

func checkExpiry(t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%w: ExpiresAt is required", ErrInvalid)
	}
	return nil
}

func hashKey(prefix string, h []byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(h)
}

func keyOf(pk string) item { return item{attrPK: &types.AttributeValueMemberS{Value: pk}} }

// ---- marshalling by hand (small, explicit items) ----

func putS(it item, name, v string) {
	if v != "" {
		it[name] = &types.AttributeValueMemberS{Value: v}
	}
}

func putB(it item, name string, v []byte) {
	if len(v) > 0 {
		it[name] = &types.AttributeValueMemberB{Value: v}
	}
}

func putTime(it item, name string, t time.Time) {
	if !t.IsZero() {
		it[name] = epoch(t)
	}
}

func putList(it item, name string, v []string) {
	if len(v) == 0 {
		return
	}
	l := make([]types.AttributeValue, len(v))
	for i, s := range v {
		l[i] = &types.AttributeValueMemberS{Value: s}
	}
	it[name] = &types.AttributeValueMemberL{Value: l}
}

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getB(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func getBool(it item, name string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func getList(it item, name string) []string {
	v, ok := it[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(v.Value))
	for _, e := range v.Value {
		if s, ok := e.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

// getTime returns the epoch-seconds attribute, or the zero time when absent.
func getTime(it item, name string) time.Time {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// live reports whether the item exists and has not expired. Items without expires_at are
// live only when expiryOptional (clients that were used).
func live(it item, now time.Time, expiryOptional bool) bool {
	if len(it) == 0 {
		return false
	}
	exp, ok := it[attrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return expiryOptional
	}
	n, err := strconv.ParseInt(exp.Value, 10, 64)
	return err == nil && now.Unix() < n
}

func putRequest(it item, r AuthRequest) {
	putS(it, "client_id", r.ClientID)
	putS(it, "redirect_uri", r.RedirectURI)
	putS(it, "code_challenge", r.CodeChallenge)
	putS(it, "scope", r.Scope)
	putS(it, "resource", r.Resource)
	putS(it, "state", r.State)
}

func getRequest(it item) AuthRequest {
	return AuthRequest{
		ClientID:      getS(it, "client_id"),
		RedirectURI:   getS(it, "redirect_uri"),
		CodeChallenge: getS(it, "code_challenge"),
		Scope:         getS(it, "scope"),
		Resource:      getS(it, "resource"),
		State:         getS(it, "state"),
	}
}

func putUser(it item, u User) {
	putS(it, "user_id", u.ID)
	putS(it, "email", u.Email)
	putS(it, "first_name", u.FirstName)
	putS(it, "last_name", u.LastName)
	putS(it, "org_id", u.OrganizationID)
	putS(it, "sid", u.SessionID)
}

func getUser(it item) User {
	return User{
		ID:             getS(it, "user_id"),
		Email:          getS(it, "email"),
		FirstName:      getS(it, "first_name"),
		LastName:       getS(it, "last_name"),
		OrganizationID: getS(it, "org_id"),
		SessionID:      getS(it, "sid"),
	}
}

// ---- calls ----

const condNotExists = "attribute_not_exists(#pk)"

// condLive: the item exists and has not expired.
const condLive = "attribute_exists(#pk) AND #exp > :now"

var namesPK = map[string]string{"#pk": attrPK}

// create writes a new item; ErrExists when its key is taken by another item. The SDK repeats
// a call whose answer did not arrive (a timeout, a 5xx) although DynamoDB may have applied it:
// the repetition then finds its own item under the key, which is a success, not a collision.
func (s *Store) create(ctx context.Context, it item) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                it,
		ConditionExpression:                 aws.String(condNotExists),
		ExpressionAttributeNames:            namesPK,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if ccf := conditionFailure(err); ccf != nil {
		if sameItem(ccf.Item, it) {
			return nil
		}
		return ErrExists
	}
	return wrap("put", err)
}

// sameItem reports whether two items hold the same attributes and values (sets compared as
// sets).
func sameItem(a, b item) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || canonical(v) != canonical(w) {
			return false
		}
	}
	return true
}

func canonical(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S" + strconv.Quote(v.Value)
	case *types.AttributeValueMemberN:
		return "N" + v.Value
	case *types.AttributeValueMemberB:
		return "B" + base64.StdEncoding.EncodeToString(v.Value)
	case *types.AttributeValueMemberBOOL:
		return "BOOL" + strconv.FormatBool(v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberSS:
		ss := append([]string(nil), v.Value...)
		sort.Strings(ss)
		return fmt.Sprintf("SS%q", ss)
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = canonical(e)
		}
		return "L[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ":" + canonical(v.Value[k])
		}
		return "M{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%T", v) // other kinds are not written by the store
}

// attrConsumed marks a single-use item as used by one call (consume, ConsumeUpstreamState,
// RedeemCode): the call's own random token, so that the SDK's repetition of that call (its
// first attempt applied, the answer lost) succeeds again while any other call is refused. A
// consumed item stays until its expiry (TTL), and every read treats it as gone.
const attrConsumed = "consumed_by"

// callToken is a fresh random token for one consuming call.
func callToken() types.AttributeValue {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return &types.AttributeValueMemberS{Value: base64.RawURLEncoding.EncodeToString(b)}
}

// condUnconsumedOrMine: the item was not consumed, or was consumed by this very call.
const condUnconsumedOrMine = "(attribute_not_exists(#consumed) OR #consumed = :token)"

// consumed reports whether a single-use item was used.
func consumed(it item) bool {
	_, ok := it[attrConsumed]
	return ok
}

// get reads an item with a consistent read; nil when missing.
func (s *Store) get(ctx context.Context, pk string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyOf(pk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap("get", err)
	}
	return out.Item, nil
}

// consume marks a live, unused item used (attrConsumed) and returns it; ErrNotFound when it
// is missing, expired or used (an expired item is left in place).
func (s *Store) consume(ctx context.Context, pk string) (item, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(pk),
		UpdateExpression:          aws.String("SET #consumed = :token"),
		ConditionExpression:       aws.String(condLive + " AND " + condUnconsumedOrMine),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#exp": attrExpiresAt, "#consumed": attrConsumed},
		ExpressionAttributeValues: item{":now": epoch(s.now()), ":token": callToken()},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrap("consume", err)
	}
	return out.Attributes, nil
}

func isConditionFailed(err error) bool {
	return conditionFailure(err) != nil
}

// conditionFailure returns err as a failed condition (with the old item when the call asked
// for it), or nil.
func conditionFailure(err error) *types.ConditionalCheckFailedException {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf
	}
	return nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// transact runs TransactWriteItems, repeating it (at most 3 attempts in all) while DynamoDB
// cancels it only because of a TransactionConflict with a concurrent write. Any other
// cancellation is returned as *types.TransactionCanceledException for the caller to map.
func (s *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput) error {
	const attempts = 3
	var err error
	for i := 0; i < attempts; i++ {
		_, err = s.db.TransactWriteItems(ctx, in)
		if !onlyConflicts(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10*(i+1)) * time.Millisecond):
		}
	}
	return fmt.Errorf("store: transaction kept conflicting with concurrent writes: %w", err)
}

// onlyConflicts reports whether err cancelled a transaction for TransactionConflict and for
// no condition failure.
func onlyConflicts(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	conflict := false
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "TransactionConflict":
			conflict = true
		case "", "None":
		default:
			return false
		}
	}
	return conflict
}

// cancellation returns the per-action reasons of a cancelled transaction, or nil.
func cancellation(err error) []types.CancellationReason {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return tce.CancellationReasons
	}
	return nil
}

func reasonFailed(r types.CancellationReason) bool {
	return aws.ToString(r.Code) == "ConditionalCheckFailed"
}
