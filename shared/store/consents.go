package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// A consent records that one browser (the hash of its cookie) approved one client, so
// the consent page can be skipped until it expires.

func consentKey(browserHash []byte, clientID string) string {
	// The base64url of a 32-byte hash has a fixed length and no '#', so the key is unambiguous.
	return hashKey(prefixConsent, browserHash) + "#" + clientID
}

// PutConsent records (or renews: overwriting is allowed) the consent.
func (s *Store) PutConsent(ctx context.Context, browserHash []byte, clientID string, expiresAt time.Time) error {
	if err := checkHash(browserHash); err != nil {
		return err
	}
	if err := checkID("client id", clientID); err != nil {
		return err
	}
	if err := checkExpiry(expiresAt); err != nil {
		return err
	}
	it := keyOf(consentKey(browserHash, clientID))
	putTime(it, attrExpiresAt, expiresAt)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it})
	return wrap("put consent", err)
}

// HasConsent reports whether the browser has an unexpired consent for the client.
func (s *Store) HasConsent(ctx context.Context, browserHash []byte, clientID string) (bool, error) {
	if err := checkHash(browserHash); err != nil {
		return false, err
	}
	if err := checkID("client id", clientID); err != nil {
		return false, err
	}
	it, err := s.get(ctx, consentKey(browserHash, clientID))
	if err != nil {
		return false, err
	}
	return live(it, s.now(), false), nil
}
