// Package workosemu is a local stand-in for the parts of the WorkOS API (User Management /
// AuthKit) that Authbridge calls through github.com/workos/workos-go/v4. It speaks the wire
// format that SDK version sends and decodes (docs/workos-emulator.md): the hosted
// authorize page, the authenticate endpoint, JWKS, users, organization memberships,
// organizations and sessions. All state except the signing key lives in memory.
package workosemu

import (
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// Defaults used by the emulator binary and the local configuration.
const (
	DefaultClientID = "client_local_authbridge"
	DefaultAPIKey   = "sk_test_local_authbridge"
)

// Lifetimes, as WorkOS documents them.
const (
	CodeTTL        = 10 * time.Minute
	AccessTokenTTL = 5 * time.Minute
	// SessionTTL bounds a session: its refresh tokens stop working after it.
	SessionTTL = 30 * 24 * time.Hour
)

// maxBody caps every request body.
const maxBody = 64 << 10

// Options configure an Emulator. ClientID, APIKey, RedirectURIs and StateDir are required.
type Options struct {
	// ClientID is the only client id accepted on authorize and authenticate, and the one
	// served at /sso/jwks/{clientId}.
	ClientID string
	// APIKey is the secret: `client_secret` on authenticate, `Authorization: Bearer` elsewhere.
	APIKey string
	// RedirectURIs is the exact-match allowlist for authorize's redirect_uri.
	RedirectURIs []string
	// ReturnToURIs is the exact-match allowlist for logout's return_to. Empty means RedirectURIs.
	ReturnToURIs []string
	// Seed is the starting data (see LoadSeed).
	Seed Seed
	// StateDir holds signing-key.pem, created on first use and reused afterwards so that
	// tokens and JWKS agree across restarts.
	StateDir string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Issuer is the access token's `iss`. Empty means "<scheme>://<request host>/user_management/<ClientID>",
	// i.e. derived from the address the caller used to reach the emulator.
	Issuer string
	// Logger receives internal errors (never secrets). Nil discards them.
	Logger *slog.Logger

	// WebhookURL, when set, receives signed events (user.deleted, organization_membership.deleted
	// and .updated, session.revoked) as WorkOS sends them. WebhookSecret is then required.
	WebhookURL    string
	WebhookSecret string
	// WebhookAttempts bounds the POSTs per event (first try included); 0 means
	// DefaultWebhookAttempts, 1 means no retry.
	WebhookAttempts int
	// WebhookBackoff is the wait before the first retry, doubled for each later one; 0 means
	// DefaultWebhookBackoff.
	WebhookBackoff time.Duration
	// WebhookClient sends the POSTs. Nil means a client with a 5-second timeout.
	WebhookClient *http.Client
}

// Emulator is an http.Handler that emulates the WorkOS API. It is safe for concurrent use.
type Emulator struct {
	clientID     string
	apiKey       string
	redirectURIs map[string]bool
	returnTo     map[string]bool
	issuer       string
	now          func() time.Time
	logger       *slog.Logger
	key          *rsa.PrivateKey
	kid          string
	jwks         []byte

	webhook *webhookSender // nil without a webhook URL

	mu     sync.Mutex
	st     *state
	closed bool // Close was called: no more webhooks
}

// New validates the options, loads or creates the signing key and builds the in-memory state.
func New(opts Options) (*Emulator, error) {
	if opts.ClientID == "" {
		return nil, errors.New("workosemu: ClientID is required")
	}
	if opts.APIKey == "" {
		return nil, errors.New("workosemu: APIKey is required")
	}
	if opts.StateDir == "" {
		return nil, errors.New("workosemu: StateDir is required")
	}
	if len(opts.RedirectURIs) == 0 {
		return nil, errors.New("workosemu: at least one redirect URI is required")
	}
	redirects, err := uriSet(opts.RedirectURIs)
	if err != nil {
		return nil, err
	}
	returnTo := redirects
	if len(opts.ReturnToURIs) > 0 {
		if returnTo, err = uriSet(opts.ReturnToURIs); err != nil {
			return nil, err
		}
	}
	if err := checkWebhookOptions(opts); err != nil {
		return nil, err
	}
	st, err := buildState(opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("workosemu: seed: %w", err)
	}
	key, err := loadOrCreateKey(opts.StateDir)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	kid := thumbprint(&key.PublicKey)
	e := &Emulator{
		clientID:     opts.ClientID,
		apiKey:       opts.APIKey,
		redirectURIs: redirects,
		returnTo:     returnTo,
		issuer:       opts.Issuer,
		now:          func() time.Time { return now().UTC() },
		logger:       logger,
		key:          key,
		kid:          kid,
		jwks:         jwksDocument(&key.PublicKey, kid),
		st:           st,
	}
	if opts.WebhookURL != "" {
		e.webhook = newWebhookSender(opts, e.now, logger)
		e.webhook.wg.Add(1)
		go e.webhook.run()
	}
	return e, nil
}

func checkWebhookOptions(opts Options) error {
	if opts.WebhookURL == "" {
		if opts.WebhookSecret != "" {
			return errors.New("workosemu: WebhookSecret without WebhookURL")
		}
		return nil
	}
	u, err := url.Parse(opts.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("workosemu: webhook URL %q is not an absolute http(s) URL", opts.WebhookURL)
	}
	if opts.WebhookSecret == "" {
		return errors.New("workosemu: WebhookSecret is required with WebhookURL")
	}
	if opts.WebhookAttempts < 0 || opts.WebhookAttempts > MaxWebhookAttempts || opts.WebhookBackoff < 0 {
		return fmt.Errorf("workosemu: WebhookAttempts must be 0 to %d and WebhookBackoff not negative", MaxWebhookAttempts)
	}
	return nil
}

func newWebhookSender(opts Options, now func() time.Time, logger *slog.Logger) *webhookSender {
	ws := &webhookSender{
		url: opts.WebhookURL, secret: opts.WebhookSecret, client: opts.WebhookClient,
		attempts: opts.WebhookAttempts, backoff: opts.WebhookBackoff, now: now,
		log:   logger.Warn,
		queue: make(chan *delivery, webhookQueue), stop: make(chan struct{}),
	}
	if ws.client == nil {
		ws.client = &http.Client{Timeout: webhookTimeout}
	}
	if ws.attempts == 0 {
		ws.attempts = DefaultWebhookAttempts
	}
	if ws.backoff == 0 {
		ws.backoff = DefaultWebhookBackoff
	}
	return ws
}

// KeyID is the `kid` of the signing key (its RFC 7638 thumbprint).
func (e *Emulator) KeyID() string { return e.kid }

// PublicKey is the key that verifies access tokens.
func (e *Emulator) PublicKey() *rsa.PublicKey { return &e.key.PublicKey }

func uriSet(list []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, raw := range list {
		u, err := url.Parse(raw)
		web := u != nil && (u.Scheme == "http" || u.Scheme == "https")
		if err != nil || !u.IsAbs() || web && u.Host == "" || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n") {
			return nil, fmt.Errorf("workosemu: %q is not an absolute URI without a fragment", raw)
		}
		set[raw] = true
	}
	return set, nil
}

