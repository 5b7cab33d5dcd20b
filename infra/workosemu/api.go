package workosemu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// timeFormat is how WorkOS writes timestamps: ISO-8601, UTC, milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func nullableString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

type userJSON struct {
	Object            string            `json:"object"`
	ID                string            `json:"id"`
	Email             string            `json:"email"`
	EmailVerified     bool              `json:"email_verified"`
	FirstName         *string           `json:"first_name"`
	LastName          *string           `json:"last_name"`
	ProfilePictureURL *string           `json:"profile_picture_url"`
	LastSignInAt      *string           `json:"last_sign_in_at"`
	ExternalID        *string           `json:"external_id"`
	Metadata          map[string]string `json:"metadata"`
	CreatedAt         string            `json:"created_at"`
	UpdatedAt         string            `json:"updated_at"`
}

// userJSON renders a user as WorkOS does. Caller holds e.mu.
func (e *Emulator) userJSON(u *user) userJSON {
	return userJSON{
		Object: "user", ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified,
		FirstName: nullableString(u.FirstName), LastName: nullableString(u.LastName),
		ProfilePictureURL: nullableString(u.ProfilePictureURL), LastSignInAt: nullableTime(u.LastSignInAt),
		ExternalID: nullableString(u.ExternalID), Metadata: copyMap(u.Metadata),
		CreatedAt: ts(u.CreatedAt), UpdatedAt: ts(u.UpdatedAt),
	}
}

type roleJSON struct {
	Slug string `json:"slug"`
}

