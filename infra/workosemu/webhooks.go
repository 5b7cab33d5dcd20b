package workosemu

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Event types the emulator sends, named as in workos-go's pkg/events.
const (
	EventUserDeleted                   = "user.deleted"
	EventOrganizationMembershipDeleted = "organization_membership.deleted"
	EventOrganizationMembershipUpdated = "organization_membership.updated"
	EventSessionRevoked                = "session.revoked"
)

// SignatureHeader is the header WorkOS puts the webhook signature in.
const SignatureHeader = "WorkOS-Signature"

// Webhook delivery defaults.
const (
	DefaultWebhookAttempts = 3
	MaxWebhookAttempts     = 10
	DefaultWebhookBackoff  = 500 * time.Millisecond
	webhookQueue           = 1024
	webhookTimeout         = 5 * time.Second
)

// Event is a webhook body: what workos-go's events.Event decodes (id, event, data, created_at).
type Event struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Data      any    `json:"data"`
	CreatedAt string `json:"created_at"`
}

// sessionJSON is WorkOS's session object, as session.* events carry it.
type sessionJSON struct {
	Object         string  `json:"object"`
	ID             string  `json:"id"`
	UserID         string  `json:"user_id"`
	OrganizationID *string `json:"organization_id"`
	Status         string  `json:"status"`
	AuthMethod     string  `json:"auth_method"`
	IPAddress      *string `json:"ip_address"`
	UserAgent      *string `json:"user_agent"`
	ExpiresAt      string  `json:"expires_at"`
	EndedAt        *string `json:"ended_at"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

func sessionView(s *session) sessionJSON {
	status := "active"
	if s.Ended {
		status = "revoked"
	}
	return sessionJSON{
		Object: "session", ID: s.ID, UserID: s.UserID, OrganizationID: nullableString(s.OrgID),
		Status: status, AuthMethod: sessionAuthMethod(s.AuthMethod),
		IPAddress: nullableString(s.IPAddress), UserAgent: nullableString(s.UserAgent),
		ExpiresAt: ts(s.ExpiresAt), EndedAt: nullableTime(s.EndedAt),
		CreatedAt: ts(s.CreatedAt), UpdatedAt: ts(s.UpdatedAt),
	}
}

// sessionAuthMethod maps the authenticate response's method ("SSO", "Password", …) to the
// snake_case enum of the session object ("sso", "password", …).
func sessionAuthMethod(m string) string {
	switch m {
	case "SSO":
		return "sso"
	case "Password":
		return "password"
	case "MagicAuth":
		return "magic_code"
	case "GoogleOAuth":
		return "google_oauth"
	case "GitHubOAuth":
		return "github_oauth"
	case "MicrosoftOAuth":
		return "microsoft_oauth"
	case "Passkey":
		return "passkey"
	case "Impersonation":
		return "impersonation"
	}
	return "unknown"
}

// Sign returns the WorkOS-Signature value for body sent at t: "t=<unix ms>, v1=<hex
// HMAC-SHA256(secret, "<unix ms>.<body>")>". workos-go's webhooks.ValidatePayload splits the
// value on "," and skips "t=" and " v1=", so the space after the comma is part of the format.
func Sign(secret string, t time.Time, body []byte) string {
	stamp := strconv.FormatInt(t.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + stamp + ", v1=" + hex.EncodeToString(mac.Sum(nil))
}

// delivery is one queued event and the channel closed once its last attempt is over.
type delivery struct {
	event Event
	body  []byte
	done  chan struct{}
	ok    bool
}

// webhookSender posts events, one at a time and in the order they were queued, to one URL.
type webhookSender struct {
	url      string
	secret   string
	client   *http.Client
	attempts int
	backoff  time.Duration
	now      func() time.Time
	log      func(msg string, args ...any)

	queue chan *delivery
	stop  chan struct{}
	wg    sync.WaitGroup
}

func (ws *webhookSender) run() {
	defer ws.wg.Done()
	for {
		select {
		case d := <-ws.queue:
			d.ok = ws.deliver(d)
			close(d.done)
		case <-ws.stop:
			// Whatever is still queued is dropped; unblock anyone waiting on it.
			for {
				select {
				case d := <-ws.queue:
					close(d.done)
				default:
					return
				}
			}
		}
	}
}

// deliver makes up to ws.attempts POSTs, signing each at its own send time, until one gets a
// 2xx answer. There is no retry after the last attempt.
func (ws *webhookSender) deliver(d *delivery) bool {
	for attempt := 1; attempt <= ws.attempts; attempt++ {
		if attempt > 1 {
			select {
			case <-time.After(ws.backoff << (attempt - 2)):
			case <-ws.stop:
				return false
			}
		}
		status, err := ws.post(d.body)
		if err == nil && status >= 200 && status < 300 {
			return true
		}
		args := []any{"event", d.event.Event, "event_id", d.event.ID, "attempt", attempt}
		if err != nil {
			args = append(args, "error", err.Error())
		} else {
			args = append(args, "status", status)
		}
		ws.log("workosemu: webhook delivery failed", args...)
	}
	return false
}

func (ws *webhookSender) post(body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), webhookTimeout)
	defer cancel()
	go func() {
		select {
		case <-ws.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ws.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	// Stored as is (not canonicalized to "Workos-Signature") so the wire spelling is WorkOS's.
	req.Header[SignatureHeader] = []string{Sign(ws.secret, ws.now(), body)}
	res, err := ws.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}

// emit builds an event and queues it for delivery. It returns the event and a channel closed
// when delivery is over (nil when no webhook is configured). Caller holds e.mu, so events are
// queued in the order the state changed.
func (e *Emulator) emit(kind string, data any, now time.Time) (Event, *delivery) {
	ev := Event{ID: "event_" + newULID(now), Event: kind, Data: data, CreatedAt: ts(now)}
	if e.webhook == nil || e.closed {
		return ev, nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		e.logger.Error("workosemu: encode webhook event", "event", kind, "error", err.Error())
		return ev, nil
	}
	d := &delivery{event: ev, body: body, done: make(chan struct{})}
	select {
	case e.webhook.queue <- d:
		return ev, d
	default:
		e.logger.Error("workosemu: webhook queue full; event dropped", "event", kind, "event_id", ev.ID)
		return ev, nil
	}
}

// Close stops webhook delivery (events still queued are dropped) and waits for the sender to
// finish. The Emulator keeps serving requests afterwards, without webhooks.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed || e.webhook == nil {
		e.closed = true
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	close(e.webhook.stop)
	e.webhook.wg.Wait()
	return nil
}
