package authserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
)

// testWebhookSecret is the stack's WorkOS webhook signing secret (newStack).
const testWebhookSecret = "whsec_test_authbridge"

// webhookEvent is a WorkOS event body as WorkOS (and the emulator) sends it.
func webhookEvent(t *testing.T, id, kind string, data map[string]any) string {
	t.Helper()
	body, err := json.Marshal(workosemu.Event{ID: id, Event: kind, Data: data, CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func newEventID() string { return oauth.NewOpaque("event_") }

// postWebhook sends body signed at `at` with secret, as WorkOS does (the emulator's Sign).
func (s *stack) postWebhook(t *testing.T, body, secret string, at time.Time) reply {
	t.Helper()
	return do(t, http.MethodPost, s.Issuer+authserver.PathWebhook, "application/json", body,
		"WorkOS-Signature", workosemu.Sign(secret, at, []byte(body)))
}

// family issues a family (and its first refresh token) for user directly in the store, as
// the token endpoint does at code exchange.
func (s *stack) family(t *testing.T, clientID string, user store.User) string {
	t.Helper()
	id := oauth.NewOpaque("fam_")
	exp := s.clock.now().Add(time.Hour)
	err := s.Store.IssueFamily(context.Background(), store.Family{ID: id, ClientID: clientID, ExpiresAt: exp},
		oauth.HashSecret(oauth.NewOpaque(oauth.PrefixRefreshToken)), store.RefreshToken{User: user, ExpiresAt: exp, Scope: "mcp:tools", Resource: s.Issuer + "/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *stack) wantRevoked(t *testing.T, what string, want bool, families ...string) {
	t.Helper()
	for _, f := range families {
		got, err := s.Store.GrantRevoked(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: family %s revoked = %v, want %v", what, f, got, want)
		}
	}
}

func wantWebhookStatus(t *testing.T, r reply, status int, field, value string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Body, fmt.Sprintf("%q:%q", field, value)) || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("want %d with %s %q (JSON), got %d %s", status, field, value, r.Status, r.Body)
	}
}

// The people of the webhook tests: Ada in two organizations, two sessions; Grace elsewhere.
var (
	adaOrgA = store.User{ID: "user_ada", OrganizationID: "org_a", SessionID: "session_ada_1"}
	adaOrgB = store.User{ID: "user_ada", OrganizationID: "org_b", SessionID: "session_ada_2"}
	grace   = store.User{ID: "user_grace", OrganizationID: "org_a", SessionID: "session_grace"}
)

// WorkOS user.deleted: every grant of the deleted person is revoked, no one else's; the
// count goes to GrantsRevoked{Cause=webhook}.
func TestWorkOSWebhook_UserDeletedRevokesEveryGrantOfThePerson(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	metrics := &testenv.Buffer{}
	s.Server.Metrics = obs.NewMetrics(metrics, "webhook")
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	a1, a2, g := s.family(t, clientID, adaOrgA), s.family(t, clientID, adaOrgB), s.family(t, clientID, grace)

	r := s.postWebhook(t, webhookEvent(t, newEventID(), "user.deleted", map[string]any{"object": "user", "id": "user_ada"}), testWebhookSecret, s.clock.now())
	wantWebhookStatus(t, r, http.StatusOK, "status", "processed")
	if !strings.Contains(r.Body, `"revoked":2`) {
		t.Errorf("want 2 revoked, got %s", r.Body)
	}
	s.wantRevoked(t, "the deleted person's grants", true, a1, a2)
	s.wantRevoked(t, "another person's grant", false, g)
	if !strings.Contains(metrics.String(), `"GrantsRevoked":2`) || !strings.Contains(metrics.String(), `"Cause":"webhook"`) {
		t.Errorf("want GrantsRevoked 2 with Cause webhook, got %s", metrics.String())
	}
}

// WorkOS organization_membership.deleted, and .updated to status inactive: the person's
// grants in that organization are revoked, those in other organizations stay; .updated to
// any other status changes nothing.
func TestWorkOSWebhook_MembershipEndedRevokesTheGrantsInThatOrganization(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	membership := func(status string) map[string]any {
		return map[string]any{"object": "organization_membership", "id": "om_1", "user_id": "user_ada", "organization_id": "org_a", "status": status}
	}

	t.Run("deleted", func(t *testing.T) {
		a, b, g := s.family(t, clientID, adaOrgA), s.family(t, clientID, adaOrgB), s.family(t, clientID, grace)
		r := s.postWebhook(t, webhookEvent(t, newEventID(), "organization_membership.deleted", membership("active")), testWebhookSecret, s.clock.now())
		wantWebhookStatus(t, r, http.StatusOK, "status", "processed")
		s.wantRevoked(t, "grant in the organization left", true, a)
		s.wantRevoked(t, "grant in another organization, another person's grant", false, b, g)
	})
	t.Run("updated to active", func(t *testing.T) {
		a := s.family(t, clientID, adaOrgA)
		s.noWrites(t, "membership still active", func() {
			r := s.postWebhook(t, webhookEvent(t, newEventID(), "organization_membership.updated", membership("active")), testWebhookSecret, s.clock.now())
			wantWebhookStatus(t, r, http.StatusOK, "status", "ignored")
		})
		s.wantRevoked(t, "active membership", false, a)
	})
	t.Run("updated to inactive", func(t *testing.T) {
		a, b := s.family(t, clientID, adaOrgA), s.family(t, clientID, adaOrgB)
		r := s.postWebhook(t, webhookEvent(t, newEventID(), "organization_membership.updated", membership("inactive")), testWebhookSecret, s.clock.now())
		wantWebhookStatus(t, r, http.StatusOK, "status", "processed")
		s.wantRevoked(t, "grant in the deactivated membership's organization", true, a)
		s.wantRevoked(t, "grant in another organization", false, b)
	})
}

// WorkOS session.revoked: the grants signed in through that WorkOS session are revoked.
// Through the whole flow: the code exchange stores the session, and the refresh token of the
// revoked session gets invalid_grant while another sign-in's keeps working.
func TestWorkOSWebhook_SessionRevokedRevokesTheGrantsOfThatSession(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	first := str(s.tokens(t, clientID, "http://127.0.0.1:7700/cb", ""), "refresh_token")
	second := str(s.tokens(t, clientID, "http://127.0.0.1:7701/cb", ""), "refresh_token")
	rt, err := s.Store.GetRefreshToken(context.Background(), oauth.HashSecret(first))
	if err != nil {
		t.Fatal(err)
	}
	if rt.User.SessionID == "" {
		t.Fatal("the code exchange stored no WorkOS session")
	}
	fams, err := s.Store.Families(context.Background(), store.GrantFilter{UserID: rt.User.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.ID == rt.FamilyID && f.SessionID != rt.User.SessionID {
			t.Fatalf("family session %q, want %q", f.SessionID, rt.User.SessionID)
		}
	}

	r := s.postWebhook(t, webhookEvent(t, newEventID(), "session.revoked", map[string]any{
		"object": "session", "id": rt.User.SessionID, "user_id": rt.User.ID, "status": "revoked"}), testWebhookSecret, s.clock.now())
	wantWebhookStatus(t, r, http.StatusOK, "status", "processed")
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, first)), http.StatusBadRequest, "invalid_grant")
	if r := s.postToken(t, refreshForm(clientID, second)); r.Status != http.StatusOK {
		t.Fatalf("the other session's refresh: %d %s", r.Status, r.Body)
	}
}

// Idempotence: the same event delivered again (a WorkOS retry, a replay within the
// tolerance) answers 200 and changes nothing more — a grant issued since is kept.
func TestWorkOSWebhook_SameEventTwiceChangesNothingMore(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	a := s.family(t, clientID, adaOrgA)
	body := webhookEvent(t, newEventID(), "user.deleted", map[string]any{"object": "user", "id": "user_ada"})
	wantWebhookStatus(t, s.postWebhook(t, body, testWebhookSecret, s.clock.now()), http.StatusOK, "status", "processed")
	s.wantRevoked(t, "first delivery", true, a)

	later := s.family(t, clientID, adaOrgA)
	s.noWrites(t, "the same event again", func() {
		wantWebhookStatus(t, s.postWebhook(t, body, testWebhookSecret, s.clock.now()), http.StatusOK, "status", "duplicate")
	})
	s.wantRevoked(t, "a grant issued after the event", false, later)
}

// WorkOS "Validate the requests": unsigned, forged (another secret, altered body), malformed
// and stale (older than the 180 s tolerance, or as far in the future) deliveries are refused
// with a JSON error and change nothing; the body is bounded.
func TestWorkOSWebhook_UnverifiedDeliveriesChangeNothing(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	a := s.family(t, clientID, adaOrgA)
	body := webhookEvent(t, newEventID(), "user.deleted", map[string]any{"object": "user", "id": "user_ada"})
	now := s.clock.now()
	url := s.Issuer + authserver.PathWebhook
	big := `{"id":"event_big","event":"user.deleted","data":{"id":"user_ada","pad":"` + strings.Repeat("x", authserver.MaxWebhookBody) + `"}}`
	cases := []struct {
		name   string
		send   func() reply
		status int
		code   string
	}{
		{"unsigned", func() reply { return do(t, http.MethodPost, url, "application/json", body) }, 401, "invalid_signature"},
		{"another secret", func() reply { return s.postWebhook(t, body, "whsec_forged", now) }, 401, "invalid_signature"},
		{"body altered after signing", func() reply {
			return do(t, http.MethodPost, url, "application/json", strings.Replace(body, "user_ada", "user_grace", 1),
				"WorkOS-Signature", workosemu.Sign(testWebhookSecret, now, []byte(body)))
		}, 401, "invalid_signature"},
		{"stale: signed 181 s ago", func() reply { return s.postWebhook(t, body, testWebhookSecret, now.Add(-181*time.Second)) }, 401, "invalid_signature"},
		{"signed 10 minutes ahead", func() reply { return s.postWebhook(t, body, testWebhookSecret, now.Add(10*time.Minute)) }, 401, "invalid_signature"},
		{"malformed header", func() reply {
			return do(t, http.MethodPost, url, "application/json", body, "WorkOS-Signature", "v1")
		}, 400, "invalid_request"},
		{"timestamp not a number", func() reply {
			return do(t, http.MethodPost, url, "application/json", body, "WorkOS-Signature", "t=soon, v1=00")
		}, 400, "invalid_request"},
		{"oversized", func() reply { return s.postWebhook(t, big, testWebhookSecret, now) }, 413, "invalid_request"},
	}
	for _, c := range cases {
		s.noWrites(t, c.name, func() {
			r := c.send()
			wantWebhookStatus(t, r, c.status, "error", c.code)
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", c.name, r.Header.Get("Cache-Control"))
			}
		})
	}
	s.wantRevoked(t, "after refused deliveries", false, a)
	if strings.Contains(s.Logs.String(), testWebhookSecret) {
		t.Error("the webhook secret was logged")
	}
	// The event itself was never claimed: signed properly, it is acted on.
	wantWebhookStatus(t, s.postWebhook(t, body, testWebhookSecret, now), http.StatusOK, "status", "processed")
	s.wantRevoked(t, "the genuine delivery", true, a)
}

