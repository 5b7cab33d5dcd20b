package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Family groups the refresh tokens that descend from one authorization code. Revoking it
// stops every rotation; its ExpiresAt is the absolute end of the sign-in.
type Family struct {
	ID, ClientID string
	Revoked      bool
	ExpiresAt    time.Time

	// Read back only (Families): IssueFamily copies the grant's owner and target from the
	// family's first token, so that an operator can find a person's or an organization's
	// grants (grants.go); a family written before they were stored has none of them.
	UserID, OrgID, Scope, Resource string
	// SessionID is the WorkOS session the family was issued from (the code's user), so that
	// a session.revoked webhook finds its families; empty on families written before.
	SessionID  string
	CreatedAt  time.Time
	LastUsedAt time.Time // the latest rotation, or CreatedAt
}

// RefreshToken is a refresh token, keyed by its hash. Rotated tokens are kept (RotatedAt
// set) until they expire, so a reuse can be recognised.
type RefreshToken struct {
	FamilyID, ClientID, Scope, Resource string
	User                                User
	IssuedAt                            time.Time // zero: set to now when written
	ExpiresAt                           time.Time
	RotatedAt                           time.Time // set by RotateRefreshToken; ignored on writes
	// SealedSuccessor, read back from a rotated token, is the token that replaced it,
	// encrypted by the caller under a key only the holder of this token's plaintext can
	// derive. The store never sees a successor in the clear.
	SealedSuccessor []byte
	// SealedForPredecessor, on the next token given to RotateRefreshToken (required there,
	// ignored elsewhere), is that token sealed for the holder of the old one: it is stored on
	// the old item as its SealedSuccessor.
	SealedForPredecessor []byte
	// SealedUpstream is the person's WorkOS refresh token, encrypted by the caller under a
	// key only the holder of this token's plaintext can derive (docs/decisions.md "Refresh
	// follows the WorkOS session"); empty for a token issued before WorkOS tokens were kept.
	SealedUpstream []byte
}

// ErrContended: the rotation kept being cancelled by concurrent transactions on the same
// items (TransactionConflict) and nothing was written; the caller reads the token again.
var ErrContended = errors.New("store: refresh token rotation contended")

func familyKey(id string) string { return prefixFamily + id }

func (s *Store) refreshItem(tokenHash []byte, t RefreshToken) item {
	if t.IssuedAt.IsZero() {
		t.IssuedAt = s.now()
	}
	it := keyOf(hashKey(prefixRefresh, tokenHash))
	putS(it, "family_id", t.FamilyID)
	putS(it, "client_id", t.ClientID)
	putS(it, "scope", t.Scope)
	putS(it, "resource", t.Resource)
	putUser(it, t.User)
	putTime(it, "issued_at", t.IssuedAt)
	putTime(it, attrExpiresAt, t.ExpiresAt)
	putB(it, attrSealedUpstream, t.SealedUpstream)
	return it
}

// attrSealedUpstream holds a sealed WorkOS refresh token, on refresh tokens and codes.
const attrSealedUpstream = "upstream_refresh"

func refreshOf(it item) RefreshToken {
	return RefreshToken{
		FamilyID:  getS(it, "family_id"),
		ClientID:  getS(it, "client_id"),
		Scope:     getS(it, "scope"),
		Resource:  getS(it, "resource"),
		User:      getUser(it),
		IssuedAt:  getTime(it, "issued_at"),
		ExpiresAt: getTime(it, attrExpiresAt),
		RotatedAt: getTime(it, "rotated_at"),

		SealedSuccessor: getB(it, "successor"),
		SealedUpstream:  getB(it, attrSealedUpstream),
	}
}

// IssueFamily writes the family and its first token in one transaction. Neither may
// exist (ErrExists otherwise), so a replayed code cannot create a second family. An empty
// t.FamilyID or t.ClientID is taken from f; different values are refused (ErrInvalid).
func (s *Store) IssueFamily(ctx context.Context, f Family, tokenHash []byte, t RefreshToken) error {
	fam, tok, err := s.familyItems(f, tokenHash, t)
	if err != nil {
		return err
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: fam,
			ConditionExpression: aws.String(condNotExists), ExpressionAttributeNames: namesPK,
		}},
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: tok,
			ConditionExpression: aws.String(condNotExists), ExpressionAttributeNames: namesPK,
		}},
	}})
	for _, r := range cancellation(err) {
		if reasonFailed(r) {
			return ErrExists
		}
	}
	return wrap("issue family", err)
}

