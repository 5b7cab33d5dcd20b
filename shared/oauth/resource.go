package oauth

import (
	"net/url"
	"strings"
)

// CanonicalResource returns the canonical form of an RFC 8707 resource indicator: an
// absolute http(s) URI without fragment (RFC 8707 §2), scheme and host lower-cased
// (RFC 3986 §6.2.2.1), default port and trailing slash removed, so that
// "HTTPS://Example.com:443/mcp/" and "https://example.com/mcp" compare equal.
func CanonicalResource(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxRedirectURILength || strings.Contains(raw, "#") {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		// RFC 3986 §2: a URI is printable ASCII. Lower-casing anything else could map a
		// different host onto a configured one (U+212A KELVIN SIGN lower-cases to "k").
		if raw[i] <= 0x20 || raw[i] >= 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Hostname() == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host := lowerASCII(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		host += ":" + port
	}
	// Trim the escaped path: an encoded slash (%2F) is not a trailing slash (RFC 3986 §6.2.2).
	rawPath := strings.TrimRight(u.EscapedPath(), "/")
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return "", false
	}
	out := url.URL{Scheme: scheme, Host: host, Path: path, RawPath: rawPath, RawQuery: u.RawQuery}
	if c := out.String(); len(c) <= MaxRedirectURILength { // escaping can lengthen it
		return c, true
	}
	return "", false
}

// Resources is the configured set of protected resources, held in canonical form.
type Resources []string

// Match returns the configured resource that raw designates, if any.
func (r Resources) Match(raw string) (string, bool) {
	c, ok := CanonicalResource(raw)
	if !ok {
		return "", false
	}
	for _, res := range r {
		if res == c {
			return res, true
		}
	}
	return "", false
}

// lowerASCII lower-cases A–Z only (RFC 3986 §6.2.2.1): strings.ToLower would also fold
// non-ASCII letters and replace invalid UTF-8 from a percent-encoded host.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
