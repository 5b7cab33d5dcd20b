package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// A Consent remembers that one person (WorkOS user id), in one browser (the hash of its
// cookie), approved one client for one resource and a set of scopes. The authorization
// endpoint finds it by browser, client and resource, skips the consent page only for a
// request within the approved scopes, and the callback issues a code only when the person
// who signs in is the one who approved.
type Consent struct {
	UserID string
	Scope  string // the approved scope tokens, space-separated
	// GrantedAt is when the person last approved (zero for consents stored before it was
	// kept): a later revocation of the app on the connected-apps page outranks it.
	GrantedAt time.Time
	ExpiresAt time.Time
}

func consentKey(browserHash []byte, clientID, resource string) string {
	// Fixed-length base64url parts first (no '#' in them), the client id last: unambiguous.
	resourceHash := sha256.Sum256([]byte(resource))
	return hashKey(prefixConsent, browserHash) + "#" + base64.RawURLEncoding.EncodeToString(resourceHash[:]) + "#" + clientID
}

func checkConsentKey(browserHash []byte, clientID, resource string) error {
	if err := checkHash(browserHash); err != nil {
		return err
	}
	if err := checkID("client id", clientID); err != nil {
		return err
	}
	if resource == "" {
		return fmt.Errorf("%w: resource is required", ErrInvalid)
	}
	return nil
}

// PutConsent records the consent, replacing the browser's previous one for this client
// and resource (the caller merges scopes when the same person approves again).
func (s *Store) PutConsent(ctx context.Context, browserHash []byte, clientID, resource string, c Consent) error {
	if err := checkConsentKey(browserHash, clientID, resource); err != nil {
		return err
	}
	if err := checkID("user id", c.UserID); err != nil {
		return err
	}
	if err := checkExpiry(c.ExpiresAt); err != nil {
		return err
	}
	it := keyOf(consentKey(browserHash, clientID, resource))
	putS(it, "user_id", c.UserID)
	putS(it, "scope", c.Scope)
	putTime(it, "granted_at", c.GrantedAt)
	putTime(it, attrExpiresAt, c.ExpiresAt)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it})
	return wrap("put consent", err)
}

// GetConsent returns the browser's consent for the client and resource; ErrNotFound if it
// is missing or expired.
func (s *Store) GetConsent(ctx context.Context, browserHash []byte, clientID, resource string) (Consent, error) {
	if err := checkConsentKey(browserHash, clientID, resource); err != nil {
		return Consent{}, err
	}
	it, err := s.get(ctx, consentKey(browserHash, clientID, resource))
	if err != nil {
		return Consent{}, err
	}
	if !live(it, s.now(), false) {
		return Consent{}, ErrNotFound
	}
	return Consent{UserID: getS(it, "user_id"), Scope: getS(it, "scope"), GrantedAt: getTime(it, "granted_at"), ExpiresAt: getTime(it, attrExpiresAt)}, nil
}
