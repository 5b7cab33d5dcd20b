package mcpserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authbridge/authbridge/shared/guard"
)

var whoamiTool = &mcp.Tool{
	Name:        "whoami",
	Title:       "Who am I",
	Description: "Shows who is signed in: user id, email, name, organization, the MCP client, the granted scopes and when the access token expires.",
	Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: new(false)},
}

// WhoAmI is whoami's structured result.
type WhoAmI struct {
	UserID         string   `json:"user_id" jsonschema:"the WorkOS user id"`
	Email          string   `json:"email,omitempty"`
	Name           string   `json:"name,omitempty" jsonschema:"the person's name, from WorkOS"`
	OrganizationID string   `json:"organization_id,omitempty" jsonschema:"the organization chosen at sign-in"`
	ClientID       string   `json:"client_id" jsonschema:"the MCP client the token was issued to"`
	Scopes         []string `json:"scopes"`
	ExpiresAt      string   `json:"expires_at" jsonschema:"access token expiry, RFC 3339"`
}

type noArguments struct{}

// whoami reports the token's identity; the name is read from WorkOS (best effort: the rest
// of the answer comes from the token alone).
func (s *Server) whoami(ctx context.Context, who guard.Identity, _ noArguments) (string, WhoAmI, error) {
	out := WhoAmI{
		UserID: who.Subject, Email: who.Email, OrganizationID: who.OrgID, ClientID: who.ClientID,
		Scopes: scopeList(who.Scope), ExpiresAt: who.ExpiresAt.UTC().Format(time.RFC3339),
	}
	if u, err := s.dir.GetUser(ctx, usermanagement.GetUserOpts{User: who.Subject}); err == nil {
		out.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	} else {
		s.log.WarnContext(ctx, "whoami: WorkOS user lookup failed", "sub", who.Subject, "error", err.Error())
	}
	var b strings.Builder
	b.WriteString("Signed in as ")
	if out.Name != "" {
		fmt.Fprintf(&b, "%s ", out.Name)
	}
	if out.Email != "" {
		fmt.Fprintf(&b, "<%s> ", out.Email)
	}
	fmt.Fprintf(&b, "(user %s)", out.UserID)
	if out.OrganizationID != "" {
		fmt.Fprintf(&b, ", organization %s", out.OrganizationID)
	}
	fmt.Fprintf(&b, ".\nClient: %s\nScopes: %s\nToken expires: %s", out.ClientID, strings.Join(out.Scopes, " "), out.ExpiresAt)
	return b.String(), out, nil
}