// WorkOS retries every answer but 2xx, and an event type Authbridge does not act on will
// never succeed later: it is answered 200 with nothing changed.
func TestWorkOSWebhook_UnknownEventIs200AndChangesNothing(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	a := s.family(t, clientID, adaOrgA)
	s.noWrites(t, "unknown event", func() {
		r := s.postWebhook(t, webhookEvent(t, newEventID(), "user.updated", map[string]any{"object": "user", "id": "user_ada"}), testWebhookSecret, s.clock.now())
		wantWebhookStatus(t, r, http.StatusOK, "status", "ignored")
	})
	s.wantRevoked(t, "after an unknown event", false, a)
}

// Without a webhook secret (WorkOSWebhookSecretArn empty) the endpoint does not exist: 404,
// whatever is sent.
func TestWorkOSWebhook_OffWithoutSecretIs404(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	s.Server.Webhooks = &authserver.Webhooks{}
	s.noWrites(t, "webhooks off", func() {
		r := s.postWebhook(t, webhookEvent(t, newEventID(), "user.deleted", map[string]any{"id": "user_ada"}), "", s.clock.now())
		wantWebhookStatus(t, r, http.StatusNotFound, "error", "not_found")
	})
}

// emulatorControl calls one of the WorkOS emulator's control routes and returns how its
// webhook delivery went ("delivered" once the stack answered 2xx).
func (s *stack) emulatorControl(t *testing.T, method, path string) string {
	t.Helper()
	r := do(t, method, s.WorkOS+workosemu.ControlPrefix+path, "", "", "Authorization", "Bearer "+workosemu.DefaultAPIKey)
	if r.Status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return str(r.json(t), "webhook")
}

