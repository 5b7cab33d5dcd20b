package resourceserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authbridge/authbridge/shared/tokens"
)

const (
	// DefaultMaxAge is how long fetched keys are used before the JWKS is fetched again: the
	// max-age Authbridge's JWKS response carries. A retired key stops verifying after it.
	DefaultMaxAge = 5 * time.Minute
	// MinRefreshInterval is the least time between two JWKS fetches, whatever triggers them
	// (a token naming an unknown kid, expiry of the keys, a failed fetch): a flood of tokens
	// with made-up kids costs the JWKS endpoint one request per interval.
	MinRefreshInterval = 10 * time.Second
)

// JWKSVerifier verifies Authbridge access tokens locally with the keys of Authbridge's JWKS,
// using the authorizer's own rules (tokens.Verifier). It is safe for concurrent use.
type JWKSVerifier struct {
	cfg config
	url string
	now func() time.Time

	keys atomic.Pointer[keyState] // nil until the first successful fetch

	mu        sync.Mutex // serializes fetches; guards attempted
	attempted time.Time  // start of the last fetch, successful or not
}

type keyState struct {
	verifier *tokens.Verifier
	kids     []string
	fetched  time.Time
}

// NewJWKSVerifier returns a verifier that fetches {Issuer}/.well-known/jwks.json when it first
// needs keys (no call is made here).
func NewJWKSVerifier(cfg Config) (*JWKSVerifier, error) {
	c, err := cfg.check()
	if err != nil {
		return nil, err
	}
	return &JWKSVerifier{cfg: c, url: c.Issuer + PathJWKS, now: time.Now}, nil
}

// WithClock replaces the clock (tests). Call it before the verifier is shared.
func (v *JWKSVerifier) WithClock(now func() time.Time) *JWKSVerifier {
	v.now = now
	return v
}

// Verify checks token as an access token for the configured resource (tokens.Verifier: typ
// at+jwt, ES256, kid among the JWKS keys, signature, iss, aud, exp, nbf, iat).
func (v *JWKSVerifier) Verify(ctx context.Context, token string) (Identity, error) {
	st := v.keys.Load()
	if st == nil || v.now().Sub(st.fetched) >= DefaultMaxAge {
		fresh, err := v.refresh(ctx, st)
		switch {
		case err == nil:
			st = fresh
		case st == nil:
			return Identity{}, err // no keys at all: the token cannot be checked
		case !errors.Is(err, errRefreshTooSoon):
			// Keep the keys we have until a fetch succeeds (at most one try per
			// MinRefreshInterval): the JWKS being unreachable is no reason to refuse.
			v.cfg.Logger.WarnContext(ctx, "resourceserver: JWKS refresh failed; keeping the keys fetched before", "error", err.Error())
		}
	}
	claims, err := st.verifier.Verify(token, v.cfg.Resource)
	if errors.Is(err, tokens.ErrUnknownKey) {
		// RFC 7517 / key rotation: a new key may have been published since the last fetch.
		if fresh, rerr := v.refresh(ctx, st); rerr == nil {
			claims, err = fresh.verifier.Verify(token, v.cfg.Resource)
		}
	}
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return Identity{
		Subject: claims.Subject, Email: claims.Email, OrgID: claims.OrgID, SessionID: claims.SessionID,
		ClientID: claims.ClientID, Scopes: strings.Fields(claims.Scope), Audience: claims.Audience,
		JTI: claims.JTI, ExpiresAt: time.Unix(claims.ExpiresAt, 0),
	}, nil
}

// KeyIDs returns the kids of the keys in use (nil before the first fetch).
func (v *JWKSVerifier) KeyIDs() []string {
	if st := v.keys.Load(); st != nil {
		return append([]string(nil), st.kids...)
	}
	return nil
}

// errRefreshTooSoon: the last fetch was less than MinRefreshInterval ago.
var errRefreshTooSoon = errors.New("resourceserver: JWKS fetched less than a refresh interval ago")

// refresh fetches the JWKS unless another caller replaced seen meanwhile (then it returns
// that) or the last fetch started less than MinRefreshInterval ago.
func (v *JWKSVerifier) refresh(ctx context.Context, seen *keyState) (*keyState, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if cur := v.keys.Load(); cur != seen {
		return cur, nil
	}
	now := v.now()
	if !v.attempted.IsZero() && now.Sub(v.attempted) < MinRefreshInterval {
		if seen == nil {
			return nil, fmt.Errorf("resourceserver: no JWKS keys yet (%w)", errRefreshTooSoon)
		}
		return nil, errRefreshTooSoon
	}
	v.attempted = now
	ks, err := v.fetch(ctx)
	if err != nil {
		return nil, err
	}
	st := &keyState{verifier: tokens.NewVerifier(ks, v.cfg.Issuer, v.cfg.Leeway).WithClock(v.now), kids: ks.KeyIDs(), fetched: now}
	v.keys.Store(st)
	v.cfg.Logger.InfoContext(ctx, "resourceserver: JWKS fetched", "url", v.url, "kids", st.kids)
	return st, nil
}

// fetch GETs the JWKS: status 200, at most MaxResponseBytes, within Timeout.
func (v *JWKSVerifier) fetch(ctx context.Context) (*tokens.KeySet, error) {
	// The fetch serves every waiting request: it is bounded by Timeout, not by the context of
	// the request that happened to start it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.Timeout)
	defer cancel()
	body, err := get(ctx, v.cfg.HTTPClient, v.url)
	if err != nil {
		return nil, err
	}
	ks, err := tokens.ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("resourceserver: %s: %w", v.url, err)
	}
	return ks, nil
}

func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("resourceserver: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("resourceserver: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("resourceserver: GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("resourceserver: GET %s: status %d", url, resp.StatusCode)
	}
	return body, nil
}

// readBounded reads a response body of at most MaxResponseBytes.
func readBounded(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", MaxResponseBytes)
	}
	return body, nil
}
