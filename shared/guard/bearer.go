package guard

import (
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
)

// Reasons a request carries no usable bearer token (oauth.BearerToken). They are logged,
// never shown.
var (
	ErrNoCredentials       = oauth.ErrNoCredentials
	ErrSeveralCredentials  = oauth.ErrSeveralCredentials
	ErrNotBearer           = oauth.ErrNotBearer
	ErrMalformedCredential = oauth.ErrMalformedCredential
)

// AuthorizationValues returns every value of the Authorization header in a REST API event:
// multiValueHeaders when API Gateway sent them (it always does for REQUEST authorizers and
// proxy integrations), else headers. Header names are matched case-insensitively (RFC 9110
// §5.1), so "authorization" and "Authorization" sent together count as two values.
func AuthorizationValues(headers map[string]string, multi map[string][]string) []string {
	var out []string
	if len(multi) > 0 {
		for k, vs := range multi {
			if strings.EqualFold(k, "Authorization") {
				out = append(out, vs...)
			}
		}
		return out
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Authorization") {
			out = append(out, v)
		}
	}
	return out
}

// BearerToken extracts the token from the Authorization header values of one request:
// oauth.BearerToken (RFC 6750 §2.1, exactly one header value).
func BearerToken(values []string) (string, error) { return oauth.BearerToken(values) }

// bearerToken is BearerToken(AuthorizationValues(headers, multi)) without building the list
// of values for the usual request, which has one.
func bearerToken(headers map[string]string, multi map[string][]string) (string, error) {
	var one [1]string
	n := 0
	if len(multi) > 0 {
		for k, vs := range multi {
			if strings.EqualFold(k, "Authorization") {
				for _, v := range vs {
					if n == 0 {
						one[0] = v
					}
					n++
				}
			}
		}
	} else {
		for k, v := range headers {
			if strings.EqualFold(k, "Authorization") {
				if n == 0 {
					one[0] = v
				}
				n++
			}
		}
	}
	if n != 1 {
		return BearerToken(AuthorizationValues(headers, multi))
	}
	return bearerValue(one[0])
}

// bearerValue is BearerToken([]string{v}) (oauth.BearerToken, RFC 6750 §2.1), with the
// b64token check done by table: the loop of comparisons per byte was a third of a cached
// request's cost. TestBearerValueLikeOAuth and FuzzBearerValue hold it to oauth.BearerToken.
func bearerValue(v string) (string, error) {
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
	if !isB64Token(token) {
		return "", ErrMalformedCredential
	}
	return token, nil
}

// b64tokenChar marks the bytes of RFC 6750 §2.1's b64token before its "=" padding:
// ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/".
var b64tokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// isB64Token reports whether s matches b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
// "~" / "+" / "/" ) *"=".
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
