package tokens

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Verifier checks access tokens against a KeySet. It never calls KMS and is safe for
// concurrent use.
type Verifier struct {
	keys   *KeySet
	issuer string
	leeway time.Duration
	now    func() time.Time
}

// NewVerifier returns a Verifier that accepts tokens signed by keys and issued by issuer,
// tolerating leeway of clock skew on exp, nbf and iat (negative means 0; capped at MaxLeeway).
func NewVerifier(keys *KeySet, issuer string, leeway time.Duration) *Verifier {
	leeway = max(0, min(leeway, MaxLeeway))
	return &Verifier{keys: keys, issuer: issuer, leeway: leeway, now: time.Now}
}

// WithClock replaces the clock (for tests). Call it before the Verifier is shared.
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	v.now = now
	return v
}

// Verify checks the compact JWT token as an access token for audience and returns its claims.
// Every failure wraps exactly one of the Err* sentinels. When aud is an array, the returned
// Audience is the requested audience.
func (v *Verifier) Verify(token string, audience string) (AccessClaims, error) {
	// Bound the work done on hostile input; an Authbridge token is well under 1 KiB.
	if token == "" {
		return AccessClaims{}, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	if len(token) > MaxTokenSize {
		return AccessClaims{}, fmt.Errorf("%w: token longer than %d bytes", ErrMalformed, MaxTokenSize)
	}
	// RFC 7515 §7.1: compact serialization is exactly three base64url parts (a JWE has five).
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s64, '.') >= 0 || h64 == "" || p64 == "" {
		return AccessClaims{}, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	// RFC 7515 §2 and §5.2 steps 1-3, 6-7: every part is base64url without padding. The token
	// is copied to bytes once and its three parts decoded into one buffer: two allocations.
	raw := []byte(token)
	signingInput := raw[:len(h64)+1+len(p64)]
	buf := make([]byte, 0, strictB64.DecodedLen(len(h64))+strictB64.DecodedLen(len(p64))+strictB64.DecodedLen(len(s64)))
	hdrJSON, buf, err := decodeB64(buf, raw[:len(h64)])
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	payload, buf, err := decodeB64(buf, signingInput[len(h64)+1:])
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, _, err := decodeB64(buf, raw[len(signingInput)+1:])
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	// RFC 7515 §5.2 step 3-4: the header is a UTF-8 JSON object.
	hdr, err := parseHeader(hdrJSON)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	// RFC 8725 §3.1: the algorithm is pinned; never taken from the token (no none, no HS256).
	if hdr.alg != Algorithm {
		return AccessClaims{}, fmt.Errorf("%w: alg %q", ErrAlgorithm, hdr.alg)
	}
	// RFC 9068 §4 and RFC 8725 §3.11: explicit typing, typ must be at+jwt (media type, so
	// case-insensitive, with or without the application/ prefix per RFC 7515 §4.1.9).
	if !strings.EqualFold(hdr.typ, TokenType) && !strings.EqualFold(hdr.typ, "application/"+TokenType) {
		return AccessClaims{}, fmt.Errorf("%w: typ %q", ErrType, hdr.typ)
	}
	// RFC 7515 §4.1.4: kid selects the key; only keys of our KeySet, never one from the token.
	pub := v.keys.key(hdr.kid)
	if pub == nil {
		return AccessClaims{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, hdr.kid)
	}
	// RFC 7518 §3.4: an ES256 signature is R‖S, exactly 64 bytes.
	if len(sig) != 64 {
		return AccessClaims{}, fmt.Errorf("%w: signature is %d bytes, want 64", ErrSignature, len(sig))
	}
	// RFC 7515 §5.2 step 8: verify over ASCII(header64 '.' payload64) before trusting claims.
	// The R‖S bytes go to VerifyASN1 as DER built on the stack: ecdsa.Verify would take them
	// as big.Int values and re-encode them to DER itself (ten allocations more).
	digest := sha256.Sum256(signingInput)
	var der [72]byte
	if !ecdsa.VerifyASN1(pub, digest[:], rawToDER(der[:0], sig)) {
		return AccessClaims{}, fmt.Errorf("%w: ES256 verification failed", ErrSignature)
	}
	// RFC 7519 §4 and §7.2 step 10: claims are a JSON object, parsed only once authenticated;
	// duplicate or mistyped claims are rejected rather than resolved.
	pc, err := parseClaims(payload)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	// RFC 9068 §2.2: sub, exp, iat, jti and client_id are required (iss and aud below).
	if missing := pc.missing(); missing != "" {
		return AccessClaims{}, fmt.Errorf("%w: claim %s missing or empty", ErrMalformed, missing)
	}
	c := pc.AccessClaims
	// RFC 7519 §4.1.1 and RFC 8725 §3.8: iss must equal our issuer byte for byte.
	if v.issuer == "" || c.Issuer != v.issuer {
		return AccessClaims{}, fmt.Errorf("%w: iss %q", ErrIssuer, c.Issuer)
	}
	// RFC 7519 §4.1.3, RFC 8725 §3.9, RFC 9068 §4: aud (string or array) must contain ours.
	if audience == "" || !containsString(pc.aud, audience) {
		return AccessClaims{}, fmt.Errorf("%w: aud %q, want %q", ErrAudience, pc.aud, audience)
	}
	c.Audience = audience
	now := v.now()
	// RFC 7519 §4.1.4: reject at or after exp (plus leeway).
	if !now.Before(time.Unix(c.ExpiresAt, 0).Add(v.leeway)) {
		return AccessClaims{}, fmt.Errorf("%w: exp %d", ErrExpired, c.ExpiresAt)
	}
	// RFC 7519 §4.1.5: reject before nbf (minus leeway), when present.
	if pc.has&hasNbf != 0 && now.Add(v.leeway).Before(time.Unix(c.NotBefore, 0)) {
		return AccessClaims{}, fmt.Errorf("%w: nbf %d", ErrNotYetValid, c.NotBefore)
	}
	// RFC 7519 §4.1.6: a token issued in the future (beyond leeway) is not valid yet either.
	if now.Add(v.leeway).Before(time.Unix(c.IssuedAt, 0)) {
		return AccessClaims{}, fmt.Errorf("%w: iat %d", ErrNotYetValid, c.IssuedAt)
	}
	return c, nil
}

// strictB64 is unpadded base64url that refuses non-zero trailing bits.
var strictB64 = base64.RawURLEncoding.Strict()

// decodeB64 decodes unpadded base64url strictly into the free capacity of buf and returns
// the decoded bytes and buf extended by them. The standard decoder silently skips CR and LF
// and, without Strict, accepts non-zero trailing bits; both would make several encodings of
// one token valid (RFC 8725 §2.6), so the alphabet is checked first.
func decodeB64(buf, src []byte) (out, grown []byte, err error) {
	for i, c := range src {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, buf, fmt.Errorf("invalid base64url character at %d", i)
		}
	}
	n := len(buf)
	grown, err = strictB64.AppendDecode(buf, src)
	if err != nil {
		return nil, buf, err
	}
	return grown[n:len(grown):len(grown)], grown, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
