package workosemu

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"sort"
	"time"
)

// Limits that keep hostile or runaway clients from growing the in-memory state without bound.
const (
	maxUsers    = 10000
	maxCodes    = 10000
	maxSessions = 100000
)

type user struct {
	ID                string
	Email             string
	FirstName         string
	LastName          string
	EmailVerified     bool
	ProfilePictureURL string
	ExternalID        string
	Metadata          map[string]string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastSignInAt      time.Time
}

type organization struct {
	ID         string
	Name       string
	Domains    []string
	ExternalID string
	Metadata   map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

type membership struct {
	ID             string
	UserID         string
	OrganizationID string
	Role           string
	Status         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// authCode is a pending authorization code: single use, bound to the client and the PKCE challenge.
type authCode struct {
	ClientID   string
	UserID     string
	OrgID      string
	Challenge  string
	AuthMethod string
	Expires    time.Time
}

type session struct {
	ID         string
	UserID     string
	OrgID      string
	AuthMethod string
	IPAddress  string
	UserAgent  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  time.Time
	EndedAt    time.Time
	Ended      bool
}

// state is every mutable record. The Emulator's mutex guards it.
type state struct {
	users        map[string]*user
	usersByEmail map[string]string
	orgs         map[string]*organization
	memberships  []*membership // sorted by (CreatedAt, ID)
	roles        map[string][]string
	connections  map[string]string // connection id → organization id
	codes        map[string]*authCode
	sessions     map[string]*session
	refresh      map[string]string // refresh token → session id
}

func newState() *state {
	return &state{
		users:        map[string]*user{},
		usersByEmail: map[string]string{},
		orgs:         map[string]*organization{},
		roles:        map[string][]string{},
		connections:  map[string]string{},
		codes:        map[string]*authCode{},
		sessions:     map[string]*session{},
		refresh:      map[string]string{},
	}
}

func (st *state) addUser(u *user) {
	st.users[u.ID] = u
	st.usersByEmail[u.Email] = u.ID
}

func (st *state) sortMemberships() {
	sort.SliceStable(st.memberships, func(i, j int) bool {
		return membershipLess(st.memberships[i], st.memberships[j])
	})
}

func membershipLess(a, b *membership) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

func (st *state) membershipByID(id string) *membership {
	for _, m := range st.memberships {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// activeMemberships returns the user's active memberships, oldest first.
func (st *state) activeMemberships(userID string) []*membership {
	var out []*membership
	for _, m := range st.memberships {
		if m.UserID == userID && m.Status == "active" {
			out = append(out, m)
		}
	}
	return out
}

func (st *state) activeMembership(userID, orgID string) *membership {
	for _, m := range st.memberships {
		if m.UserID == userID && m.OrganizationID == orgID && m.Status == "active" {
			return m
		}
	}
	return nil
}

// sortedUsers returns every user, oldest first.
func (st *state) sortedUsers() []*user {
	out := make([]*user, 0, len(st.users))
	for _, u := range st.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (st *state) sweepCodes(now time.Time) {
	for k, c := range st.codes {
		if !now.Before(c.Expires) {
			delete(st.codes, k)
		}
	}
}

func (st *state) sweepSessions() {
	ended := map[string]bool{}
	for id, s := range st.sessions {
		if s.Ended {
			ended[id] = true
			delete(st.sessions, id)
		}
	}
	for tok, sid := range st.refresh {
		if ended[sid] {
			delete(st.refresh, tok)
		}
	}
}

// endSession marks a session ended at now, which kills its refresh tokens (they stay mapped
// until sweepSessions, so a refresh can say why it failed). It returns the session (nil when
// unknown) and whether this call ended it (false when it had already ended).
func (st *state) endSession(id string, now time.Time) (*session, bool) {
	s, ok := st.sessions[id]
	if !ok {
		return nil, false
	}
	if s.Ended {
		return s, false
	}
	s.Ended, s.EndedAt, s.UpdatedAt = true, now, now
	return s, true
}

// endUserSessions ends every live session of a user.
func (st *state) endUserSessions(userID string, now time.Time) {
	for id, s := range st.sessions {
		if s.UserID == userID && !s.Ended {
			st.endSession(id, now)
		}
	}
}

// removeMembership deletes a membership from the sorted list and returns it (nil when unknown).
func (st *state) removeMembership(id string) *membership {
	for i, m := range st.memberships {
		if m.ID == id {
			st.memberships = append(st.memberships[:i], st.memberships[i+1:]...)
			return m
		}
	}
	return nil
}

// deleteUser removes a user, its memberships, its pending codes, and ends its sessions.
func (st *state) deleteUser(id string, now time.Time) *user {
	u, ok := st.users[id]
	if !ok {
		return nil
	}
	delete(st.users, id)
	if st.usersByEmail[u.Email] == id {
		delete(st.usersByEmail, u.Email)
	}
	kept := st.memberships[:0]
	for _, m := range st.memberships {
		if m.UserID != id {
			kept = append(kept, m)
		}
	}
	clear(st.memberships[len(kept):])
	st.memberships = kept
	for k, c := range st.codes {
		if c.UserID == id {
			delete(st.codes, k)
		}
	}
	st.endUserSessions(id, now)
	return u
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a 26-character ULID (48-bit millisecond time, 80 random bits), as WorkOS ids use.
func newULID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// randomToken returns 256 random bits, base64url without padding.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
