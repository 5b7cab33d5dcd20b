package oauth

import (
	"errors"
	"strings"
)

// Reasons a request carries no usable bearer token (RFC 6750 §2.1). They are logged, never
// shown.
var (
	ErrNoCredentials       = errors.New("no Authorization header")
	ErrSeveralCredentials  = errors.New("more than one Authorization header")
	ErrNotBearer           = errors.New("authorization scheme is not Bearer")
	ErrMalformedCredential = errors.New("malformed Bearer credentials")
)

// BearerToken extracts the token from the Authorization header values of one request.
// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive
// (RFC 9110 §11.1). Exactly one header value is accepted (RFC 6750 §2: one method, once);
// anything other than the scheme, spaces and one b64token is refused.
func BearerToken(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", ErrNoCredentials
	case 1:
	default:
		return "", ErrSeveralCredentials
	}
	token, err := BearerValueUnchecked(values[0])
	if err != nil {
		return "", err
	}
	if !isB64Token(token) {
		return "", ErrMalformedCredential
	}
	return token, nil
}

// BearerValueUnchecked extracts the token from one Authorization header value as
// BearerToken does, without the b64token syntax check of the token itself (IsB64Token): for
// a caller that looks the exact token up among tokens that passed it, and
// checks it only when the lookup misses (the Lambda authorizer's cache).
func BearerValueUnchecked(v string) (string, error) {
	v = strings.Trim(v, " \t") // RFC 9110 §5.5: OWS around a field value is not part of it
	if v == "" {
		return "", ErrNoCredentials
	}
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", ErrNotBearer
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", ErrMalformedCredential
	}
	if rest[0] != ' ' {
		return "", ErrNotBearer // e.g. "BearerX" or "Bearer\tx": another scheme or bad syntax
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", ErrMalformedCredential
	}
	return token, nil
}

// IsB64Token reports whether s is an RFC 6750 §2.1 b64token (the part after "Bearer ").
func IsB64Token(s string) bool { return isB64Token(s) }

// b64tokenChar marks the bytes of RFC 6750 §2.1's b64token before its "=" padding: a table,
// since the authorizer checks every byte of every token (a chain of comparisons per byte was
// a third of a cached request's cost).
var b64tokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// isB64Token reports whether s matches RFC 6750 §2.1's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64tokenChar[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
