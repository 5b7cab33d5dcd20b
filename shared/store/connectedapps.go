package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Items of the connected-apps page, where a signed-in person sees and revokes the apps
// holding their grants.
const (
	// APPSESSION#<b64url(sha256(session cookie))>: a person signed in to the page.
	prefixAppsSession = "APPSESSION#"
	// APPREVOKED#<b64url(sha256(user id))>#<client id>: the person revoked that app.
	prefixAppRevoked = "APPREVOKED#"
)

// AppsSession is a person signed in to the connected-apps page (a few minutes), keyed by
// the hash of the session cookie (the page derives its CSRF token from the cookie).
type AppsSession struct {
	User      User // the person WorkOS verified
	ExpiresAt time.Time
}

// PutAppsSession stores a new session; ErrExists if the hash is taken.
func (s *Store) PutAppsSession(ctx context.Context, sessionHash []byte, a AppsSession) error {
	if err := checkHash(sessionHash); err != nil {
		return err
	}
	if err := checkID("user id", a.User.ID); err != nil {
		return err
	}
	if err := checkExpiry(a.ExpiresAt); err != nil {
		return err
	}
	it := keyOf(hashKey(prefixAppsSession, sessionHash))
	putUser(it, a.User)
	putTime(it, attrExpiresAt, a.ExpiresAt)
	return s.create(ctx, it)
}

// GetAppsSession returns the session; ErrNotFound if it is missing or expired.
func (s *Store) GetAppsSession(ctx context.Context, sessionHash []byte) (AppsSession, error) {
	if err := checkHash(sessionHash); err != nil {
		return AppsSession{}, err
	}
	it, err := s.get(ctx, hashKey(prefixAppsSession, sessionHash))
	if err != nil {
		return AppsSession{}, err
	}
	if !live(it, s.now(), false) {
		return AppsSession{}, ErrNotFound
	}
	return AppsSession{User: getUser(it), ExpiresAt: getTime(it, attrExpiresAt)}, nil
}

// DeleteAppsSession ends the session (signing out). Idempotent.
func (s *Store) DeleteAppsSession(ctx context.Context, sessionHash []byte) error {
	if err := checkHash(sessionHash); err != nil {
		return err
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       keyOf(hashKey(prefixAppsSession, sessionHash)),
	})
	return wrap("delete apps session", err)
}

func appRevokedKey(userID, clientID string) string {
	// The user id hashed (fixed length, no '#'), the client id last: unambiguous.
	h := sha256.Sum256([]byte(userID))
	return prefixAppRevoked + base64.RawURLEncoding.EncodeToString(h[:]) + "#" + clientID
}

// PutAppRevoked records that the person revoked the client at revokedAt, until expiresAt
// (at least the consent lifetime): a consent they gave that client before revokedAt no
// longer skips the consent page.
func (s *Store) PutAppRevoked(ctx context.Context, userID, clientID string, revokedAt, expiresAt time.Time) error {
	if err := checkID("user id", userID); err != nil {
		return err
	}
	if err := checkID("client id", clientID); err != nil {
		return err
	}
	if err := checkExpiry(expiresAt); err != nil {
		return err
	}
	it := keyOf(appRevokedKey(userID, clientID))
	putTime(it, "revoked_at", revokedAt)
	putTime(it, attrExpiresAt, expiresAt)
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it})
	return wrap("put app revoked", err)
}

// AppRevokedAt returns when the person last revoked the client, or the zero time.
func (s *Store) AppRevokedAt(ctx context.Context, userID, clientID string) (time.Time, error) {
	if err := checkID("user id", userID); err != nil {
		return time.Time{}, err
	}
	if err := checkID("client id", clientID); err != nil {
		return time.Time{}, err
	}
	it, err := s.get(ctx, appRevokedKey(userID, clientID))
	if err != nil {
		return time.Time{}, err
	}
	if !live(it, s.now(), false) {
		return time.Time{}, nil
	}
	return getTime(it, "revoked_at"), nil
}
