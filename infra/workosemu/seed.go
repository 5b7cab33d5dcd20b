package workosemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"
)

// Seed is the emulator's starting data, usually read from infra/workos-seed.json.
// Every id is fixed so that each demo run sees the same users and organizations.
type Seed struct {
	Users         []SeedUser         `json:"users"`
	Organizations []SeedOrganization `json:"organizations"`
	Memberships   []SeedMembership   `json:"memberships"`
	// Roles maps a role slug to the permissions an access token carries for it.
	Roles []SeedRole `json:"roles"`
	// Connections are SSO connections, selectable with connection_id on authorize.
	Connections []SeedConnection `json:"connections,omitempty"`
}

// SeedUser is a WorkOS user. CreatedAt is ISO-8601 (RFC 3339); empty means DefaultSeedTime.
type SeedUser struct {
	ID                string            `json:"id"`
	Email             string            `json:"email"`
	FirstName         string            `json:"first_name,omitempty"`
	LastName          string            `json:"last_name,omitempty"`
	EmailVerified     bool              `json:"email_verified"`
	ProfilePictureURL string            `json:"profile_picture_url,omitempty"`
	ExternalID        string            `json:"external_id,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	CreatedAt         string            `json:"created_at,omitempty"`
}

// SeedOrganization is a WorkOS organization.
type SeedOrganization struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Domains    []string          `json:"domains,omitempty"`
	ExternalID string            `json:"external_id,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	CreatedAt  string            `json:"created_at,omitempty"`
}

// SeedMembership ties a user to an organization with a role slug and a status
// (active, inactive or pending).
type SeedMembership struct {
	ID             string `json:"id"`
	UserID         string `json:"user_id"`
	OrganizationID string `json:"organization_id"`
	Role           string `json:"role"`
	Status         string `json:"status"`
	CreatedAt      string `json:"created_at,omitempty"`
}

// SeedRole lists the permissions granted by a role.
type SeedRole struct {
	Slug        string   `json:"slug"`
	Permissions []string `json:"permissions"`
}

// SeedConnection is an SSO connection belonging to an organization.
type SeedConnection struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
}

// DefaultSeedTime is the creation time of seed records that do not name one.
const DefaultSeedTime = "2024-01-01T00:00:00.000Z"

// LoadSeed reads and validates a seed file.
func LoadSeed(path string) (Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("workosemu: read seed: %w", err)
	}
	s, err := ParseSeed(data)
	if err != nil {
		return Seed{}, fmt.Errorf("workosemu: seed %s: %w", path, err)
	}
	return s, nil
}

// ParseSeed decodes a seed document strictly (unknown fields are errors) and validates it.
func ParseSeed(data []byte) (Seed, error) {
	var s Seed
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Seed{}, fmt.Errorf("decode: trailing data after the seed object")
	}
	if _, err := buildState(s); err != nil {
		return Seed{}, err
	}
	return s, nil
}