type membershipJSON struct {
	Object         string   `json:"object"`
	ID             string   `json:"id"`
	UserID         string   `json:"user_id"`
	OrganizationID string   `json:"organization_id"`
	Role           roleJSON `json:"role"`
	Status         string   `json:"status"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
}

func membershipView(m *membership) membershipJSON {
	return membershipJSON{
		Object: "organization_membership", ID: m.ID, UserID: m.UserID, OrganizationID: m.OrganizationID,
		Role: roleJSON{Slug: m.Role}, Status: m.Status, CreatedAt: ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt),
	}
}

type domainJSON struct {
	Object               string `json:"object"`
	ID                   string `json:"id"`
	Domain               string `json:"domain"`
	OrganizationID       string `json:"organization_id"`
	State                string `json:"state"`
	VerificationStrategy string `json:"verification_strategy"`
}

type organizationJSON struct {
	Object                           string            `json:"object"`
	ID                               string            `json:"id"`
	Name                             string            `json:"name"`
	AllowProfilesOutsideOrganization bool              `json:"allow_profiles_outside_organization"`
	Domains                          []domainJSON      `json:"domains"`
	ExternalID                       *string           `json:"external_id"`
	Metadata                         map[string]string `json:"metadata"`
	CreatedAt                        string            `json:"created_at"`
	UpdatedAt                        string            `json:"updated_at"`
}

type listMetadata struct {
	Before *string `json:"before"`
	After  *string `json:"after"`
}

type membershipList struct {
	Object       string           `json:"object"`
	Data         []membershipJSON `json:"data"`
	ListMetadata listMetadata     `json:"list_metadata"`
}

// validID reports whether a path segment can be an id: non-empty, no slash, bounded.
func validID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.Contains(id, "/")
}

func quoteID(id string) string {
	if len(id) > 128 {
		id = id[:128]
	}
	return "'" + id + "'"
}

func (e *Emulator) getUser(w http.ResponseWriter, id string) {
	e.mu.Lock()
	u, ok := e.st.users[id]
	var out userJSON
	if ok {
		out = e.userJSON(u)
	}
	e.mu.Unlock()
	if !validID(id) || !ok {
		apiError(w, http.StatusNotFound, "not_found", "User not found: "+quoteID(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getMembership(w http.ResponseWriter, id string) {
	e.mu.Lock()
	m := e.st.membershipByID(id)
	var out membershipJSON
	if m != nil {
		out = membershipView(m)
	}
	e.mu.Unlock()
	if !validID(id) || m == nil {
		apiError(w, http.StatusNotFound, "not_found", "Organization membership not found: "+quoteID(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getOrganization(w http.ResponseWriter, id string) {
	e.mu.Lock()
	o, ok := e.st.orgs[id]
	var out organizationJSON
	if ok {
		out = organizationJSON{
			Object: "organization", ID: o.ID, Name: o.Name, Domains: []domainJSON{},
			ExternalID: nullableString(o.ExternalID), Metadata: copyMap(o.Metadata),
			CreatedAt: ts(o.CreatedAt), UpdatedAt: ts(o.UpdatedAt),
		}
		for i, d := range o.Domains {
			out.Domains = append(out.Domains, domainJSON{
				Object: "organization_domain", ID: "org_domain_" + strings.TrimPrefix(o.ID, "org_") + strconv.Itoa(i),
				Domain: d, OrganizationID: o.ID, State: "verified", VerificationStrategy: "manual",
			})
		}
	}
	e.mu.Unlock()
	if !validID(id) || !ok {
		apiError(w, http.StatusNotFound, "not_found", "Organization not found: "+quoteID(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listMemberships implements GET /user_management/organization_memberships with WorkOS's
// cursor pagination: records are ordered by creation time (desc by default); `after=X` returns
// the records that follow X in that order, `before=X` the ones that precede it; list_metadata
// points at the edges of the page when more records lie beyond them, and is null otherwise.
func (e *Emulator) listMemberships(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, name := range []string{"user_id", "organization_id", "limit", "order", "before", "after"} {
		if len(q[name]) > 1 {
			apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "The "+name+" parameter is repeated.")
			return
		}
	}
	userID, orgID, limitRaw := q.Get("user_id"), q.Get("organization_id"), q.Get("limit")
	order, before, after := q.Get("order"), q.Get("before"), q.Get("after")
	limit := 10
	if limitRaw != "" {
		n, err := strconv.Atoi(limitRaw)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "limit must be an integer between 1 and 100.")
			return
		}
		limit = n
	}
	switch order {
	case "":
		order = "desc"
	case "asc", "desc":
	default:
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "order must be asc or desc.")
		return
	}
	statuses := map[string]bool{}
	for _, s := range q["statuses"] {
		if !validStatus(s) {
			apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "statuses must be active, inactive or pending.")
			return
		}
		statuses[s] = true
	}
	if before != "" && after != "" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Use before or after, not both.")
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	var cursor *membership
	if c := before + after; c != "" {
		if cursor = e.st.membershipByID(c); cursor == nil {
			apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "The pagination cursor does not name an organization membership.")
			return
		}
	}
	// precedes reports whether a comes before b in the requested order.
	precedes := func(a, b *membership) bool {
		if order == "asc" {
			return membershipLess(a, b)
		}
		return membershipLess(b, a)
	}
	var items []*membership
	for _, m := range e.st.memberships { // ascending
		if userID != "" && m.UserID != userID || orgID != "" && m.OrganizationID != orgID {
			continue
		}
		if len(statuses) > 0 && !statuses[m.Status] {
			continue
		}
		items = append(items, m)
	}
	if order == "desc" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}

	var start, end int
	switch {
	case after != "":
		start = len(items)
		for i, m := range items {
			if precedes(cursor, m) {
				start = i
				break
			}
		}
		end = min(start+limit, len(items))
	case before != "":
		end = 0
		for _, m := range items {
			if precedes(m, cursor) {
				end++
			}
		}
		start = max(end-limit, 0)
	default:
		start, end = 0, min(limit, len(items))
	}
	page := items[start:end]
	out := membershipList{Object: "list", Data: []membershipJSON{}}
	for _, m := range page {
		out.Data = append(out.Data, membershipView(m))
	}
	if len(page) > 0 {
		if start > 0 {
			out.ListMetadata.Before = &page[0].ID
		}
		if end < len(items) {
			out.ListMetadata.After = &page[len(page)-1].ID
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeSession implements POST /user_management/sessions/revoke {"session_id"}.
func (e *Emulator) revokeSession(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, "invalid_request", "The request body is too large.")
			return
		}
		apiError(w, http.StatusBadRequest, "invalid_request", "The request body could not be read.")
		return
	}
	var req struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request", "The request body must be a JSON object.")
		return
	}
	if req.SessionID == "" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "session_id is required.")
		return
	}
	if _, _, found := e.revoke(req.SessionID); !found {
		apiError(w, http.StatusNotFound, "not_found", "Session not found: "+quoteID(req.SessionID))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// logout implements GET /user_management/sessions/logout?session_id&return_to (browser-facing).
func (e *Emulator) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if len(q["session_id"]) != 1 || q.Get("session_id") == "" || len(q["return_to"]) > 1 {
		renderPage(w, http.StatusBadRequest, pageData{Kind: "error", Title: "Sign-out error", Message: "A single session_id is required."})
		return
	}
	returnTo := q.Get("return_to")
	if returnTo != "" && !e.returnTo[returnTo] {
		renderPage(w, http.StatusBadRequest, pageData{Kind: "error", Title: "Sign-out error", Message: "The return_to URL is not on this application's allowlist."})
		return
	}
	e.mu.Lock()
	e.st.endSession(q.Get("session_id"), e.now())
	e.mu.Unlock()
	if returnTo != "" {
		redirect(w, returnTo)
		return
	}
	renderPage(w, http.StatusOK, pageData{Kind: "message", Title: "Signed out", Message: "You have been signed out."})
}

func (e *Emulator) jwksHandler(w http.ResponseWriter, clientID string) {
	if !secretEqual(clientID, e.clientID) {
		apiError(w, http.StatusNotFound, "not_found", "Client not found: "+quoteID(clientID))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.jwks)
}
