package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	// ApprovedRedirectURIs are the redirect URIs a signed-in person approved for this client
	// (a string set, added to by ApproveRedirectURI; PutClient writes none).
	ApprovedRedirectURIs []string
	IssuedAt             time.Time // zero: set to now by PutClient
	ExpiresAt            time.Time // zero = no expiry; registrations never used expire
}

func clientKey(id string) string { return prefixClient + id }

// attrApprovedRedirects is the client's string set of approved redirect URIs.
const attrApprovedRedirects = "approved_redirect_uris"

// maxRedirectURILen bounds an approved redirect URI (registration bounds them too).
const maxRedirectURILen = 2048

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
	return s.clientOf(id, it)
}

// clientOf is the client stored in it; ErrNotFound if it is missing or expired.
func (s *Store) clientOf(id string, it item) (Client, error) {
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
		ApprovedRedirectURIs:    getStringSet(it, attrApprovedRedirects),
		IssuedAt:                getTime(it, "issued_at"),
		ExpiresAt:               getTime(it, attrExpiresAt),
	}, nil
}

// markUsedAction is MarkClientUsed as an action of a transaction: the client's expiry
// removed, on the condition that it exists and has not expired (a client deleted or expired
// since it was read cancels the transaction: ErrClientGone).
func (s *Store) markUsedAction(id string, now time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(clientKey(id)),
		UpdateExpression:          aws.String("REMOVE #exp"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#exp) OR #exp > :now)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#exp": attrExpiresAt},
		ExpressionAttributeValues: item{":now": epoch(now)},
	}}
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

// ApproveRedirectURI adds uri to the client's approved redirect URIs (one UpdateItem with
// ADD on a string set: idempotent, and the authorization endpoint reads the set with the
// client at no extra cost). A missing or expired client gives ErrNotFound and is not revived.
//
// A Client ID Metadata Document client (an https URL id, IsDocumentClientID) has no
// registration: its item holds only the approvals, is created by the first one, and is kept
// for DocumentClientRetention after the last.
func (s *Store) ApproveRedirectURI(ctx context.Context, id, uri string) error {
	if err := checkID("client id", id); err != nil {
		return err
	}
	if uri == "" || len(uri) > maxRedirectURILen {
		return fmt.Errorf("%w: redirect URI must be 1..%d bytes", ErrInvalid, maxRedirectURILen)
	}
	uriSet := &types.AttributeValueMemberSS{Value: []string{uri}}
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyOf(clientKey(id)),
		UpdateExpression:          aws.String("ADD #approved :uri"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#exp) OR #exp > :now)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#exp": attrExpiresAt, "#approved": attrApprovedRedirects},
		ExpressionAttributeValues: item{":now": epoch(s.now()), ":uri": uriSet},
	}
	if IsDocumentClientID(id) { // created by the first approval, kept after the last
		in = &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       keyOf(clientKey(id)),
			UpdateExpression:          aws.String("SET #exp = :exp ADD #approved :uri"),
			ExpressionAttributeNames:  map[string]string{"#exp": attrExpiresAt, "#approved": attrApprovedRedirects},
			ExpressionAttributeValues: item{":exp": epoch(s.now().Add(DocumentClientRetention)), ":uri": uriSet},
		}
	}
	_, err := s.db.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return ErrNotFound
	}
	return wrap("approve redirect uri", err)
}

// IsDocumentClientID reports whether id is a Client ID Metadata Document's URL rather than an
// id Authbridge issued at registration (those never start with "https://").
func IsDocumentClientID(id string) bool { return strings.HasPrefix(id, "https://") }

// DocumentClientRetention is how long a metadata-document client's approved redirect URIs
// are kept after the last approval.
const DocumentClientRetention = 180 * 24 * time.Hour

func getStringSet(it item, name string) []string {
	v, ok := it[name].(*types.AttributeValueMemberSS)
	if !ok {
		return nil
	}
	out := append([]string(nil), v.Value...)
	sort.Strings(out)
	return out
}

// DeleteClient deletes the client's registration, expired or not, and reports whether there
// was one. Idempotent: a missing client is no error. Its token families are left to the
// caller (RevokeFamilies).
func (s *Store) DeleteClient(ctx context.Context, id string) (bool, error) {
	if err := checkID("client id", id); err != nil {
		return false, err
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyOf(clientKey(id)), ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, wrap("delete client", err)
	}
	return len(out.Attributes) > 0, nil
}
