package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// validPKCEString reports whether s is 43–128 characters of RFC 7636 §4.1's alphabet
// (ALPHA / DIGIT / "-" / "." / "_" / "~").
func validPKCEString(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// ValidCodeVerifier enforces RFC 7636 §4.1: 43–128 unreserved characters.
func ValidCodeVerifier(v string) bool { return validPKCEString(v) }

// ValidCodeChallenge accepts an S256 challenge: BASE64URL(SHA256(verifier)) is exactly 43
// characters of the base64url alphabet (RFC 7636 §4.2).
func ValidCodeChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		// Checked here because the base64 decoder skips CR and LF.
		if ch := c[i]; !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// S256Challenge computes BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyS256 checks a code_verifier against the stored S256 challenge in constant time
// (RFC 7636 §4.6).
func VerifyS256(verifier, challenge string) bool {
	if !ValidCodeVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}