// ServeHTTP routes a request. Paths must be clean: the SDK concatenates its Endpoint as is, so
// "//user_management/…" (an Endpoint with a trailing slash) is a 404 here as it would be upstream.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			e.logger.Error("workosemu: internal error", "path", r.URL.Path, "error", fmt.Sprint(v))
			apiError(w, http.StatusInternalServerError, "server_error", "Internal server error")
		}
	}()
	w.Header().Set("X-Request-ID", newULID(e.now()))

	p := r.URL.Path
	if p == "" || p != path.Clean(p) {
		notFound(w)
		return
	}
	switch {
	case p == "/user_management/authorize":
		if allow(w, r, http.MethodGet) {
			e.authorizePage(w, r)
		}
	case p == authorizeCompletePath:
		if allow(w, r, http.MethodPost) {
			e.authorizeComplete(w, r)
		}
	case p == "/user_management/authenticate":
		if allow(w, r, http.MethodPost) {
			e.authenticate(w, r)
		}
	case p == "/user_management/sessions/logout":
		if allow(w, r, http.MethodGet) {
			e.logout(w, r)
		}
	case strings.HasPrefix(p, "/sso/jwks/"):
		if allow(w, r, http.MethodGet) {
			e.jwksHandler(w, strings.TrimPrefix(p, "/sso/jwks/"))
		}
	case p == "/user_management/sessions/revoke":
		if allow(w, r, http.MethodPost) && e.bearer(w, r) {
			e.revokeSession(w, r)
		}
	case p == "/user_management/organization_memberships":
		if allow(w, r, http.MethodGet) && e.bearer(w, r) {
			e.listMemberships(w, r)
		}
	case strings.HasPrefix(p, "/user_management/organization_memberships/"):
		rest := strings.TrimPrefix(p, "/user_management/organization_memberships/")
		if id, action, ok := strings.Cut(rest, "/"); ok {
			status := map[string]string{"deactivate": "inactive", "reactivate": "active"}[action]
			if status == "" || strings.Contains(action, "/") {
				notFound(w)
			} else if allow(w, r, http.MethodPut) && e.bearer(w, r) {
				e.membershipStatusHandler(w, id, status)
			}
			return
		}
		switch m := allowed(w, r, http.MethodGet, http.MethodDelete); {
		case m == "" || !e.bearer(w, r):
		case m == http.MethodGet:
			e.getMembership(w, rest)
		default:
			e.deleteMembershipHandler(w, rest)
		}
	case strings.HasPrefix(p, "/user_management/users/"):
		id := strings.TrimPrefix(p, "/user_management/users/")
		switch m := allowed(w, r, http.MethodGet, http.MethodDelete); {
		case m == "" || !e.bearer(w, r):
		case m == http.MethodGet:
			e.getUser(w, id)
		default:
			e.deleteUserHandler(w, id)
		}
	case strings.HasPrefix(p, ControlPrefix):
		e.control(w, r)
	case strings.HasPrefix(p, "/organizations/"):
		if allow(w, r, http.MethodGet) && e.bearer(w, r) {
			e.getOrganization(w, strings.TrimPrefix(p, "/organizations/"))
		}
	default:
		notFound(w)
	}
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed")
	return false
}

// allowed returns r.Method when it is one of methods; otherwise it answers 405 and returns "".
func allowed(w http.ResponseWriter, r *http.Request, methods ...string) string {
	for _, m := range methods {
		if r.Method == m {
			return m
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed")
	return ""
}

// bearer checks `Authorization: Bearer <API key>` in constant time.
func (e *Emulator) bearer(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") && secretEqual(strings.TrimSpace(token), e.apiKey) {
		return true
	}
	apiError(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
	return false
}

func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"Internal server error","code":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiError is the error shape of WorkOS's bearer-authenticated API: {"message","code"}.
func apiError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"message": message, "code": code})
}

// oauthError is the error shape of /user_management/authenticate: {"error","error_description"}.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func notFound(w http.ResponseWriter) {
	apiError(w, http.StatusNotFound, "not_found", "Not found")
}

// LogRequests wraps h and logs one line per request: method, path (never the query, which can
// carry codes, state and session ids), status, size, duration and remote address.
func LogRequests(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		p := r.URL.Path
		if len(p) > 200 {
			p = p[:200] + "…"
		}
		logger.Info("request", "method", r.Method, "path", p, "status", rec.status,
			"bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}
