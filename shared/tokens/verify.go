package tokens

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// Verifier checks access tokens against a KeySet. It never calls KMS and is safe for
// concurrent use.
type Verifier struct {
	keys   *KeySet
	issuer string
	leeway time.Duration
	now    func() time.Time
	// headers are the encoded JOSE headers the Minter writes for the keys of the set, each
	// with what parsing it gives: a token carrying one byte for byte needs no decoding or
	// parsing of its header (it cannot read differently).
	headers []knownHeader
}

type knownHeader struct {
	b64 string
	hdr joseHeader
}

// NewVerifier returns a Verifier that accepts tokens signed by keys and issued by issuer,
// tolerating leeway of clock skew on exp, nbf and iat (negative means 0; capped at MaxLeeway).
func NewVerifier(keys *KeySet, issuer string, leeway time.Duration) *Verifier {
	leeway = max(0, min(leeway, MaxLeeway))
	v := &Verifier{keys: keys, issuer: issuer, leeway: leeway, now: time.Now}
	for _, kid := range keys.KeyIDs() {
		b64 := newHeader(kid).b64
		// What the general path reads from it, so that both paths agree by construction.
		buf := make([]byte, strictB64.DecodedLen(len(b64)))
		if n, err := decodeB64(buf, b64); err == nil {
			if hdr, err := parseHeaderText(string(buf[:n])); err == nil {
				v.headers = append(v.headers, knownHeader{b64: b64, hdr: hdr})
			}
		}
	}
	return v
}

// knownHeader returns the parsed header when h64 is one the Minter writes for our keys.
func (v *Verifier) knownHeader(h64 string) (joseHeader, bool) {
	for _, k := range v.headers {
		if k.b64 == h64 {
			return k.hdr, true
		}
	}
	return joseHeader{}, false
}

// WithClock replaces the clock (for tests). Call it before the Verifier is shared.
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	v.now = now
	return v
}

// Digests are a token's two SHA-256 digests, split at its last '.': of the signing input
// (ASCII(header64 '.' payload64), what ES256 verifies, RFC 7515 §5.2 step 8) and of the
// encoded signature. Together they identify the token exactly (the token is the input, '.'
// and the signature) without keeping it: the Lambda authorizer's cache key, and the
// verification then reuses the input's digest instead of hashing the token twice. Only
// Digest builds them, so a digest always belongs to its token.
type Digests struct {
	token      string
	input, sig [32]byte
	inputLen   int // len(signing input); -1: the token has no '.'
}

// Digest computes the digests of token.
func Digest(token string) Digests {
	d := Digests{token: token, inputLen: lastDot(token)}
	if d.inputLen < 0 {
		d.input = sha256.Sum256(stringBytes(token))
		return d
	}
	d.input = sha256.Sum256(stringBytes(token[:d.inputLen]))
	d.sig = sha256.Sum256(stringBytes(token[d.inputLen+1:]))
	return d
}

// lastDot is strings.LastIndexByte(token, '.'), looking first where an ES256 token has it
// (86 characters of signature).
func lastDot(token string) int {
	if n := len(token) - 87; n >= 0 && token[n] == '.' && strings.IndexByte(token[n+1:], '.') < 0 {
		return n
	}
	return strings.LastIndexByte(token, '.')
}

// Input is the SHA-256 of the signing input (of the whole token when it has no '.').
func (d *Digests) Input() [32]byte { return d.input }

// Signature is the SHA-256 of the encoded signature (zero when the token has no '.').
func (d *Digests) Signature() [32]byte { return d.sig }

// Split reports whether the token has a '.', i.e. whether Input and Signature identify it.
func (d *Digests) Split() bool { return d.inputLen >= 0 }

// Verify checks the compact JWT token as an access token for audience and returns its claims.
// Every failure wraps exactly one of the Err* sentinels. When aud is an array, the returned
// Audience is the requested audience.
func (v *Verifier) Verify(token string, audience string) (AccessClaims, error) {
	return v.verify(token, nil, audience)
}

// VerifyDigested is Verify of d's token, with the signing input's digest already computed.
func (v *Verifier) VerifyDigested(d *Digests, audience string) (AccessClaims, error) {
	return v.verify(d.token, d, audience)
}

func (v *Verifier) verify(token string, d *Digests, audience string) (AccessClaims, error) {
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
	// RFC 7515 §2 and §5.2 steps 1-3, 6-7: every part is base64url without padding. Header
	// and payload are decoded into one new buffer, read as a string from then on (the claims'
	// strings are substrings of it: one allocation), the signature into a stack array.
	hdr, knownHdr := v.knownHeader(h64)
	hn, pn := strictB64.DecodedLen(len(h64)), strictB64.DecodedLen(len(p64))
	if knownHdr {
		hn = 0 // nothing to decode
	}
	buf := make([]byte, hn+pn)
	hl := 0
	if !knownHdr {
		var err error
		if hl, err = decodeB64(buf[:hn], h64); err != nil {
			return AccessClaims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
		}
	}
	pl, err := decodeB64(buf[hn:], p64)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	var sigBuf [64]byte
	sig := sigBuf[:]
	if n := strictB64.DecodedLen(len(s64)); n > len(sig) {
		sig = make([]byte, n) // refused below, once decoded: a malformed part is reported first
	}
	sl, err := decodeB64(sig, s64)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	sig = sig[:sl]
	// buf is never written again: it is the decoded text's only reference.
	text := unsafe.String(unsafe.SliceData(buf), len(buf))
	if !knownHdr {
		// RFC 7515 §5.2 step 3-4: the header is a UTF-8 JSON object.
		if hdr, err = parseHeaderText(text[:hl]); err != nil {
			return AccessClaims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
		}
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
	var digest [32]byte
	if n := len(h64) + 1 + len(p64); d != nil && d.inputLen == n {
		digest = d.input // of token[:n] (three parts: the last '.' ends the signing input)
	} else {
		digest = sha256.Sum256(stringBytes(token[:n]))
	}
	var der [72]byte
	if !ecdsa.VerifyASN1(pub, digest[:], rawToDER(der[:0], sig)) {
		return AccessClaims{}, fmt.Errorf("%w: ES256 verification failed", ErrSignature)
	}
	// RFC 7519 §4 and §7.2 step 10: claims are a JSON object, parsed only once authenticated;
	// duplicate or mistyped claims are rejected rather than resolved.
	pc, err := parseClaimsText(text[hn : hn+pl])
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
	if audience == "" || !pc.hasAudience(audience) {
		return AccessClaims{}, fmt.Errorf("%w: aud %q, want %q", ErrAudience, pc.audiences(), audience)
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

// decodeB64 decodes unpadded base64url src strictly into dst, which has room for
// strictB64.DecodedLen(len(src)) bytes, and returns the length decoded. Strict refuses
// non-zero trailing bits, and the decoder refuses every byte outside the base64url alphabet
// but CR and LF, which it silently skips: they are refused here first. Either would make
// several encodings of one token valid (RFC 8725 §2.6). (IndexByte is vectorized: a test of
// each byte against the alphabet, branching on its class, cost more than the decoding.)
func decodeB64(dst []byte, src string) (int, error) {
	for _, c := range []byte{'\r', '\n'} {
		if i := strings.IndexByte(src, c); i >= 0 {
			return 0, fmt.Errorf("invalid base64url character at %d", i)
		}
	}
	return strictB64.Decode(dst, stringBytes(src))
}

// stringBytes is a read-only view of s's bytes, for APIs that take a []byte and only read
// it (base64 decoding, SHA-256): converting would copy the token. Never write to it.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
