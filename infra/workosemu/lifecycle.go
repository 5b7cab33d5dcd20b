package workosemu

import (
	"net/http"
)

// The operations that end someone's access, shared by the WorkOS API routes (which workos-go
// calls) and the emulator-only control routes (control.go). Each one changes the state and
// queues its webhook event under one lock, so events go out in the order the changes happened.

// revoke ends a session and, when this call ended it, emits session.revoked. found is false for
// an unknown session; ev is the zero Event when the session had already ended.
func (e *Emulator) revoke(sessionID string) (ev Event, d *delivery, found bool) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ended := e.st.endSession(sessionID, now)
	if s == nil {
		return Event{}, nil, false
	}
	if ended {
		ev, d = e.emit(EventSessionRevoked, sessionView(s), now)
	}
	return ev, d, true
}

// deleteUser removes a user with its memberships, pending codes and sessions, and emits
// user.deleted carrying the user as it was.
func (e *Emulator) deleteUser(id string) (ev Event, d *delivery, found bool) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.st.users[id]
	if !ok {
		return Event{}, nil, false
	}
	data := e.userJSON(u)
	e.st.deleteUser(id, now)
	ev, d = e.emit(EventUserDeleted, data, now)
	return ev, d, true
}

// deleteMembership removes a membership and emits organization_membership.deleted. Sessions
// bound to that organization stay, but their refresh tokens stop working (grantRefresh).
func (e *Emulator) deleteMembership(id string) (ev Event, d *delivery, found bool) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.st.removeMembership(id)
	if m == nil {
		return Event{}, nil, false
	}
	ev, d = e.emit(EventOrganizationMembershipDeleted, membershipView(m), now)
	return ev, d, true
}

// setMembershipStatus deactivates ("inactive") or reactivates ("active") a membership and, when
// the status changed, emits organization_membership.updated.
func (e *Emulator) setMembershipStatus(id, status string) (out membershipJSON, ev Event, d *delivery, found bool) {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.st.membershipByID(id)
	if m == nil {
		return membershipJSON{}, Event{}, nil, false
	}
	if m.Status != status {
		m.Status, m.UpdatedAt = status, now
		ev, d = e.emit(EventOrganizationMembershipUpdated, membershipView(m), now)
	}
	return membershipView(m), ev, d, true
}

// deleteUserHandler implements DELETE /user_management/users/{id} (usermanagement.DeleteUser).
// The SDK reads nothing from a success but its 2xx status.
func (e *Emulator) deleteUserHandler(w http.ResponseWriter, id string) {
	if !validID(id) || !deleted(e.deleteUser(id)) {
		apiError(w, http.StatusNotFound, "not_found", "User not found: "+quoteID(id))
		return
	}
	accepted(w)
}

// deleteMembershipHandler implements DELETE /user_management/organization_memberships/{id}
// (usermanagement.DeleteOrganizationMembership).
func (e *Emulator) deleteMembershipHandler(w http.ResponseWriter, id string) {
	if !validID(id) || !deleted(e.deleteMembership(id)) {
		apiError(w, http.StatusNotFound, "not_found", "Organization membership not found: "+quoteID(id))
		return
	}
	accepted(w)
}

// membershipStatusHandler implements PUT /user_management/organization_memberships/{id}/deactivate
// and …/reactivate, which answer the membership.
func (e *Emulator) membershipStatusHandler(w http.ResponseWriter, id, status string) {
	out, _, _, found := e.setMembershipStatus(id, status)
	if !validID(id) || !found {
		apiError(w, http.StatusNotFound, "not_found", "Organization membership not found: "+quoteID(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// deleted reports whether deleteUser or deleteMembership found what it was asked to delete.
func deleted(_ Event, _ *delivery, found bool) bool { return found }

// accepted answers a deletion: 202 with no body.
func accepted(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusAccepted)
}
