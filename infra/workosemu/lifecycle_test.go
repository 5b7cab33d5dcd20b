package workosemu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/events"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/webhooks"
)

const testWebhookSecret = "whsec_local_test"

// hook is a webhook receiver: it records every POST and answers with the next status from
// plan (200 once plan is used up).
type hook struct {
	srv *httptest.Server
	got chan hookCall

	mu   sync.Mutex
	plan []int
	n    int
}

type hookCall struct {
	header http.Header
	body   string
}

func newHook(t *testing.T, plan ...int) *hook {
	t.Helper()
	h := &hook{got: make(chan hookCall, 100), plan: plan}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.got <- hookCall{header: r.Header.Clone(), body: string(b)}
		h.mu.Lock()
		status := http.StatusOK
		if h.n < len(h.plan) {
			status = h.plan[h.n]
		}
		h.n++
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// next waits for the next delivery.
func (h *hook) next(t *testing.T) hookCall {
	t.Helper()
	select {
	case c := <-h.got:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivery")
		return hookCall{}
	}
}

func (h *hook) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-h.got:
		t.Fatalf("unexpected webhook %s", c.body)
	case <-time.After(100 * time.Millisecond):
	}
}

func withHook(h *hook, attempts int) func(*Options) {
	return func(o *Options) {
		o.WebhookURL = h.srv.URL + "/workos/webhooks"
		o.WebhookSecret = testWebhookSecret
		o.WebhookAttempts = attempts
		o.WebhookBackoff = time.Millisecond
	}
}

// event validates a delivery with workos-go's own webhook validator and decodes it with
// workos-go's events.Event; the data is decoded into out.
func (e *env) event(c hookCall, kind string, out any) events.Event {
	e.t.Helper()
	if ct := c.header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("content type %q", ct)
	}
	v := webhooks.NewClient(testWebhookSecret)
	v.SetNow(e.emu.now)
	body, err := v.ValidatePayload(c.header.Get("WorkOS-Signature"), c.body)
	if err != nil {
		e.t.Fatalf("ValidatePayload(%q): %v", c.header.Get("WorkOS-Signature"), err)
	}
	var ev events.Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		e.t.Fatalf("decode %s: %v", body, err)
	}
	if ev.Event != kind || !strings.HasPrefix(ev.ID, "event_") || len(ev.ID) != len("event_")+26 ||
		!ev.CreatedAt.Equal(e.clock.Now().Truncate(time.Millisecond)) {
		e.t.Fatalf("event %+v, want %s at %s", ev, kind, e.clock.Now())
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal([]byte(body), &raw)
	if len(raw) != 4 {
		e.t.Fatalf("event fields %s", body)
	}
	if err := json.Unmarshal(ev.Data, out); err != nil {
		e.t.Fatalf("decode data %s: %v", ev.Data, err)
	}
	return ev
}

// signIn signs userID in (choosing orgID when asked) and returns the response and its sid.
func (e *env) signIn(userID, orgID string) (usermanagement.AuthenticateResponse, string) {
	e.t.Helper()
	p := e.submit(e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{})), "user-"+userID, nil)
	if orgID != "" && p.status == http.StatusOK {
		p = e.submit(p, "org-"+orgID, nil)
	}
	res, err := e.authenticate(callback(e.t, p, testRedirect).Get("code"), "")
	if err != nil {
		e.t.Fatal(err)
	}
	if res.OrganizationID != orgID {
		e.t.Fatalf("signed in to %q, want %q", res.OrganizationID, orgID)
	}
	_, claims := verifyJWT(e.t, res.AccessToken, e.jwks())
	sid, _ := claims["sid"].(string)
	if !strings.HasPrefix(sid, "session_") {
		e.t.Fatalf("sid %v", claims["sid"])
	}
	return res, sid
}

