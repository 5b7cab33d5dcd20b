package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// maxSignAttempts bounds the kms:Sign calls of one Mint (see Mint).
const maxSignAttempts = 3

// Minter signs RFC 9068 access tokens with a KMS key. It is safe for concurrent use.
type Minter struct {
	kms    SignAPI
	keyRef string // as configured: key id, key ARN, alias name or alias ARN
	issuer string
	ttl    time.Duration
	now    func() time.Time
	onSign func(ctx context.Context, elapsed time.Duration, err error) // nil: not observed

	// hdr caches the encoded JOSE header for the kid of the key that signed last. It starts
	// empty when keyRef is an alias (the key behind it is learned from the first Sign).
	hdr atomic.Pointer[header]
}

type header struct {
	kid string
	b64 string // base64url of {"alg":"ES256","typ":"at+jwt","kid":kid}
}

func newHeader(kid string) *header {
	b, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}{Algorithm, TokenType, kid})
	return &header{kid: kid, b64: base64.RawURLEncoding.EncodeToString(b)}
}

// NewMinter returns a Minter that signs with the KMS key keyID (a key id, key ARN, alias name
// such as alias/authbridge-signing, or alias ARN) and issues tokens with the given issuer and
// lifetime (ttl ≤ 0 means DefaultTTL).
func NewMinter(api SignAPI, keyID string, issuer string, ttl time.Duration) *Minter {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	m := &Minter{kms: api, keyRef: keyID, issuer: issuer, ttl: ttl, now: time.Now}
	if kid, ok := keyIDFromRef(keyID); ok {
		m.hdr.Store(newHeader(kid))
	}
	return m
}

// WithClock replaces the clock (for tests). Call it before the Minter is shared.
func (m *Minter) WithClock(now func() time.Time) *Minter {
	m.now = now
	return m
}

// WithSignObserver calls observe after every kms:Sign call with the call's duration and error
// (the KMS latency metric). Call it before the Minter is shared.
func (m *Minter) WithSignObserver(observe func(ctx context.Context, elapsed time.Duration, err error)) *Minter {
	m.onSign = observe
	return m
}

// TTL returns the access-token lifetime.
func (m *Minter) TTL() time.Duration { return m.ttl }

// Mint fills iss, iat, nbf (= iat), exp (= iat + TTL) and a random 128-bit jti, signs the
// token with KMS and returns the compact JWT and the final claims. The caller sets Subject,
// Audience and ClientID (all required) and Scope, Email, OrgID, SessionID, FamilyID; whatever it puts in
// the other fields is overwritten.
//
// The header's kid must name the key that really signed, but when the Minter is configured
// with an alias it cannot know that key before signing: the alias may have been moved to a
// new key (rotation), and after a cold start nothing is known yet. The kid is part of the
// signed input, so Mint signs with the kid it last saw, reads the ARN of the key that actually
// signed from the Sign response, and if its key id differs it remembers the new kid and signs
// once more with the corrected header. Steady state is one Sign per token; the second call
// happens once per cold start and once per alias move. If the key keeps changing between calls
// (at most maxSignAttempts), Mint fails rather than emit a header that names the wrong key.
func (m *Minter) Mint(ctx context.Context, c AccessClaims) (string, AccessClaims, error) {
	now := m.now()
	return m.mint(ctx, c, now, now.Add(m.ttl))
}

// MintUntil is Mint with the expiry given instead of derived from the TTL: the front door's
// upstream assertion expires with the client token it stands for (docs/front-door.md). An exp
// that is not after now is refused with an error wrapping ErrExpired, without calling KMS:
// a token is never minted already expired.
func (m *Minter) MintUntil(ctx context.Context, c AccessClaims, exp time.Time) (string, AccessClaims, error) {
	now := m.now()
	if exp.Unix() <= now.Unix() {
		return "", AccessClaims{}, fmt.Errorf("%w: mint: exp %d is not after now", ErrExpired, exp.Unix())
	}
	return m.mint(ctx, c, now, exp)
}

func (m *Minter) mint(ctx context.Context, c AccessClaims, now, exp time.Time) (string, AccessClaims, error) {
	if c.Subject == "" || c.Audience == "" || c.ClientID == "" {
		return "", AccessClaims{}, errors.New("tokens: mint: subject, audience and client_id are required")
	}
	if m.issuer == "" {
		return "", AccessClaims{}, errors.New("tokens: mint: issuer not configured")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", AccessClaims{}, fmt.Errorf("tokens: mint: jti: %w", err)
	}
	c.Issuer = m.issuer
	c.IssuedAt = now.Unix()
	c.NotBefore = c.IssuedAt
	c.ExpiresAt = exp.Unix()
	c.JTI = base64.RawURLEncoding.EncodeToString(jti)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("tokens: mint: encode claims: %w", err)
	}
	p64 := base64.RawURLEncoding.EncodeToString(payload)

	h := m.hdr.Load()
	if h == nil {
		h = newHeader("") // alias, first signature since start: the kid is learned below
	}
	for range maxSignAttempts {
		input := h.b64 + "." + p64
		digest := sha256.Sum256([]byte(input))
		start := time.Now()
		out, err := m.kms.Sign(ctx, &kms.SignInput{
			KeyId:            aws.String(m.keyRef),
			Message:          digest[:],
			MessageType:      kmstypes.MessageTypeDigest,
			SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256,
		})
		if m.onSign != nil {
			m.onSign(ctx, time.Since(start), err)
		}
		if err != nil {
			return "", AccessClaims{}, fmt.Errorf("tokens: mint: kms Sign: %w", err)
		}
		if out.SigningAlgorithm != "" && out.SigningAlgorithm != kmstypes.SigningAlgorithmSpecEcdsaSha256 {
			return "", AccessClaims{}, fmt.Errorf("tokens: mint: kms signed with %s", out.SigningAlgorithm)
		}
		signer, ok := keyIDFromRef(aws.ToString(out.KeyId))
		if !ok {
			return "", AccessClaims{}, fmt.Errorf("tokens: mint: kms Sign returned no key id (%q)", aws.ToString(out.KeyId))
		}
		if signer != h.kid {
			h = newHeader(signer) // rotated or first use: sign again under the right kid
			m.hdr.Store(h)
			continue
		}
		sig, err := derToRaw(out.Signature)
		if err != nil {
			return "", AccessClaims{}, fmt.Errorf("tokens: mint: %w", err)
		}
		return input + "." + base64.RawURLEncoding.EncodeToString(sig), c, nil
	}
	return "", AccessClaims{}, errors.New("tokens: mint: signing key changed during every attempt")
}
