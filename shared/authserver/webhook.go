package authserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/workos/workos-go/v4/pkg/events"
	"github.com/workos/workos-go/v4/pkg/webhooks"

	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/web"
)

// Webhooks configures the WorkOS webhook endpoint. An empty Secret turns webhooks off: the
// endpoint then answers 404 (the WorkOSWebhookSecretArn parameter is optional).
type Webhooks struct {
	// Secret is the endpoint's signing secret from the WorkOS dashboard. Never logged.
	Secret string
	// Tolerance is the replay window: a signature older than this is refused. Zero means
	// WebhookTolerance.
	Tolerance time.Duration
}

// WebhookTolerance is WorkOS's own default replay window (workos-go webhooks.NewClient,
// "Validate the requests" in WorkOS's webhook documentation).
const WebhookTolerance = 180 * time.Second

// MaxWebhookBody bounds a webhook body. The events acted on carry one user, membership or
// session object (a few KiB); a larger body is refused before its signature is computed.
const MaxWebhookBody = 256 << 10

// webhookEventTTL is how long an acted-on event id is remembered: beyond WorkOS's retries
// of one delivery (about 3 days); a captured request cannot be replayed later anyway, its
// signature is older than the tolerance.
const webhookEventTTL = 7 * 24 * time.Hour

// The WorkOS event types acted on. workos-go's pkg/events names the first three; it has no
// constant for session.revoked.
const (
	eventUserDeleted       = events.UserDeleted
	eventMembershipDeleted = events.OrganizationMembershipDeleted
	eventMembershipUpdated = events.OrganizationMembershipUpdated
	eventSessionRevoked    = "session.revoked"
)

// webhookSignatureHeader carries "t=<unix ms>, v1=<hex HMAC-SHA256>".
const webhookSignatureHeader = "WorkOS-Signature"

// webhookHandler serves POST /api/ext/auth/workos-webhook: WorkOS's signed events cut the
// grants of a deleted user, an ended organization membership or a revoked session.
func (s *Server) webhookHandler() http.Handler {
	return s.endpoint(PathWebhook, web.Methods(http.HandlerFunc(s.webhook), http.MethodPost))
}

// webhookData is what the acted-on events' data objects share: a user (user.deleted: id),
// a membership (user_id, organization_id, status) or a session (id, user_id).
type webhookData struct {
	ID             string `json:"id"`
	UserID         string `json:"user_id"`
	OrganizationID string `json:"organization_id"`
	Status         string `json:"status"`
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.Webhooks.Secret == "" {
		s.webhookError(w, r, http.StatusNotFound, "not_found", "webhooks are not configured", "webhooks_off")
		return
	}
	body, oerr := web.ReadBody(r, MaxWebhookBody)
	if oerr != nil {
		s.webhookError(w, r, http.StatusRequestEntityTooLarge, "invalid_request", oerr.Description, "body_too_large")
		return
	}
	header := r.Header.Get(webhookSignatureHeader)
	if header == "" {
		s.webhookError(w, r, http.StatusUnauthorized, "invalid_signature", "the WorkOS-Signature header is missing", "unsigned")
		return
	}
	stamp, ok := webhookTimestamp(header)
	if !ok {
		s.webhookError(w, r, http.StatusBadRequest, "invalid_request", "the WorkOS-Signature header is malformed", "malformed_signature")
		return
	}
	tolerance := s.Webhooks.Tolerance
	if tolerance <= 0 {
		tolerance = WebhookTolerance
	}
	// workos-go accepts any future timestamp; one further ahead than the window is refused
	// too, so that no signature stays valid for longer than the tolerance.
	if stamp.Sub(s.now()) > tolerance {
		s.webhookError(w, r, http.StatusUnauthorized, "invalid_signature", "the signature's timestamp is outside the tolerance", "stale")
		return
	}
	verifier := webhooks.NewClient(s.Webhooks.Secret)
	verifier.SetNow(s.now)
	verifier.SetTolerance(tolerance)
	if _, err := verifier.ValidatePayload(header, string(body)); err != nil {
		switch {
		case errors.Is(err, webhooks.ErrInvalidTimestamp), errors.Is(err, webhooks.ErrOutsideTolerance):
			s.webhookError(w, r, http.StatusUnauthorized, "invalid_signature", "the signature's timestamp is outside the tolerance", "stale")
		case errors.Is(err, webhooks.ErrNoValidSignature):
			s.webhookError(w, r, http.StatusUnauthorized, "invalid_signature", "the signature does not match", "bad_signature")
		default:
			s.webhookError(w, r, http.StatusBadRequest, "invalid_request", "the WorkOS-Signature header is malformed", "malformed_signature")
		}
		return
	}

	var ev events.Event
	var data webhookData
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Event == "" || len(ev.ID) > 512 {
		s.webhookError(w, r, http.StatusBadRequest, "invalid_request", "the body is not a WorkOS event", "malformed_event")
		return
	}
	switch ev.Event {
	case eventUserDeleted, eventMembershipDeleted, eventMembershipUpdated, eventSessionRevoked:
	default:
		// Unknown events get 200 and change nothing: WorkOS retries any other answer, and a
		// type Authbridge does not act on will never succeed later.
		s.log().InfoContext(ctx, "webhook event ignored", "outcome", "ignored", "event", ev.Event, "event_id", ev.ID)
		web.JSON(w, http.StatusOK, map[string]any{"status": "ignored"})
		return
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		s.webhookError(w, r, http.StatusBadRequest, "invalid_request", "the event's data is malformed", "malformed_event")
		return
	}
	filter, match, act := webhookTarget(ev.Event, data)
	if !act {
		// organization_membership.updated to a status other than inactive: nothing to cut.
		s.log().InfoContext(ctx, "webhook event ignored", "outcome", "ignored", "event", ev.Event, "event_id", ev.ID)
		web.JSON(w, http.StatusOK, map[string]any{"status": "ignored"})
		return
	}
	if filter.UserID == "" || len(filter.UserID) > 512 {
		s.webhookError(w, r, http.StatusBadRequest, "invalid_request", "the event names no user", "malformed_event")
		return
	}

	// Acted on once: a redelivery or a replay of the same event id changes nothing more (a
	// person who signed in again after the event keeps that new grant).
	switch err := s.Store.ClaimWebhookEvent(ctx, ev.ID, s.now().Add(webhookEventTTL)); {
	case errors.Is(err, store.ErrExists):
		s.log().InfoContext(ctx, "webhook event already processed", "outcome", "duplicate", "event", ev.Event, "event_id", ev.ID)
		web.JSON(w, http.StatusOK, map[string]any{"status": "duplicate"})
		return
	case err != nil:
		s.webhookUnavailable(w, r, err)
		return
	}
	revoked, err := s.revokeMatching(r, filter, match)
	s.Metrics.Add(ctx, obs.GrantsRevoked, revoked, obs.Cause(obs.CauseWebhook))
	if err != nil {
		// WorkOS retries a 5xx; the claim goes so that the retry acts again (revoking is
		// idempotent).
		if rerr := s.Store.ReleaseWebhookEvent(ctx, ev.ID); rerr != nil {
			s.log().ErrorContext(ctx, "webhook event claim not released", "error", rerr.Error(), "event_id", ev.ID)
		}
		s.webhookUnavailable(w, r, err)
		return
	}
	s.log().InfoContext(ctx, "webhook event processed", "outcome", "processed", "event", ev.Event, "event_id", ev.ID, "revoked", revoked)
	web.JSON(w, http.StatusOK, map[string]any{"status": "processed", "revoked": revoked})
}

