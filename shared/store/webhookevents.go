package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// prefixWebhookEvent keys the WorkOS webhook events already acted on (ClaimWebhookEvent).
const prefixWebhookEvent = "WEBHOOKEVENT#"

// ClaimWebhookEvent records that the WorkOS event id is being acted on, until expiresAt
// (TTL): nil the first time, ErrExists when the id was claimed before (a redelivery or a
// replay), so that an event is acted on once. The caller releases the claim when its action
// failed, so that WorkOS's retry acts again.
func (s *Store) ClaimWebhookEvent(ctx context.Context, eventID string, expiresAt time.Time) error {
	if err := checkID("event id", eventID); err != nil {
		return err
	}
	if err := checkExpiry(expiresAt); err != nil {
		return err
	}
	it := keyOf(prefixWebhookEvent + eventID)
	// This claim's own token: a repetition of this call finds its own item (create), a
	// second delivery of the event, another claim, does not.
	it["claim"] = callToken()
	putTime(it, "claimed_at", s.now())
	putTime(it, attrExpiresAt, expiresAt)
	return s.create(ctx, it)
}

// ReleaseWebhookEvent deletes the claim of an event whose action failed. Idempotent.
func (s *Store) ReleaseWebhookEvent(ctx context.Context, eventID string) error {
	if err := checkID("event id", eventID); err != nil {
		return err
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       keyOf(prefixWebhookEvent + eventID),
	})
	return wrap("release webhook event", err)
}