// End to end with WorkOS's signing: the emulator posts its signed session.revoked and
// user.deleted events to the stack, and the grants they end stop refreshing within the
// delivery, while the others keep working until their own event.
func TestWorkOSWebhook_EmulatorEventsCutAccess(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{envWebhooks: "on"})
	clientID := s.publicClient(t, "Hooked", "http://127.0.0.1/cb")
	first := str(s.tokens(t, clientID, "http://127.0.0.1:7710/cb", ""), "refresh_token")
	second := str(s.tokens(t, clientID, "http://127.0.0.1:7711/cb", ""), "refresh_token")
	rt, err := s.Store.GetRefreshToken(context.Background(), oauth.HashSecret(first))
	if err != nil {
		t.Fatal(err)
	}

	if got := s.emulatorControl(t, http.MethodPost, "sessions/"+rt.User.SessionID+"/revoke"); got != "delivered" {
		t.Fatalf("session.revoked delivery: %s", got)
	}
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, first)), http.StatusBadRequest, "invalid_grant")
	next := s.postToken(t, refreshForm(clientID, second))
	if next.Status != http.StatusOK {
		t.Fatalf("another session's refresh after session.revoked: %d %s", next.Status, next.Body)
	}

	if got := s.emulatorControl(t, http.MethodDelete, "users/"+rt.User.ID); got != "delivered" {
		t.Fatalf("user.deleted delivery: %s", got)
	}
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, str(next.json(t), "refresh_token"))), http.StatusBadRequest, "invalid_grant")
}