// webhookTarget maps an event to the person whose families it cuts and which of them; act
// is false when the event cuts nothing.
func webhookTarget(event string, d webhookData) (filter store.GrantFilter, match func(store.Family) bool, act bool) {
	all := func(store.Family) bool { return true }
	switch event {
	case eventUserDeleted:
		return store.GrantFilter{UserID: d.ID}, all, true
	case eventMembershipDeleted:
		org := d.OrganizationID
		return store.GrantFilter{UserID: d.UserID}, func(f store.Family) bool { return org != "" && f.OrgID == org }, true
	case eventMembershipUpdated:
		org := d.OrganizationID
		return store.GrantFilter{UserID: d.UserID}, func(f store.Family) bool { return org != "" && f.OrgID == org }, d.Status == "inactive"
	case eventSessionRevoked:
		sid := d.ID
		return store.GrantFilter{UserID: d.UserID}, func(f store.Family) bool { return sid != "" && f.SessionID == sid }, true
	}
	return store.GrantFilter{}, nil, false
}

// revokeMatching revokes the person's families that match and are not revoked yet, with the
// token and revocation endpoints' own call, and returns how many it revoked.
func (s *Server) revokeMatching(r *http.Request, filter store.GrantFilter, match func(store.Family) bool) (int, error) {
	fams, err := s.Store.Families(r.Context(), filter)
	if err != nil {
		return 0, err
	}
	revoked := 0
	for _, f := range fams {
		if f.Revoked || !match(f) {
			continue
		}
		if err := s.Store.RevokeFamily(r.Context(), f.ID); err != nil {
			return revoked, err
		}
		revoked++
	}
	return revoked, nil
}

// webhookTimestamp checks the header's shape before workos-go parses it (its parser slices
// the parts without checking their length) and returns the signature's time.
func webhookTimestamp(header string) (time.Time, bool) {
	t, v, ok := strings.Cut(header, ",")
	if !ok || strings.Contains(v, ",") || !strings.HasPrefix(t, "t=") || !strings.HasPrefix(v, " v1=") || len(v) == len(" v1=") {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(t[len("t="):], 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

func (s *Server) webhookError(w http.ResponseWriter, r *http.Request, status int, code, description, reason string) {
	s.log().InfoContext(r.Context(), "webhook refused", "outcome", "refused", "reason", reason)
	web.NoStore(w)
	web.JSON(w, status, map[string]string{"error": code, "error_description": description})
}

func (s *Server) webhookUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	s.log().ErrorContext(r.Context(), "webhook event not processed", "outcome", "error", "error", err.Error())
	web.NoStore(w)
	web.JSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "the event could not be processed; retry"})
}
