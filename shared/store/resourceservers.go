package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ResourceServer is a resource server's introspection credentials (RFC 7662 §2.1): an MCP
// server on another host that asks Authbridge whether a token is active. Its items live under
// their own key prefix, never CLIENT#, so a registered MCP client can never authenticate as a
// resource server, nor a resource server at the token, authorization or revocation endpoints.
type ResourceServer struct {
	ID         string
	SecretHash []byte // SHA-256 of the secret (required)
	// Resource is the one protected resource (canonical RFC 8707 URL) the credentials may
	// introspect tokens for.
	Resource  string
	CreatedAt time.Time // zero: set to now by PutResourceServer
}

func resourceServerKey(id string) string { return prefixResourceServer + id }

// PutResourceServer stores new credentials; ErrExists when the id is taken. They do not
// expire: DeleteResourceServer withdraws them.
func (s *Store) PutResourceServer(ctx context.Context, rs ResourceServer) error {
	if err := checkID("resource server id", rs.ID); err != nil {
		return err
	}
	if err := checkHash(rs.SecretHash); err != nil {
		return err
	}
	if rs.Resource == "" || len(rs.Resource) > maxRedirectURILen {
		return fmt.Errorf("%w: resource must be 1..%d bytes", ErrInvalid, maxRedirectURILen)
	}
	if rs.CreatedAt.IsZero() {
		rs.CreatedAt = s.now()
	}
	it := keyOf(resourceServerKey(rs.ID))
	putB(it, "secret_hash", rs.SecretHash)
	putS(it, "resource", rs.Resource)
	putTime(it, "created_at", rs.CreatedAt)
	return s.create(ctx, it)
}

// GetResourceServer returns the credentials; ErrNotFound when there are none with that id.
func (s *Store) GetResourceServer(ctx context.Context, id string) (ResourceServer, error) {
	if err := checkID("resource server id", id); err != nil {
		return ResourceServer{}, err
	}
	it, err := s.get(ctx, resourceServerKey(id))
	if err != nil {
		return ResourceServer{}, err
	}
	if !live(it, s.now(), true) {
		return ResourceServer{}, ErrNotFound
	}
	return ResourceServer{
		ID:         id,
		SecretHash: getB(it, "secret_hash"),
		Resource:   getS(it, "resource"),
		CreatedAt:  getTime(it, "created_at"),
	}, nil
}

// DeleteResourceServer withdraws the credentials; ErrNotFound when there were none.
func (s *Store) DeleteResourceServer(ctx context.Context, id string) error {
	if err := checkID("resource server id", id); err != nil {
		return err
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      keyOf(resourceServerKey(id)),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: namesPK,
	})
	if isConditionFailed(err) {
		return ErrNotFound
	}
	return wrap("delete resource server", err)
}