// buildState validates a seed and turns it into the emulator's in-memory records.
func buildState(s Seed) (*state, error) {
	st := newState()
	roles := map[string][]string{}
	for i, r := range s.Roles {
		if r.Slug == "" {
			return nil, fmt.Errorf("roles[%d]: empty slug", i)
		}
		if _, dup := roles[r.Slug]; dup {
			return nil, fmt.Errorf("roles[%d]: duplicate slug %q", i, r.Slug)
		}
		perms := append([]string{}, r.Permissions...)
		roles[r.Slug] = perms
	}
	st.roles = roles

	for i, u := range s.Users {
		if err := checkID("user_", u.ID); err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		if _, dup := st.users[u.ID]; dup {
			return nil, fmt.Errorf("users[%d]: duplicate id %s", i, u.ID)
		}
		email, err := normalizeEmail(u.Email)
		if err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		if _, dup := st.usersByEmail[email]; dup {
			return nil, fmt.Errorf("users[%d]: duplicate email %s", i, email)
		}
		created, err := seedTime(u.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("users[%d]: created_at: %w", i, err)
		}
		st.addUser(&user{
			ID: u.ID, Email: email, FirstName: u.FirstName, LastName: u.LastName,
			EmailVerified: u.EmailVerified, ProfilePictureURL: u.ProfilePictureURL,
			ExternalID: u.ExternalID, Metadata: copyMap(u.Metadata),
			CreatedAt: created, UpdatedAt: created,
		})
	}

	for i, o := range s.Organizations {
		if err := checkID("org_", o.ID); err != nil {
			return nil, fmt.Errorf("organizations[%d]: %w", i, err)
		}
		if _, dup := st.orgs[o.ID]; dup {
			return nil, fmt.Errorf("organizations[%d]: duplicate id %s", i, o.ID)
		}
		if strings.TrimSpace(o.Name) == "" {
			return nil, fmt.Errorf("organizations[%d]: empty name", i)
		}
		created, err := seedTime(o.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("organizations[%d]: created_at: %w", i, err)
		}
		st.orgs[o.ID] = &organization{
			ID: o.ID, Name: o.Name, Domains: append([]string{}, o.Domains...),
			ExternalID: o.ExternalID, Metadata: copyMap(o.Metadata),
			CreatedAt: created, UpdatedAt: created,
		}
	}

	seenMembership := map[string]bool{}
	pairs := map[string]bool{}
	for i, m := range s.Memberships {
		if err := checkID("om_", m.ID); err != nil {
			return nil, fmt.Errorf("memberships[%d]: %w", i, err)
		}
		if seenMembership[m.ID] {
			return nil, fmt.Errorf("memberships[%d]: duplicate id %s", i, m.ID)
		}
		seenMembership[m.ID] = true
		if _, ok := st.users[m.UserID]; !ok {
			return nil, fmt.Errorf("memberships[%d]: unknown user_id %q", i, m.UserID)
		}
		if _, ok := st.orgs[m.OrganizationID]; !ok {
			return nil, fmt.Errorf("memberships[%d]: unknown organization_id %q", i, m.OrganizationID)
		}
		if pairs[m.UserID+" "+m.OrganizationID] {
			return nil, fmt.Errorf("memberships[%d]: user %s already has a membership in %s", i, m.UserID, m.OrganizationID)
		}
		pairs[m.UserID+" "+m.OrganizationID] = true
		if _, ok := roles[m.Role]; !ok {
			return nil, fmt.Errorf("memberships[%d]: role %q is not declared in roles", i, m.Role)
		}
		if !validStatus(m.Status) {
			return nil, fmt.Errorf("memberships[%d]: status %q is not active, inactive or pending", i, m.Status)
		}
		created, err := seedTime(m.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("memberships[%d]: created_at: %w", i, err)
		}
		st.memberships = append(st.memberships, &membership{
			ID: m.ID, UserID: m.UserID, OrganizationID: m.OrganizationID,
			Role: m.Role, Status: m.Status, CreatedAt: created, UpdatedAt: created,
		})
	}
	st.sortMemberships()

	for i, c := range s.Connections {
		if err := checkID("conn_", c.ID); err != nil {
			return nil, fmt.Errorf("connections[%d]: %w", i, err)
		}
		if _, dup := st.connections[c.ID]; dup {
			return nil, fmt.Errorf("connections[%d]: duplicate id %s", i, c.ID)
		}
		if _, ok := st.orgs[c.OrganizationID]; !ok {
			return nil, fmt.Errorf("connections[%d]: unknown organization_id %q", i, c.OrganizationID)
		}
		st.connections[c.ID] = c.OrganizationID
	}
	return st, nil
}

func checkID(prefix, id string) error {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(id) > 64 {
		return fmt.Errorf("id %q must be %s followed by 1 to %d characters", id, prefix, 64-len(prefix))
	}
	for _, r := range rest {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return fmt.Errorf("id %q must be alphanumeric after %s", id, prefix)
		}
	}
	return nil
}

func seedTime(s string) (time.Time, error) {
	if s == "" {
		s = DefaultSeedTime
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// normalizeEmail accepts a bare address (no display name), at most 254 bytes, and lower-cases it.
func normalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("email is required")
	}
	if len(s) > 254 {
		return "", fmt.Errorf("email is too long")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") {
		return "", fmt.Errorf("email %q is not a valid address", raw)
	}
	return strings.ToLower(s), nil
}

func validStatus(s string) bool {
	return s == "active" || s == "inactive" || s == "pending"
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