func (e *env) refresh(token, orgID string) (usermanagement.RefreshAuthenticationResponse, error) {
	return e.um.AuthenticateWithRefreshToken(context.Background(), usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: DefaultClientID, RefreshToken: token, OrganizationID: orgID,
		IPAddress: "203.0.113.7", UserAgent: "test-browser/1.0",
	})
}

// refreshFails asserts the SDK's error for a dead refresh token: 400 invalid_grant with the
// given description.
func (e *env) refreshFails(token, description string) {
	e.t.Helper()
	_, err := e.refresh(token, "")
	he := httpErr(e.t, err, http.StatusBadRequest, "invalid_grant")
	// The SDK folds {"error","error_description"} into Message as "<error> <description>".
	if he.Message != "invalid_grant "+description {
		e.t.Fatalf("message %q, want the description %q", he.Message, description)
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	first, sid := e.signIn(graceID, enginesID)
	e.clock.Advance(time.Minute)
	second, err := e.refresh(first.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("the refresh token was not rotated")
	}
	_, claims := verifyJWT(t, second.AccessToken, e.jwks())
	if claims["sid"] != sid || claims["org_id"] != enginesID || claims["sub"] != graceID {
		t.Fatalf("claims %v", claims)
	}
	// The old token is spent; the new one works once.
	e.refreshFails(first.RefreshToken, "Refresh token is invalid or already exchanged.")
	third, err := e.refresh(second.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	e.refreshFails(second.RefreshToken, "Refresh token is invalid or already exchanged.")

	// Sessions end after SessionTTL.
	e.clock.Advance(SessionTTL)
	e.refreshFails(third.RefreshToken, "Session has expired.")
}

func TestLeavingEndsAccessThroughSDK(t *testing.T) {
	h := newHook(t)
	e := newEnv(t, withHook(h, 1))
	ctx := context.Background()

	// RevokeSession: the refresh token dies and session.revoked goes out.
	ada, adaSID := e.signIn(adaID, enginesID)
	e.clock.Advance(time.Second)
	if err := e.um.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: adaSID}); err != nil {
		t.Fatal(err)
	}
	var s sessionJSON
	e.event(h.next(t), EventSessionRevoked, &s)
	if s.Object != "session" || s.ID != adaSID || s.UserID != adaID || s.OrganizationID == nil || *s.OrganizationID != enginesID ||
		s.Status != "revoked" || s.AuthMethod != "password" || s.EndedAt == nil || *s.EndedAt != ts(e.clock.Now()) ||
		s.IPAddress == nil || *s.IPAddress != "203.0.113.7" || s.UserAgent == nil || *s.UserAgent != "test-browser/1.0" {
		t.Fatalf("session %+v", s)
	}
	e.refreshFails(ada.RefreshToken, "Session has already ended.")
	// Revoking again succeeds and sends nothing.
	if err := e.um.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: adaSID}); err != nil {
		t.Fatal(err)
	}
	h.none(t)

	// DeleteOrganizationMembership: org-bound sessions stop refreshing; the membership is gone.
	grace, _ := e.signIn(graceID, enginesID)
	const graceEngines = "om_01JGRACE0ENG7R3WVSJZ3QDKHB"
	if err := e.um.DeleteOrganizationMembership(ctx, usermanagement.DeleteOrganizationMembershipOpts{OrganizationMembership: graceEngines}); err != nil {
		t.Fatal(err)
	}
	var m usermanagement.OrganizationMembership
	e.event(h.next(t), EventOrganizationMembershipDeleted, &m)
	if m.ID != graceEngines || m.UserID != graceID || m.OrganizationID != enginesID || m.Role.Slug != "member" || m.Status != "active" {
		t.Fatalf("membership %+v", m)
	}
	e.refreshFails(grace.RefreshToken, "The user is not an active member of that organization.")
	_, err := e.um.GetOrganizationMembership(ctx, usermanagement.GetOrganizationMembershipOpts{OrganizationMembership: graceEngines})
	httpErr(t, err, http.StatusNotFound, "not_found")
	err = e.um.DeleteOrganizationMembership(ctx, usermanagement.DeleteOrganizationMembershipOpts{OrganizationMembership: graceEngines})
	httpErr(t, err, http.StatusNotFound, "not_found")

	// DeactivateOrganizationMembership: same for the inactive membership; reactivating restores it.
	const graceBletchley = "om_01JGRACE0BETWV6MRM4Z01JMCB"
	grace, _ = e.signIn(graceID, bletchleyID) // now her only active membership: no chooser
	got, err := e.um.DeactivateOrganizationMembership(ctx, usermanagement.DeactivateOrganizationMembershipOpts{OrganizationMembership: graceBletchley})
	if err != nil || got.Status != "inactive" || got.UpdatedAt != ts(e.clock.Now()) {
		t.Fatalf("deactivate: %+v %v", got, err)
	}
	e.event(h.next(t), EventOrganizationMembershipUpdated, &m)
	if m.ID != graceBletchley || m.Status != "inactive" {
		t.Fatalf("membership %+v", m)
	}
	e.refreshFails(grace.RefreshToken, "The user is not an active member of that organization.")
	grace, _ = e.signIn(graceID, "") // no active membership left: an organization-less session
	if got, err = e.um.ReactivateOrganizationMembership(ctx, usermanagement.ReactivateOrganizationMembershipOpts{OrganizationMembership: graceBletchley}); err != nil || got.Status != "active" {
		t.Fatalf("reactivate: %+v %v", got, err)
	}
	e.event(h.next(t), EventOrganizationMembershipUpdated, &m)
	if _, err := e.refresh(grace.RefreshToken, bletchleyID); err != nil {
		t.Fatal(err)
	}

	// DeleteUser: every session of the user dies, with its memberships; user.deleted goes out.
	alan1, _ := e.signIn(alanID, "")
	alan2, _ := e.signIn(alanID, "")
	if err := e.um.DeleteUser(ctx, usermanagement.DeleteUserOpts{User: alanID}); err != nil {
		t.Fatal(err)
	}
	var u usermanagement.User
	e.event(h.next(t), EventUserDeleted, &u)
	if u.ID != alanID || u.Email != "alan@example.com" || u.FirstName != "Alan" || u.LastSignInAt == "" {
		t.Fatalf("user %+v", u)
	}
	h.none(t) // user.deleted is the only event
	e.refreshFails(alan1.RefreshToken, "Session has already ended.")
	e.refreshFails(alan2.RefreshToken, "Session has already ended.")
	_, err = e.um.GetUser(ctx, usermanagement.GetUserOpts{User: alanID})
	httpErr(t, err, http.StatusNotFound, "not_found")
	list, err := e.um.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{UserID: alanID})
	if err != nil || len(list.Data) != 0 {
		t.Fatalf("memberships of a deleted user: %+v %v", list, err)
	}
	err = e.um.DeleteUser(ctx, usermanagement.DeleteUserOpts{User: alanID})
	httpErr(t, err, http.StatusNotFound, "not_found")
	// The sign-in page no longer offers the deleted user.
	if p := e.get(e.authorizeURL(usermanagement.GetAuthorizationURLOpts{})); strings.Contains(p.body, alanID) {
		t.Fatal("the authorize page still lists the deleted user")
	}
}

