package oauth

import (
	"net/url"
	"strings"
)

// MaxRedirectURILength bounds a redirect URI; longer ones are refused at registration.
const MaxRedirectURILength = 2048

// schemes that can never be a redirect target, whatever their shape.
var forbiddenSchemes = map[string]bool{
	"javascript": true, "data": true, "file": true, "vbscript": true, "blob": true,
	"about": true, "filesystem": true, "ftp": true, "ws": true, "wss": true, "mailto": true,
}

// ValidateRedirectURI applies the registration policy to one redirect URI and returns
// an invalid_redirect_uri error explaining a refusal (RFC 7591 §3.2.2).
//
// Accepted: https with a host; http only on a loopback host — 127.0.0.1, [::1] or
// localhost (RFC 8252 §7.3, MCP: "HTTPS or loopback"); and private-use schemes of native
// apps (RFC 8252 §7.1) whose scheme or authority is a dotted, domain-like name
// (com.example.app:/cb, cursor://anysphere.cursor-mcp/cb).
func ValidateRedirectURI(raw string) *Error {
	if raw == "" {
		return ErrInvalidRedirectURI("redirect URI is empty")
	}
	if len(raw) > MaxRedirectURILength {
		return ErrInvalidRedirectURI("redirect URI is longer than %d characters", MaxRedirectURILength)
	}
	if strings.ContainsAny(raw, "#") {
		// RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
		return ErrInvalidRedirectURI("redirect URI must not contain a fragment")
	}
	for _, r := range raw {
		if r <= 0x20 || r == 0x7f {
			return ErrInvalidRedirectURI("redirect URI contains whitespace or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return ErrInvalidRedirectURI("redirect URI is not an absolute URI")
	}
	scheme := strings.ToLower(u.Scheme)
	if forbiddenSchemes[scheme] {
		return ErrInvalidRedirectURI("redirect URI scheme %q is not allowed", scheme)
	}
	if u.Opaque != "" && !strings.Contains(scheme, ".") {
		return ErrInvalidRedirectURI("redirect URI is not a hierarchical URI")
	}
	if u.User != nil {
		// RFC 8252 §8.6 / OAuth security BCP: no credentials in redirect URIs.
		return ErrInvalidRedirectURI("redirect URI must not contain user information")
	}
	switch {
	case scheme == "https":
		if u.Hostname() == "" {
			return ErrInvalidRedirectURI("https redirect URI has no host")
		}
	case scheme == "http":
		if !IsLoopbackHost(u.Hostname()) {
			// MCP authorization: redirect URIs MUST be HTTPS or loopback.
			return ErrInvalidRedirectURI("http redirect URIs are allowed only on loopback (127.0.0.1, [::1], localhost)")
		}
	default:
		// RFC 8252 §7.1: private-use URI schemes based on a domain name the app controls.
		if !strings.Contains(scheme, ".") && !strings.Contains(u.Hostname(), ".") {
			return ErrInvalidRedirectURI("private-use redirect URI scheme %q must be a reverse domain name or name a dotted authority (RFC 8252 §7.1)", scheme)
		}
	}
	return nil
}

// IsLoopbackHost reports whether host (without brackets or port) is one of the loopback
// names RFC 8252 §7.3 and §8.3 allow, spelled as MCP clients spell them: 127.0.0.1, ::1 or
// localhost. Other spellings (::ffff:127.0.0.1, 0:0:0:0:0:0:0:1) are refused.
func IsLoopbackHost(host string) bool {
	return host == "127.0.0.1" || host == "::1" || strings.EqualFold(host, "localhost")
}

// MatchRedirectURI reports whether requested is one of the registered redirect URIs.
// OAuth 2.1 requires exact string matching; the one exception is RFC 8252 §7.3: for http
// loopback redirects the port is ignored, because native apps listen on an ephemeral port.
func MatchRedirectURI(registered []string, requested string) bool {
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	req, ok := loopbackWithoutPort(requested)
	if !ok {
		return false
	}
	for _, r := range registered {
		if reg, ok := loopbackWithoutPort(r); ok && reg == req {
			return true
		}
	}
	return false
}

// loopbackWithoutPort returns raw with its port removed if raw is an http loopback URI.
func loopbackWithoutPort(raw string) (string, bool) {
	if len(raw) > MaxRedirectURILength || strings.Contains(raw, "#") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || !IsLoopbackHost(u.Hostname()) {
		return "", false
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return "", false
			}
		}
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = strings.ToLower(host)
	return u.String(), true
}
