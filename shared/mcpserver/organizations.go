package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authbridge/authbridge/shared/guard"
)

var listOrganizationsTool = &mcp.Tool{
	Name:        "list_organizations",
	Title:       "List my organizations",
	Description: "Lists the WorkOS organizations the signed-in person belongs to, with their role and membership status.",
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)},
}

// Organizations is list_organizations' structured result.
type Organizations struct {
	UserID      string       `json:"user_id"`
	Memberships []Membership `json:"memberships"`
}

// Membership is one WorkOS organization membership.
type Membership struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
	Role           string `json:"role"`
	Status         string `json:"status" jsonschema:"active, inactive or pending"`
	CreatedAt      string `json:"created_at"`
}

// membershipPages bounds the pages read (100 memberships each).
const membershipPages = 10

// listOrganizations calls WorkOS on behalf of the signed-in person: the user id is the
// token's sub, never an argument (the tool takes none).
func (s *Server) listOrganizations(ctx context.Context, who guard.Identity, _ noArguments) (string, Organizations, error) {
	out := Organizations{UserID: who.Subject, Memberships: []Membership{}}
	after := ""
	for range membershipPages {
		page, err := s.dir.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{
			UserID: who.Subject, Limit: 100, Order: usermanagement.Asc, After: after,
		})
		if err != nil {
			s.log.WarnContext(ctx, "list_organizations: WorkOS call failed", "sub", who.Subject, "error", err.Error())
			return "", Organizations{}, errors.New("the organization directory (WorkOS) could not be reached; try again later")
		}
		for _, m := range page.Data {
			out.Memberships = append(out.Memberships, Membership{
				ID: m.ID, OrganizationID: m.OrganizationID, Role: m.Role.Slug, Status: string(m.Status), CreatedAt: m.CreatedAt,
			})
		}
		if after = page.ListMetadata.After; after == "" {
			break
		}
	}
	if len(out.Memberships) == 0 {
		return "You are not a member of any organization.", out, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "You belong to %d organization(s):", len(out.Memberships))
	for _, m := range out.Memberships {
		fmt.Fprintf(&b, "\n- %s: role %s, %s", m.OrganizationID, m.Role, m.Status)
	}
	return b.String(), out, nil
}
