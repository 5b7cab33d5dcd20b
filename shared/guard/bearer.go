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

// scanHeaders reads, in one pass over the headers, what the authorizer needs: the bearer
// token (oauth.BearerValueUnchecked: without the token's b64token check, which the caller
// makes on a cache miss), and, when allowed is not nil, the first non-empty
// Origin value allowed refuses ("" when every value is allowed, or there is none).
func scanHeaders(headers map[string]string, multi map[string][]string, allowed func(string) bool) (token, refused string, err error) {
	var one string
	n := 0
	origin := func(v string) {
		// An empty value is no Origin, as for the MCP function (http.Header.Get).
		if refused == "" && v != "" && allowed != nil && !allowed(v) {
			refused = v
		}
	}
	if len(multi) > 0 {
		for k, vs := range multi {
			switch {
			case len(k) == len("Authorization") && strings.EqualFold(k, "Authorization"):
				for _, v := range vs {
					if n == 0 {
						one = v
					}
					n++
				}
			case len(k) == len("Origin") && strings.EqualFold(k, "Origin"):
				for _, v := range vs {
					origin(v)
				}
			}
		}
	} else {
		for k, v := range headers {
			switch {
			case len(k) == len("Authorization") && strings.EqualFold(k, "Authorization"):
				if n == 0 {
					one = v
				}
				n++
			case len(k) == len("Origin") && strings.EqualFold(k, "Origin"):
				origin(v)
			}
		}
	}
	if n != 1 {
		_, err = BearerToken(AuthorizationValues(headers, multi)) // no value, or several: refused
		return "", refused, err
	}
	token, err = oauth.BearerValueUnchecked(one)
	return token, refused, err
}
