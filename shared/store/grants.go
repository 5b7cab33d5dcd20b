package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The families index: a sparse global secondary index of the table that holds the token
// families only (no other item carries its key), keyed by the signed-in person's WorkOS
// user id, with the client and organization ids projected. The operator's look-ups use it
// (infra/cmd/grants); no function reads it. template.yaml and CreateTable declare it.
const (
	FamiliesIndex    = "families"
	FamiliesIndexKey = attrFamilyUser
)

// FamiliesIndexProjection are the non-key attributes the families index projects (INCLUDE):
// what a look-up by client or organization filters on. Both are written once, when the
// family is issued, so revocations and rotations never write the index.
var FamiliesIndexProjection = []string{"client_id", "org_id"}

// attrFamilyUser is the family's user id under its own name: refresh tokens and codes carry
// user_id too and must stay out of the index.
const attrFamilyUser = "family_user"

// GrantFilter selects token families by exactly one of its fields.
type GrantFilter struct{ UserID, ClientID, OrgID string }

func (f GrantFilter) check() error {
	n := 0
	for _, v := range []string{f.UserID, f.ClientID, f.OrgID} {
		if v != "" {
			n++
			if err := checkID("filter", v); err != nil {
				return err
			}
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: exactly one of user, client and organization is required", ErrInvalid)
	}
	return nil
}

// Families returns the token families of a person (Query on the families index), a client or
// an organization (Scan of the index, which holds families only, with a filter), each read
// again from the table with a consistent read, oldest first. Expired families are included
// until DynamoDB deletes them. The index is eventually consistent: a family issued in the
// last second may be missing. Families issued before the owner was stored (no family_user)
// are never found, not even by client.
func (s *Store) Families(ctx context.Context, filter GrantFilter) ([]Family, error) {
	if err := filter.check(); err != nil {
		return nil, err
	}
	var ids []string
	collect := func(items []item) {
		for _, it := range items {
			if id, ok := strings.CutPrefix(getS(it, attrPK), prefixFamily); ok {
				ids = append(ids, id)
			}
		}
	}
	if filter.UserID != "" {
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(FamiliesIndex),
			KeyConditionExpression:    aws.String("#user = :v"),
			ExpressionAttributeNames:  map[string]string{"#user": attrFamilyUser},
			ExpressionAttributeValues: item{":v": &types.AttributeValueMemberS{Value: filter.UserID}},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, wrap("query families", err)
			}
			collect(out.Items)
		}
	} else {
		attr, v := "client_id", filter.ClientID
		if filter.OrgID != "" {
			attr, v = "org_id", filter.OrgID
		}
		p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(FamiliesIndex),
			FilterExpression:          aws.String("#a = :v"),
			ExpressionAttributeNames:  map[string]string{"#a": attr},
			ExpressionAttributeValues: item{":v": &types.AttributeValueMemberS{Value: v}},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, wrap("scan families", err)
			}
			collect(out.Items)
		}
	}
	fams := make([]Family, 0, len(ids))
	for _, id := range ids {
		it, err := s.get(ctx, familyKey(id))
		if err != nil {
			return nil, err
		}
		if len(it) == 0 { // deleted (TTL) since the index listed it
			continue
		}
		fams = append(fams, familyOf(id, it))
	}
	sort.Slice(fams, func(i, j int) bool {
		if !fams[i].CreatedAt.Equal(fams[j].CreatedAt) {
			return fams[i].CreatedAt.Before(fams[j].CreatedAt)
		}
		return fams[i].ID < fams[j].ID
	})
	return fams, nil
}

// RevokeFamilies revokes every family Families finds that is not revoked yet, with
// RevokeFamily (the token and revocation endpoints' own call): the family's refresh tokens
// then get invalid_grant and introspection answers active:false for its access tokens. It
// returns how many families matched and how many it revoked; on an error, those revoked so
// far stay revoked (run it again: it is idempotent).
func (s *Store) RevokeFamilies(ctx context.Context, filter GrantFilter) (matched, revoked int, err error) {
	fams, err := s.Families(ctx, filter)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range fams {
		if f.Revoked {
			continue
		}
		if err := s.RevokeFamily(ctx, f.ID); err != nil {
			return len(fams), revoked, err
		}
		revoked++
	}
	return len(fams), revoked, nil
}

func familyOf(id string, it item) Family {
	f := Family{
		ID:         id,
		ClientID:   getS(it, "client_id"),
		Revoked:    getBool(it, "revoked"),
		ExpiresAt:  getTime(it, attrExpiresAt),
		UserID:     getS(it, attrFamilyUser),
		OrgID:      getS(it, "org_id"),
		SessionID:  getS(it, "session_id"),
		Scope:      getS(it, "scope"),
		Resource:   getS(it, "resource"),
		CreatedAt:  getTime(it, "created_at"),
		LastUsedAt: getTime(it, "last_used_at"),
	}
	if f.LastUsedAt.IsZero() {
		f.LastUsedAt = f.CreatedAt
	}
	return f
}
