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

// ErrClientGone: the client was deleted or expired after the request read it; the write that
// needed it was cancelled and nothing was written.
var ErrClientGone = errors.New("store: client deleted or expired")

// TokenRead is what the token endpoint reads before checking anything: the client and the
// code or refresh token presented, in one BatchGetItem with consistent reads.
type TokenRead struct {
	Client    Client
	ClientErr error // ErrNotFound (missing, expired), ErrInvalid (an id no client can have)
	// Code and CodeErr when a code hash was given (CodeRead); ErrNotFound when missing or
	// expired.
	Code     Code
	CodeErr  error
	CodeRead bool
	// Refresh and RefreshErr when a refresh token hash was given (RefreshRead), rotated
	// tokens included; ErrNotFound when missing or expired.
	Refresh     RefreshToken
	RefreshErr  error
	RefreshRead bool
}

// ReadForToken reads the client and, when given (32-byte hashes; nil for none), the code and
// the refresh token, in one BatchGetItem (more only when DynamoDB leaves keys unprocessed
// under throttling). The call's own failure is the error; a missing item is reported in its
// field.
func (s *Store) ReadForToken(ctx context.Context, clientID string, codeHash, refreshHash []byte) (TokenRead, error) {
	var read TokenRead
	var keys []item
	var clientPK, codePK, refreshPK string
	if err := checkID("client id", clientID); err != nil {
		read.ClientErr = err
	} else {
		clientPK = clientKey(clientID)
		keys = append(keys, keyOf(clientPK))
	}
	if codeHash != nil {
		read.CodeRead = true
		if err := checkHash(codeHash); err != nil {
			read.CodeErr = err
		} else {
			codePK = hashKey(prefixCode, codeHash)
			keys = append(keys, keyOf(codePK))
		}
	}
	if refreshHash != nil {
		read.RefreshRead = true
		if err := checkHash(refreshHash); err != nil {
			read.RefreshErr = err
		} else {
			refreshPK = hashKey(prefixRefresh, refreshHash)
			keys = append(keys, keyOf(refreshPK))
		}
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return TokenRead{}, err
	}
	now := s.now()
	if clientPK != "" {
		read.Client, read.ClientErr = s.clientOf(clientID, items[clientPK])
	}
	if codePK != "" {
		if it := items[codePK]; live(it, now, false) {
			read.Code = codeOf(it)
		} else {
			read.CodeErr = ErrNotFound
		}
	}
	if refreshPK != "" {
		if it := items[refreshPK]; live(it, now, false) {
			read.Refresh = refreshOf(it)
		} else {
			read.RefreshErr = ErrNotFound
		}
	}
	return read, nil
}

// batchGet reads the items of keys (at most 100) with consistent reads, by key; a missing
// item is absent from the map. Keys DynamoDB leaves unprocessed are asked again, at most 3
// times in all, with a short pause.
func (s *Store) batchGet(ctx context.Context, keys []item) (map[string]item, error) {
	out := map[string]item{}
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt == 3 {
			return nil, fmt.Errorf("store: batch get: %d keys left unprocessed", len(keys))
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(20*attempt) * time.Millisecond):
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.table: {Keys: keys, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, wrap("batch get", err)
		}
		for _, it := range res.Responses[s.table] {
			out[getS(it, attrPK)] = it
		}
		keys = res.UnprocessedKeys[s.table].Keys
	}
	return out, nil
}
