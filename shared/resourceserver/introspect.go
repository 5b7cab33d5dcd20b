package resourceserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/tokens"
)

// IntrospectionVerifier asks Authbridge's introspection endpoint (RFC 7662) about every token,
// authenticating with the resource server's own client credentials. A revoked grant is
// refused at once, at the price of one call per request. It is safe for concurrent use.
type IntrospectionVerifier struct {
	cfg          config
	endpoint     string
	clientID     string
	clientSecret string
	now          func() time.Time
}

// NewIntrospectionVerifier returns a verifier that POSTs each token to
// {Issuer}/api/ext/auth/introspect with HTTP Basic clientID and clientSecret (the
// credentials Authbridge issued to this resource server).
func NewIntrospectionVerifier(cfg Config, clientID, clientSecret string) (*IntrospectionVerifier, error) {
	c, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("resourceserver: introspection needs a client id and a client secret")
	}
	return &IntrospectionVerifier{cfg: c, endpoint: c.Issuer + PathIntrospect, clientID: clientID, clientSecret: clientSecret, now: time.Now}, nil
}

// WithClock replaces the clock (tests). Call it before the verifier is shared.
func (v *IntrospectionVerifier) WithClock(now func() time.Time) *IntrospectionVerifier {
	v.now = now
	return v
}

// introspection is the part of an RFC 7662 §2.2 response this package reads.
type introspection struct {
	Active    json.RawMessage `json:"active"`
	Scope     string          `json:"scope"`
	ClientID  string          `json:"client_id"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Issuer    *string         `json:"iss"`
	ExpiresAt json.Number     `json:"exp"`
	NotBefore json.Number     `json:"nbf"`
	JTI       string          `json:"jti"`
	Email     string          `json:"email"`
	OrgID     string          `json:"org_id"`
	SessionID string          `json:"sid"`
}

// Verify asks the introspection endpoint about token and accepts it only when the answer is
// active and names this resource, this issuer and a future exp.
func (v *IntrospectionVerifier) Verify(ctx context.Context, token string) (Identity, error) {
	if token == "" || len(token) > tokens.MaxTokenSize {
		return Identity{}, refused("token empty or longer than %d bytes", tokens.MaxTokenSize)
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	// RFC 7662 §2.1: POST, form-encoded token (and hint), client authentication.
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, fmt.Errorf("resourceserver: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
	req.SetBasicAuth(url.QueryEscape(v.clientID), url.QueryEscape(v.clientSecret))
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("resourceserver: POST %s: %w", v.endpoint, err)
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body)
	if err != nil {
		return Identity{}, fmt.Errorf("resourceserver: POST %s: %w", v.endpoint, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// RFC 7662 §2.3: our own credentials were refused; that says nothing about the token.
		return Identity{}, fmt.Errorf("resourceserver: POST %s: status %d: the introspection credentials were refused", v.endpoint, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return Identity{}, fmt.Errorf("resourceserver: POST %s: status %d", v.endpoint, resp.StatusCode)
	}
	var in introspection
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return Identity{}, fmt.Errorf("resourceserver: POST %s: response is not an RFC 7662 JSON object: %w", v.endpoint, err)
	}
	return v.check(in)
}

// check applies RFC 7662 §2.2 and the resource's own rules to an introspection response.
func (v *IntrospectionVerifier) check(in introspection) (Identity, error) {
	// RFC 7662 §2.2: active is REQUIRED, a boolean; anything but true is an inactive token.
	if string(in.Active) != "true" {
		return Identity{}, refused("introspection: active is %s", orNull(in.Active))
	}
	// RFC 7662 §4 and RFC 8707: accept only tokens meant for this resource from this issuer.
	aud, ok := audience(in.Audience)
	if !ok || !slices.Contains(aud, v.cfg.Resource) {
		return Identity{}, refused("introspection: aud %s, want %q", orNull(in.Audience), v.cfg.Resource)
	}
	if in.Issuer != nil && *in.Issuer != v.cfg.Issuer {
		return Identity{}, refused("introspection: iss %q, want %q", *in.Issuer, v.cfg.Issuer)
	}
	if in.Subject == "" {
		return Identity{}, refused("introspection: no sub")
	}
	now := v.now()
	exp, ok := numericDate(in.ExpiresAt)
	// RFC 7519 §4.1.4: not at or after exp (plus leeway), even if the server says active.
	if !ok || !now.Before(exp.Add(v.cfg.Leeway)) {
		return Identity{}, refused("introspection: exp %q missing or past", in.ExpiresAt)
	}
	// RFC 7519 §4.1.5: not before nbf (minus leeway), when given.
	if nbf, ok := numericDate(in.NotBefore); in.NotBefore != "" && (!ok || now.Add(v.cfg.Leeway).Before(nbf)) {
		return Identity{}, refused("introspection: nbf %q in the future", in.NotBefore)
	}
	scopes, ok := oauth.ParseScope(in.Scope)
	if !ok {
		return Identity{}, refused("introspection: scope is not a list of scope tokens")
	}
	return Identity{
		Subject: in.Subject, Email: in.Email, OrgID: in.OrgID, SessionID: in.SessionID,
		ClientID: in.ClientID, Scopes: scopes, Audience: v.cfg.Resource, JTI: in.JTI, ExpiresAt: exp,
	}, nil
}

// audience reads aud: RFC 7662 §2.2 (RFC 7519 §4.1.3), a string or an array of strings.
func audience(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many, true
	}
	return nil, false
}

// numericDate reads an RFC 7519 NumericDate: seconds since the epoch, possibly fractional.
func numericDate(n json.Number) (time.Time, bool) {
	if n == "" {
		return time.Time{}, false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil && i >= 0 && i < 1e15 {
		return time.Unix(i, 0), true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f < 0 || f >= 1e15 || math.IsNaN(f) {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func orNull(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "absent"
	}
	if len(raw) > 100 {
		return string(raw[:100]) + "…"
	}
	return string(raw)
}
