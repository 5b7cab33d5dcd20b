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
	if raw == "" || len(raw) > MaxRedirectURILength || strings.ContainsAny(raw, "# \t\r\n") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		host += ":" + port
	}
	out := url.URL{Scheme: scheme, Host: host, Path: strings.TrimRight(u.Path, "/"), RawPath: strings.TrimRight(u.RawPath, "/"), RawQuery: u.RawQuery}
	return out.String(), true
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
