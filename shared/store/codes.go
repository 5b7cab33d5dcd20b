package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Code is an authorization code (≤ 5 minutes, single use), keyed by the code's hash and
// bound to the client, redirect URI, PKCE challenge, scope, resource and user.
type Code struct {
	Request   AuthRequest // State is stored too (harmless, not needed)
	User      User
	FamilyID  string // refresh token family the code's exchange creates; revoked on replay
	ExpiresAt time.Time
	UsedAt    time.Time // set by RedeemCode; ignored by PutCode
	// SealedUpstream is the person's WorkOS refresh token, encrypted by the caller under a
	// key derived from the code's plaintext (the table keeps only the code's hash).
	SealedUpstream []byte
}

// PutCode stores a new, unused code; ErrExists if the hash is taken. FamilyID may be
// empty (no refresh token will be issued).
func (s *Store) PutCode(ctx context.Context, codeHash []byte, c Code) error {
	if err := checkHash(codeHash); err != nil {
		return err
	}
	if err := checkExpiry(c.ExpiresAt); err != nil {
		return err
	}
	if len(c.FamilyID) > maxIDLen {
		return fmt.Errorf("%w: family id longer than %d bytes", ErrInvalid, maxIDLen)
	}
	it := keyOf(hashKey(prefixCode, codeHash))
	putRequest(it, c.Request)
	putUser(it, c.User)
	putS(it, "family_id", c.FamilyID)
	putTime(it, attrExpiresAt, c.ExpiresAt)
	putB(it, attrSealedUpstream, c.SealedUpstream)
	return s.create(ctx, it)
}

// GetCode reads the code without consuming it (UsedAt set if it was redeemed), so the
// token endpoint can check every binding before RedeemCode writes anything; ErrNotFound if
// it is missing or expired. RedeemCode remains the single-use gate.
func (s *Store) GetCode(ctx context.Context, codeHash []byte) (Code, error) {
	if err := checkHash(codeHash); err != nil {
		return Code{}, err
	}
	it, err := s.get(ctx, hashKey(prefixCode, codeHash))
	if err != nil {
		return Code{}, err
	}
	if !live(it, s.now(), false) {
		return Code{}, ErrNotFound
	}
	return codeOf(it), nil
}

// RedeemCode marks the code used with one conditional UpdateItem (exists, not used, not
// expired) and returns it, UsedAt set.
//
// A code that was already used gives (code, ErrConsumed) so the caller can revoke
// code.FamilyID (RFC 6749 §4.1.2); this holds even once the used code has expired, as
// long as DynamoDB has not deleted it yet. A missing code, or an unused one that has
// expired, gives ErrNotFound (and is not modified).
func (s *Store) RedeemCode(ctx context.Context, codeHash []byte) (Code, error) {
	if err := checkHash(codeHash); err != nil {
		return Code{}, err
	}
	now := s.now()
	// used_at is written with this call's token: the SDK's repetition of this very call (its
	// first attempt applied, the answer lost) passes the condition again, any other fails.
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(hashKey(prefixCode, codeHash)),
		UpdateExpression:                    aws.String("SET #used = if_not_exists(#used, :now), #consumed = :token"),
		ConditionExpression:                 aws.String("attribute_exists(#pk) AND #exp > :now AND ((attribute_not_exists(#used) AND attribute_not_exists(#consumed)) OR #consumed = :token)"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#used": "used_at", "#exp": attrExpiresAt, "#consumed": attrConsumed},
		ExpressionAttributeValues:           item{":now": epoch(now), ":token": callToken()},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return Code{}, ErrNotFound
		}
		if _, used := ccf.Item["used_at"]; used {
			return codeOf(ccf.Item), ErrConsumed
		}
		return Code{}, ErrNotFound // expired, unused
	}
	if err != nil {
		return Code{}, wrap("redeem code", err)
	}
	return codeOf(out.Attributes), nil
}

func codeOf(it item) Code {
	return Code{
		Request:   getRequest(it),
		User:      getUser(it),
		FamilyID:  getS(it, "family_id"),
		ExpiresAt: getTime(it, attrExpiresAt),
		UsedAt:    getTime(it, "used_at"),

		SealedUpstream: getB(it, attrSealedUpstream),
	}
}

