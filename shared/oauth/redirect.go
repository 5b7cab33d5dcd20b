package oauth

import (
	"net/url"
	"strings"

	"golang.org/x/net/idna"
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
// (com.example.app:/cb, cursor://anysphere.cursor-mcp/cb). A port, when present, is
// 1-65535 in plain decimal; an http loopback URI may also say port 0, the "any port"
// placeholder some clients register (its port is ignored when matching, and a request must
// name a real one). A non-ASCII host must be a valid internationalised domain name.
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
		return ErrInvalidRedirectURI("redirect URI scheme '%s' is not allowed", scheme)
	}
	if u.Opaque != "" && !strings.Contains(scheme, ".") {
		return ErrInvalidRedirectURI("redirect URI is not a hierarchical URI")
	}
	if u.User != nil {
		// RFC 8252 §8.6 / OAuth security BCP: no credentials in redirect URIs.
		return ErrInvalidRedirectURI("redirect URI must not contain user information")
	}
	// RFC 7591 §2 lets the server refuse a redirect URI: an internationalised host must be a
	// valid IDNA name (UTS #46 lookup), so the consent page can show the punycode the browser
	// resolves beside the Unicode form, with its look-alike warning (both spellings get it).
	if !asciiOnly(u.Hostname()) {
		if _, err := idna.Lookup.ToASCII(u.Hostname()); err != nil {
			return ErrInvalidRedirectURI("redirect URI host is not a valid internationalised domain name")
		}
	}
	loopbackHTTP := scheme == "http" && IsLoopbackHost(u.Hostname())
	port, ok := redirectPort(u)
	// RFC 3986 §3.2.3 / RFC 6335 §6: a port is 1-65535; port 0 only as the loopback placeholder.
	if !ok || (port == 0 && u.Port() != "" && !loopbackHTTP) {
		return ErrInvalidRedirectURI("redirect URI port must be a number from 1 to 65535")
	}
	switch {
	case scheme == "https":
		if u.Hostname() == "" {
			return ErrInvalidRedirectURI("https redirect URI has no host")
		}
	case scheme == "http":
		if !loopbackHTTP {
			// MCP authorization: redirect URIs MUST be HTTPS or loopback.
			return ErrInvalidRedirectURI("http redirect URIs are allowed only on loopback (127.0.0.1, [::1], localhost spelled in lowercase)")
		}
	default:
		// RFC 8252 §7.1: private-use URI schemes based on a domain name the app controls.
		if !strings.Contains(scheme, ".") && !strings.Contains(u.Hostname(), ".") {
			return ErrInvalidRedirectURI("private-use redirect URI scheme '%s' must be a reverse domain name or name a dotted authority (RFC 8252 section 7.1)", scheme)
		}
	}
	return nil
}

// IsLoopbackHost reports whether host (without brackets or port) is one of the loopback
// names RFC 8252 §7.3 and §8.3 allow, spelled exactly as MCP clients spell them: 127.0.0.1,
// ::1 or localhost. Other spellings (LOCALHOST, localhost., ::ffff:127.0.0.1,
// 0:0:0:0:0:0:0:1) are refused, so that port-agnostic matching applies to three exact names.
func IsLoopbackHost(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

// redirectPort returns u's port (0 when absent) and whether it is well-formed: plain decimal
// without a leading zero, at most 65535, and not an empty port after a colon.
func redirectPort(u *url.URL) (int, bool) {
	p := u.Port()
	if p == "" {
		return 0, !strings.HasSuffix(u.Host, ":")
	}
	if len(p) > 5 || (p[0] == '0' && p != "0") {
		return 0, false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// usablePort reports whether raw parses and names no port or a port of 1-65535: the
// redirect URI of a request must be a place a browser can go (never port 0 or 99999).
func usablePort(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	n, ok := redirectPort(u)
	return ok && (n != 0 || u.Port() == "")
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// MatchRedirectURI reports whether requested is one of the registered redirect URIs.
// OAuth 2.1 requires exact string matching; the one exception is RFC 8252 §7.3: for http
// loopback redirects the port is ignored, because native apps listen on an ephemeral port.
// That holds for the IP literals (§7.3) and, as a documented decision, for the exact name
// localhost (§8.3 advises against it, yet Claude Code and mcp-remote use it): the registered
// and requested host names must be identical. The requested URI's port must be 1-65535.
func MatchRedirectURI(registered []string, requested string) bool {
	if len(requested) > MaxRedirectURILength || !usablePort(requested) {
		return false
	}
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

// loopbackWithoutPort returns raw with its port removed if raw is an http loopback URI with
// a well-formed port. The host is kept as written (IsLoopbackHost accepts exact names only).
func loopbackWithoutPort(raw string) (string, bool) {
	if len(raw) > MaxRedirectURILength || strings.Contains(raw, "#") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || !IsLoopbackHost(u.Hostname()) {
		return "", false
	}
	if _, ok := redirectPort(u); !ok {
		return "", false
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	return u.String(), true
}
