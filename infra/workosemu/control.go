package workosemu

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// ControlPrefix starts every emulator-only route. WorkOS has no such paths and workos-go never
// calls them: they exist so that end-to-end tests can make "the person leaves" happen without a
// WorkOS dashboard. They take the same Bearer API key as the API.
//
//	POST   /_emulator/sessions/{id}/revoke                    end a session    → session.revoked
//	DELETE /_emulator/users/{id}                              delete a user    → user.deleted
//	DELETE /_emulator/organization_memberships/{id}           remove a member  → organization_membership.deleted
//	POST   /_emulator/organization_memberships/{id}/deactivate deactivate one  → organization_membership.updated
//	GET    /_emulator/sessions?user_id=…                      list sessions (newest first)
//
// The mutating routes answer 200 {"event": <the event, or null when nothing changed>,
// "webhook": "delivered" | "failed" | "disabled" (no webhook URL) | "none" (no event) |
// "pending" (still retrying after 30 s)} only once the webhook delivery, retries included, is
// over, so a test can assert on its effects right away.
const ControlPrefix = "/_emulator/"

// controlWait bounds how long a control call waits for its webhook delivery.
const controlWait = 30 * time.Second

type controlResult struct {
	Event   *Event `json:"event"`
	Webhook string `json:"webhook"`
}

func (e *Emulator) control(w http.ResponseWriter, r *http.Request) {
	if !e.bearer(w, r) {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, ControlPrefix)
	parts := strings.Split(rest, "/")
	var (
		ev    Event
		d     *delivery
		found bool
		what  string
	)
	switch {
	case rest == "sessions":
		if allow(w, r, http.MethodGet) {
			e.listSessions(w, r)
		}
		return
	case len(parts) == 3 && parts[0] == "sessions" && parts[2] == "revoke" && validID(parts[1]):
		if !allow(w, r, http.MethodPost) {
			return
		}
		what = "Session"
		ev, d, found = e.revoke(parts[1])
	case len(parts) == 2 && parts[0] == "users" && validID(parts[1]):
		if !allow(w, r, http.MethodDelete) {
			return
		}
		what = "User"
		ev, d, found = e.deleteUser(parts[1])
	case len(parts) == 2 && parts[0] == "organization_memberships" && validID(parts[1]):
		if !allow(w, r, http.MethodDelete) {
			return
		}
		what = "Organization membership"
		ev, d, found = e.deleteMembership(parts[1])
	case len(parts) == 3 && parts[0] == "organization_memberships" && parts[2] == "deactivate" && validID(parts[1]):
		if !allow(w, r, http.MethodPost) {
			return
		}
		what = "Organization membership"
		_, ev, d, found = e.setMembershipStatus(parts[1], "inactive")
	default:
		notFound(w)
		return
	}
	if !found {
		apiError(w, http.StatusNotFound, "not_found", what+" not found: "+quoteID(parts[1]))
		return
	}
	res := controlResult{Webhook: "none"}
	if ev.ID != "" {
		res.Event = &ev
		res.Webhook = "disabled"
	}
	if d != nil {
		timer := time.NewTimer(controlWait)
		defer timer.Stop()
		select {
		case <-d.done:
			res.Webhook = "failed"
			if d.ok {
				res.Webhook = "delivered"
			}
		case <-timer.C:
			res.Webhook = "pending"
		case <-r.Context().Done():
			return
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// listSessions answers {"object":"list","data":[session…]} for ?user_id= (all users without it),
// newest first, ended sessions included until they are swept.
func (e *Emulator) listSessions(w http.ResponseWriter, r *http.Request) {
	userID := r.URL.Query().Get("user_id")
	e.mu.Lock()
	var list []*session
	for _, s := range e.st.sessions {
		if userID == "" || s.UserID == userID {
			list = append(list, s)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
			return list[i].CreatedAt.After(list[j].CreatedAt)
		}
		return list[i].ID > list[j].ID
	})
	out := struct {
		Object string        `json:"object"`
		Data   []sessionJSON `json:"data"`
	}{Object: "list", Data: []sessionJSON{}}
	for _, s := range list {
		out.Data = append(out.Data, sessionView(s))
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