// RedeemCodeIssuingFamily marks the code used and writes the family and its first refresh
// token, all in one transaction (3 actions: Update code, Put family, Put token; a 4th, Update
// client, marks the client used when firstUseOf names it: MarkClientUsed's write), so that a
// code is never spent without its grant being written, nor a grant written for a code that
// was not spent. Errors as RedeemCode's (ErrConsumed with the code, ErrNotFound) for the
// code, ErrExists when the family or the token exists (a replay of the code revoked the
// family while this exchange was in flight), ErrClientGone when the client was deleted or
// expired since it was read; on any error nothing was written. f and t as IssueFamily's.
// The SDK's repetition of the transaction carries the same idempotency token (succeeds).
func (s *Store) RedeemCodeIssuingFamily(ctx context.Context, codeHash []byte, f Family, tokenHash []byte, t RefreshToken, firstUseOf string) (Code, error) {
	if err := checkHash(codeHash); err != nil {
		return Code{}, err
	}
	fam, tok, err := s.familyItems(f, tokenHash, t)
	if err != nil {
		return Code{}, err
	}
	now := s.now()
	actions := []types.TransactWriteItem{
		s.redeemAction(codeHash, now),
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: fam,
			ConditionExpression: aws.String(condNotExists), ExpressionAttributeNames: namesPK,
		}},
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: tok,
			ConditionExpression: aws.String(condNotExists), ExpressionAttributeNames: namesPK,
		}},
	}
	if firstUseOf != "" {
		actions = append(actions, s.markUsedAction(firstUseOf, now))
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	if reasons := cancellation(err); len(reasons) == len(actions) {
		if code, err := redeemFailure(reasons[0]); err != nil {
			return code, err
		}
		switch {
		case reasonFailed(reasons[1]), reasonFailed(reasons[2]):
			return Code{}, ErrExists
		case len(reasons) == 4 && reasonFailed(reasons[3]):
			return Code{}, ErrClientGone
		}
	}
	if err != nil {
		return Code{}, wrap("redeem code and issue family", err)
	}
	return Code{FamilyID: f.ID, UsedAt: now}, nil
}

// RedeemCodeFirstUse is RedeemCode for a client's first token: the code spent and the client
// marked used (MarkClientUsed) in one transaction. ErrClientGone when the client was deleted
// or expired since it was read.
func (s *Store) RedeemCodeFirstUse(ctx context.Context, codeHash []byte, clientID string) (Code, error) {
	if err := checkHash(codeHash); err != nil {
		return Code{}, err
	}
	if err := checkID("client id", clientID); err != nil {
		return Code{}, err
	}
	now := s.now()
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		s.redeemAction(codeHash, now), s.markUsedAction(clientID, now),
	}})
	if reasons := cancellation(err); len(reasons) == 2 {
		if code, err := redeemFailure(reasons[0]); err != nil {
			return code, err
		}
		if reasonFailed(reasons[1]) {
			return Code{}, ErrClientGone
		}
	}
	if err != nil {
		return Code{}, wrap("redeem code, first use", err)
	}
	return Code{UsedAt: now}, nil
}

// redeemAction is RedeemCode's write as an action of a transaction (whose idempotency token
// makes the SDK's repetition succeed).
func (s *Store) redeemAction(codeHash []byte, now time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(hashKey(prefixCode, codeHash)),
		UpdateExpression:                    aws.String("SET #used = :now"),
		ConditionExpression:                 aws.String("attribute_exists(#pk) AND attribute_not_exists(#used) AND #exp > :now"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#used": "used_at", "#exp": attrExpiresAt},
		ExpressionAttributeValues:           item{":now": epoch(now)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// redeemFailure maps the code action's cancellation reason: (code, ErrConsumed) when it was
// used, ErrNotFound when it is missing or expired, nil when the code was not the cause.
func redeemFailure(r types.CancellationReason) (Code, error) {
	if !reasonFailed(r) {
		return Code{}, nil
	}
	if len(r.Item) == 0 {
		return Code{}, ErrNotFound
	}
	if _, used := r.Item["used_at"]; used {
		return codeOf(r.Item), ErrConsumed
	}
	return Code{}, ErrNotFound // expired, unused
}