// familyItems checks a new family and its first token and builds their items.
func (s *Store) familyItems(f Family, tokenHash []byte, t RefreshToken) (fam, tok item, err error) {
	if err := checkHash(tokenHash); err != nil {
		return nil, nil, err
	}
	if err := checkID("family id", f.ID); err != nil {
		return nil, nil, err
	}
	if err := checkID("client id", f.ClientID); err != nil {
		return nil, nil, err
	}
	if err := checkExpiry(f.ExpiresAt); err != nil {
		return nil, nil, err
	}
	if err := checkExpiry(t.ExpiresAt); err != nil {
		return nil, nil, err
	}
	if t.FamilyID == "" {
		t.FamilyID = f.ID
	}
	if t.ClientID == "" {
		t.ClientID = f.ClientID
	}
	if t.FamilyID != f.ID || t.ClientID != f.ClientID {
		return nil, nil, fmt.Errorf("%w: token's family or client differs from the family's", ErrInvalid)
	}
	if t.IssuedAt.IsZero() {
		t.IssuedAt = s.now()
	}
	fam = keyOf(familyKey(f.ID))
	putS(fam, "client_id", f.ClientID)
	fam["revoked"] = &types.AttributeValueMemberBOOL{Value: f.Revoked}
	putTime(fam, attrExpiresAt, f.ExpiresAt)
	// The owner, for the operator's look-ups (grants.go): attrFamilyUser is the families
	// index's key, present on family items only.
	putS(fam, attrFamilyUser, t.User.ID)
	putS(fam, "org_id", t.User.OrganizationID)
	putS(fam, "session_id", t.User.SessionID) // the session.revoked webhook's look-up
	putS(fam, "scope", t.Scope)
	putS(fam, "resource", t.Resource)
	putTime(fam, "created_at", t.IssuedAt)
	return fam, s.refreshItem(tokenHash, t), nil
}

// GetRefreshToken returns the token, rotated ones included (RotatedAt set); ErrNotFound
// if it is missing or expired. It does not look at the family.
func (s *Store) GetRefreshToken(ctx context.Context, tokenHash []byte) (RefreshToken, error) {
	if err := checkHash(tokenHash); err != nil {
		return RefreshToken{}, err
	}
	it, err := s.get(ctx, hashKey(prefixRefresh, tokenHash))
	if err != nil {
		return RefreshToken{}, err
	}
	if !live(it, s.now(), false) {
		return RefreshToken{}, ErrNotFound
	}
	return refreshOf(it), nil
}

// RotateRefreshToken replaces the old token by next (stored under newHash) in one
// TransactWriteItems: Update family next.FamilyID SET last_used_at (exists, not revoked, not
// expired); Update old SET rotated_at and successor = next.SealedForPredecessor (exists, not rotated,
// not expired, same family and client as next); Put new (must not exist). Nothing is
// written unless all three hold.
//
// Errors, first match wins: family revoked, missing or expired -> ErrRevoked; old token
// already rotated -> ErrConsumed (the caller decides about the grace window and revokes
// the family); old token missing, expired, or of another family or client -> ErrNotFound;
// newHash taken -> ErrExists; still cancelled by TransactionConflict after the retries ->
// ErrContended.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, next RefreshToken) error {
	if err := checkHash(oldHash); err != nil {
		return err
	}
	if err := checkHash(newHash); err != nil {
		return err
	}
	if bytes.Equal(oldHash, newHash) {
		return fmt.Errorf("%w: new token hash equals the old one", ErrInvalid)
	}
	if err := checkID("family id", next.FamilyID); err != nil {
		return err
	}
	if err := checkID("client id", next.ClientID); err != nil {
		return err
	}
	if err := checkExpiry(next.ExpiresAt); err != nil {
		return err
	}
	if len(next.SealedForPredecessor) == 0 {
		return fmt.Errorf("%w: next.SealedForPredecessor is required", ErrInvalid)
	}
	now := s.now()
	if next.IssuedAt.IsZero() {
		next.IssuedAt = now
	}
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		// An Update rather than a ConditionCheck (the same write capacity in a transaction):
		// it records when the grant was last used, for the operator's list (grants.go).
		{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(familyKey(next.FamilyID)),
			UpdateExpression:          aws.String("SET #used = :now"),
			ConditionExpression:       aws.String("attribute_exists(#pk) AND #rev = :false AND #exp > :now"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#rev": "revoked", "#exp": attrExpiresAt, "#used": "last_used_at"},
			ExpressionAttributeValues: item{":false": &types.AttributeValueMemberBOOL{Value: false}, ":now": epoch(now)},
		}},
		{Update: &types.Update{
			TableName:        aws.String(s.table),
			Key:              keyOf(hashKey(prefixRefresh, oldHash)),
			UpdateExpression: aws.String("SET #rot = :now, #succ = :succ"),
			ConditionExpression: aws.String("attribute_exists(#pk) AND attribute_not_exists(#rot) AND #exp > :now" +
				" AND #fam = :fam AND #cid = :cid"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrPK, "#rot": "rotated_at", "#exp": attrExpiresAt, "#fam": "family_id", "#cid": "client_id",
				"#succ": "successor",
			},
			ExpressionAttributeValues: item{
				":now":  epoch(now),
				":succ": &types.AttributeValueMemberB{Value: next.SealedForPredecessor},
				":fam":  &types.AttributeValueMemberS{Value: next.FamilyID},
				":cid":  &types.AttributeValueMemberS{Value: next.ClientID},
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &types.Put{
			TableName:                aws.String(s.table),
			Item:                     s.refreshItem(newHash, next),
			ConditionExpression:      aws.String(condNotExists),
			ExpressionAttributeNames: namesPK,
		}},
	}})
	if onlyConflicts(err) {
		return fmt.Errorf("%w: %w", ErrContended, err)
	}
	if reasons := cancellation(err); len(reasons) == 3 {
		switch {
		case reasonFailed(reasons[0]):
			return ErrRevoked
		case reasonFailed(reasons[1]):
			old := reasons[1].Item
			switch {
			case len(old) == 0:
				return ErrNotFound
			case getS(old, "family_id") != next.FamilyID || getS(old, "client_id") != next.ClientID:
				return fmt.Errorf("%w: refresh token belongs to another family or client", ErrNotFound)
			case old["rotated_at"] != nil:
				return ErrConsumed
			default:
				return ErrNotFound // expired
			}
		case reasonFailed(reasons[2]):
			return ErrExists
		}
	}
	return wrap("rotate refresh token", err)
}

