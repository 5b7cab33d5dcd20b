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

// PathProtectedResourceMetadata is where RFC 9728 metadata is served, relative to the issuer.
const PathProtectedResourceMetadata = "/.well-known/oauth-protected-resource"

// ResourceMetadataPath is the path, relative to the issuer, at which Authbridge publishes the
// RFC 9728 metadata of resource (canonical form):
//
//   - a resource on the issuer's origin, at or below the issuer's path: the well-known path
//     followed by the resource's path relative to the issuer's (RFC 9728 §3.1 with the
//     issuer's stage path kept in front, docs/decisions.md): {issuer}/mcp ->
//     /.well-known/oauth-protected-resource/mcp; the issuer itself -> the well-known path;
//   - a resource on the issuer's origin outside the issuer's path: the well-known path
//     followed by the resource's whole path;
//   - a resource on another origin (companion mode: an MCP server on another host): the
//     well-known path followed by "/" host[:port] and its path: https://crm.example.com/mcp ->
//     /.well-known/oauth-protected-resource/crm.example.com/mcp, so that it never collides
//     with a resource of the issuer's own origin.
func ResourceMetadataPath(issuer, resource string) string {
	u, err := url.Parse(resource)
	if err != nil {
		return PathProtectedResourceMetadata + "/invalid-resource"
	}
	iu, _ := url.Parse(issuer)
	if iu != nil && sameOrigin(u, iu) {
		p := u.EscapedPath()
		if rel, ok := strings.CutPrefix(p, iu.EscapedPath()); ok && (rel == "" || rel[0] == '/') {
			p = rel
		}
		if p == "/" {
			p = ""
		}
		return PathProtectedResourceMetadata + p
	}
	return PathProtectedResourceMetadata + "/" + u.Host + strings.TrimRight(u.EscapedPath(), "/")
}

// SameOrigin reports whether the resource is on the issuer's origin (scheme, host and port,
// RFC 6454), i.e. served by Authbridge's own API rather than a companion MCP server.
func SameOrigin(issuer, resource string) bool {
	u, err1 := url.Parse(resource)
	iu, err2 := url.Parse(issuer)
	return err1 == nil && err2 == nil && sameOrigin(u, iu)
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

// hostPort is u's host with the scheme's default port removed.
func hostPort(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	if p := u.Port(); p == "" || scheme == "https" && p == "443" || scheme == "http" && p == "80" {
		h := u.Hostname()
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		return h
	}
	return u.Host
}

// SecureResource reports whether a canonical resource URL may be protected by Authbridge:
// https, or http on a loopback host only (MCP authorization: every authorization server
// and resource URL uses HTTPS, loopback excepted for local development).
func SecureResource(resource string) bool {
	u, err := url.Parse(resource)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return IsLoopbackHost(u.Hostname())
	}
	return false
}
