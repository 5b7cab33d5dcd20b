package store

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Client is a registered OAuth client (RFC 7591).
type Client struct {
	ID                      string
	SecretHash              []byte // SHA-256 of the client secret; nil for public clients
	Name                    string
	RedirectURIs            []string
	GrantTypes              []string
	ResponseTypes           []string
	TokenEndpointAuthMethod string
	Scope                   string
	ClientURI               string
	LogoURI                 string
	IssuedAt                time.Time // zero: set to now by PutClient
	ExpiresAt               time.Time // zero = no expiry; registrations never used expire
}

func clientKey(id string) string { return prefixClient + id }

// PutClient stores a new client; ErrExists when the id is taken (even by an expired,
// not yet deleted registration).
func (s *Store) PutClient(ctx context.Context, c Client) error {
	if err := checkID("client id", c.ID); err != nil {
		return err
	}
	if err := checkOptionalHash(c.SecretHash); err != nil {
		return err
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	it := keyOf(clientKey(c.ID))
	putB(it, "secret_hash", c.SecretHash)
	putS(it, "name", c.Name)
	putList(it, "redirect_uris", c.RedirectURIs)
	putList(it, "grant_types", c.GrantTypes)
	putList(it, "response_types", c.ResponseTypes)
	putS(it, "auth_method", c.TokenEndpointAuthMethod)
	putS(it, "scope", c.Scope)
	putS(it, "client_uri", c.ClientURI)
	putS(it, "logo_uri", c.LogoURI)
	putTime(it, "issued_at", c.IssuedAt)
	putTime(it, attrExpiresAt, c.ExpiresAt)
	return s.create(ctx, it)
}

// GetClient returns the client; ErrNotFound if it is missing or expired.
func (s *Store) GetClient(ctx context.Context, id string) (Client, error) {
	if err := checkID("client id", id); err != nil {
		return Client{}, err
	}
	it, err := s.get(ctx, clientKey(id))
	if err != nil {
		return Client{}, err
	}
	if !live(it, s.now(), true) {
		return Client{}, ErrNotFound
	}
	return Client{
		ID:                      id,
		SecretHash:              getB(it, "secret_hash"),
		Name:                    getS(it, "name"),
		RedirectURIs:            getList(it, "redirect_uris"),
		GrantTypes:              getList(it, "grant_types"),
		ResponseTypes:           getList(it, "response_types"),
		TokenEndpointAuthMethod: getS(it, "auth_method"),
		Scope:                   getS(it, "scope"),
		ClientURI:               getS(it, "client_uri"),
		LogoURI:                 getS(it, "logo_uri"),
		IssuedAt:                getTime(it, "issued_at"),
		ExpiresAt:               getTime(it, attrExpiresAt),
	}, nil
}

// MarkClientUsed removes the client's expiry, so a registration that was used is kept.
// Idempotent: a client that has no expiry already is a success. It never revives an
// expired registration: a missing or expired client gives ErrNotFound (no extra call; the
// failed condition returns the old item).
func (s *Store) MarkClientUsed(ctx context.Context, id string) error {
	if err := checkID("client id", id); err != nil {
		return err
	}
	now := s.now()
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(clientKey(id)),
		UpdateExpression:                    aws.String("REMOVE #exp"),
		ConditionExpression:                 aws.String("#exp > :now"),
		ExpressionAttributeNames:            map[string]string{"#exp": attrExpiresAt},
		ExpressionAttributeValues:           item{":now": epoch(now)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// Missing item, or expires_at present but past: not found. No expires_at: already used.
		if len(ccf.Item) == 0 || !live(ccf.Item, now, true) {
			return ErrNotFound
		}
		return nil
	}
	return wrap("mark client used", err)
}