// RevokeFamily marks the family revoked. Idempotent. A family that does not exist yet gets a
// revoked tombstone (kept for a day), so that a code replayed while its first exchange is
// still in flight cannot be followed by IssueFamily creating the family unrevoked.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	if err := checkID("family id", familyID); err != nil {
		return err
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      keyOf(familyKey(familyID)),
		UpdateExpression:         aws.String("SET #rev = :true, #exp = if_not_exists(#exp, :tombstone)"),
		ExpressionAttributeNames: map[string]string{"#rev": "revoked", "#exp": attrExpiresAt},
		ExpressionAttributeValues: item{
			":true":      &types.AttributeValueMemberBOOL{Value: true},
			":tombstone": &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Add(familyTombstoneTTL).Unix(), 10)},
		},
	})
	return wrap("revoke family", err)
}

// familyTombstoneTTL keeps a revoked-before-issued family long enough to outlive any exchange.
const familyTombstoneTTL = 24 * time.Hour

// FamilyRevoked reports whether tokens of the family must be refused: true when the family
// is revoked, and also (fail closed) when it is missing or expired.
func (s *Store) FamilyRevoked(ctx context.Context, familyID string) (bool, error) {
	if err := checkID("family id", familyID); err != nil {
		return true, err
	}
	it, err := s.get(ctx, familyKey(familyID))
	if err != nil {
		return true, err
	}
	if !live(it, s.now(), false) {
		return true, nil
	}
	return getBool(it, "revoked"), nil
}

// GrantRevoked reports whether the family was explicitly revoked (RFC 7009 revocation, a
// replayed code or refresh token), expired or not: the question introspection asks of an
// access token's grant (RFC 7662 §2.2). Unlike FamilyRevoked it is false for a family that
// does not exist: a client without the refresh_token grant has none, and its access tokens
// stay active until a replay of their code writes a revoked tombstone (kept for a day, at
// least the longest access-token lifetime).
func (s *Store) GrantRevoked(ctx context.Context, familyID string) (bool, error) {
	if err := checkID("family id", familyID); err != nil {
		return true, err
	}
	it, err := s.get(ctx, familyKey(familyID))
	if err != nil {
		return true, err
	}
	return getBool(it, "revoked"), nil
}

// KeepUpstream replaces the sealed WorkOS refresh token of a refresh token that has not been
// rotated (1 UpdateItem, conditional: live and not rotated). A refresh that got WorkOS's
// rotated token but could not finish (KMS or DynamoDB failing after WorkOS answered) keeps it
// here, so that the client's retry with the same refresh token presents WorkOS's current
// token instead of a spent one. ErrConsumed when the token was rotated meanwhile (its
// successor holds WorkOS's token), ErrNotFound when it is missing or expired.
func (s *Store) KeepUpstream(ctx context.Context, tokenHash, sealed []byte) error {
	if err := checkHash(tokenHash); err != nil {
		return err
	}
	if len(sealed) == 0 {
		return fmt.Errorf("%w: sealed upstream token is required", ErrInvalid)
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(hashKey(prefixRefresh, tokenHash)),
		UpdateExpression:                    aws.String("SET #up = :up"),
		ConditionExpression:                 aws.String(condLive + " AND attribute_not_exists(#rot)"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#exp": attrExpiresAt, "#rot": "rotated_at", "#up": attrSealedUpstream},
		ExpressionAttributeValues:           item{":now": epoch(s.now()), ":up": &types.AttributeValueMemberB{Value: sealed}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if ccf := conditionFailure(err); ccf != nil {
		if live(ccf.Item, s.now(), false) {
			return ErrConsumed
		}
		return ErrNotFound
	}
	return wrap("keep upstream token", err)
}
