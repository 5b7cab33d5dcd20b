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
	return oauth.BearerValue(one[0])
}