func TestDeleteAnswersLikeWorkOS(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/user_management/users/"+alanID, nil)
	req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
	p := e.do(req)
	if p.status != http.StatusAccepted || p.body != "" {
		t.Fatalf("delete user: %d %q", p.status, p.body)
	}
}

// TestWebhookSignatureRealClock checks the signature with the validator exactly as an
// application builds it: webhooks.NewClient(secret) and the wall clock.
func TestWebhookSignatureRealClock(t *testing.T) {
	h := newHook(t)
	e := newEnv(t, withHook(h, 1), func(o *Options) { o.Now = nil })
	if err := e.um.DeleteUser(context.Background(), usermanagement.DeleteUserOpts{User: alanID}); err != nil {
		t.Fatal(err)
	}
	c := h.next(t)
	sig := c.header.Get("WorkOS-Signature")
	if _, err := webhooks.NewClient(testWebhookSecret).ValidatePayload(sig, c.body); err != nil {
		t.Fatalf("ValidatePayload(%q): %v", sig, err)
	}
	if _, err := webhooks.NewClient("another secret").ValidatePayload(sig, c.body); err != webhooks.ErrNoValidSignature {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := webhooks.NewClient(testWebhookSecret).ValidatePayload(sig, c.body+" "); err != webhooks.ErrNoValidSignature {
		t.Fatalf("altered body: %v", err)
	}
	// The format is "t=<unix ms>, v1=<64 hex>".
	stamp, mac, ok := strings.Cut(sig, ", v1=")
	if !ok || !strings.HasPrefix(stamp, "t=") || len(stamp) != len("t=")+13 || len(mac) != 64 {
		t.Fatalf("signature %q", sig)
	}
	if Sign(testWebhookSecret, time.UnixMilli(1700000000123), []byte("{}")) !=
		"t=1700000000123, v1="+hmacHex(testWebhookSecret, "1700000000123.{}") {
		t.Fatal("Sign does not follow the documented format")
	}
}

func TestWebhookRetriesAreBounded(t *testing.T) {
	// Always failing: exactly WebhookAttempts POSTs, each validly signed, then "failed".
	h := newHook(t, 500, 500, 500, 500, 500)
	e := newEnv(t, withHook(h, 3))
	res := e.controlCall(http.MethodDelete, "/_emulator/users/"+alanID)
	if res.Webhook != "failed" || res.Event == nil || res.Event.Event != EventUserDeleted {
		t.Fatalf("control answer %+v", res)
	}
	var u usermanagement.User
	first := e.event(h.next(t), EventUserDeleted, &u)
	for i := 0; i < 2; i++ {
		if again := e.event(h.next(t), EventUserDeleted, &u); again.ID != first.ID {
			t.Fatalf("a retry carries event %s, want %s", again.ID, first.ID)
		}
	}
	h.none(t)
	if h.calls() != 3 {
		t.Fatalf("%d attempts, want 3", h.calls())
	}

	// Failing once: the retry delivers it.
	h = newHook(t, 503)
	e = newEnv(t, withHook(h, 3))
	if res := e.controlCall(http.MethodDelete, "/_emulator/users/"+alanID); res.Webhook != "delivered" || h.calls() != 2 {
		t.Fatalf("control answer %+v after %d attempts", res, h.calls())
	}

	// One attempt means no retry.
	h = newHook(t, 500)
	e = newEnv(t, withHook(h, 1))
	if res := e.controlCall(http.MethodDelete, "/_emulator/users/"+alanID); res.Webhook != "failed" || h.calls() != 1 {
		t.Fatalf("control answer %+v after %d attempts", res, h.calls())
	}
}

func (e *env) controlCall(method, path string) controlResult {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
	p := e.do(req)
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/json" {
		e.t.Fatalf("%s %s: %d %s", method, path, p.status, p.body)
	}
	var res controlResult
	if err := json.Unmarshal([]byte(p.body), &res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestControlAPI(t *testing.T) {
	h := newHook(t)
	e := newEnv(t, withHook(h, 2))

	// Sessions are listed newest first.
	_, sid1 := e.signIn(adaID, enginesID)
	e.clock.Advance(time.Second)
	ada, sid2 := e.signIn(adaID, enginesID)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/_emulator/sessions?user_id="+adaID, nil)
	req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
	var list struct {
		Object string        `json:"object"`
		Data   []sessionJSON `json:"data"`
	}
	if p := e.do(req); p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &list) != nil ||
		len(list.Data) != 2 || list.Data[0].ID != sid2 || list.Data[1].ID != sid1 || list.Data[0].Status != "active" {
		t.Fatalf("sessions: %d %s", p.status, p.body)
	}

	// Revoke: the answer comes after delivery and names the delivered event.
	res := e.controlCall(http.MethodPost, "/_emulator/sessions/"+sid2+"/revoke")
	if res.Webhook != "delivered" || res.Event == nil {
		t.Fatalf("revoke: %+v", res)
	}
	var s sessionJSON
	if ev := e.event(h.next(t), EventSessionRevoked, &s); ev.ID != res.Event.ID || s.ID != sid2 {
		t.Fatalf("delivered %s for session %s, answered %s", ev.ID, s.ID, res.Event.ID)
	}
	e.refreshFails(ada.RefreshToken, "Session has already ended.")
	if res := e.controlCall(http.MethodPost, "/_emulator/sessions/"+sid2+"/revoke"); res.Event != nil || res.Webhook != "none" {
		t.Fatalf("second revoke: %+v", res)
	}
	h.none(t)

	// Remove a membership, deactivate one, delete a user.
	res = e.controlCall(http.MethodDelete, "/_emulator/organization_memberships/"+seedMembershipsAsc[0])
	var m usermanagement.OrganizationMembership
	if ev := e.event(h.next(t), EventOrganizationMembershipDeleted, &m); res.Webhook != "delivered" || ev.ID != res.Event.ID || m.ID != seedMembershipsAsc[0] {
		t.Fatalf("membership removal: %+v %+v", res, m)
	}
	res = e.controlCall(http.MethodPost, "/_emulator/organization_memberships/"+seedMembershipsAsc[1]+"/deactivate")
	if ev := e.event(h.next(t), EventOrganizationMembershipUpdated, &m); res.Webhook != "delivered" || ev.ID != res.Event.ID || m.Status != "inactive" {
		t.Fatalf("deactivation: %+v %+v", res, m)
	}
	res = e.controlCall(http.MethodDelete, "/_emulator/users/"+graceID)
	var u usermanagement.User
	if ev := e.event(h.next(t), EventUserDeleted, &u); res.Webhook != "delivered" || ev.ID != res.Event.ID || u.ID != graceID {
		t.Fatalf("user deletion: %+v %+v", res, u)
	}
	// The control answer's event is the webhook's, field for field.
	if res.Event.CreatedAt != ts(e.clock.Now()) {
		t.Fatalf("created_at %q", res.Event.CreatedAt)
	}

	// Without a webhook URL the operations still work and say so.
	e2 := newEnv(t)
	if res := e2.controlCall(http.MethodDelete, "/_emulator/users/"+graceID); res.Webhook != "disabled" || res.Event == nil {
		t.Fatalf("without webhooks: %+v", res)
	}
}

func TestWebhookOptionsValidation(t *testing.T) {
	base := Options{ClientID: "c", APIKey: "k", RedirectURIs: []string{testRedirect}, StateDir: t.TempDir()}
	for _, mod := range []func(*Options){
		func(o *Options) { o.WebhookSecret = "s" },
		func(o *Options) { o.WebhookURL = "http://127.0.0.1:9/hook" },
		func(o *Options) { o.WebhookURL, o.WebhookSecret = "/relative", "s" },
		func(o *Options) { o.WebhookURL, o.WebhookSecret = "ftp://host/x", "s" },
		func(o *Options) { o.WebhookURL, o.WebhookSecret, o.WebhookAttempts = "http://h/x", "s", -1 },
		func(o *Options) {
			o.WebhookURL, o.WebhookSecret, o.WebhookAttempts = "http://h/x", "s", MaxWebhookAttempts+1
		},
	} {
		o := base
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
	o := base
	o.WebhookURL, o.WebhookSecret = "http://127.0.0.1:9/hook", "s"
	emu, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
}

// hmacHex is HMAC-SHA256 in hex, computed here independently of Sign.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
