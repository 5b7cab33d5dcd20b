// Package clientid fetches and validates OAuth Client ID Metadata Documents (MCP
// authorization 2026-07-28, Client Registration, "Client ID Metadata Documents";
// draft-ietf-oauth-client-id-metadata-document): a client with no prior relationship uses an
// https URL as its client_id, and the authorization server fetches the JSON document at that
// URL, trusting the client's name and redirect URIs because the URL's domain vouches for them.
//
// The package is self-contained (no AWS): IsURLClientID tells a metadata-document client_id
// from Authbridge's own registered ids ("abc_..."), and a Fetcher fetches a document over
// HTTPS from public addresses only, validates it with the registration rules of shared/oauth
// and caches it within bounds.
package clientid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
)

// MaxClientIDLength bounds a URL client_id: Authbridge keeps it in table keys, which hold
// at most 512 bytes of a client id (shared/store).
const MaxClientIDLength = 512

// AuthMethodPrivateKeyJWT is RFC 7523 §2.2 client authentication with a signed JWT, the only
// authenticating method a metadata document may name: there is no shared secret between a
// client and a server that never met.
const AuthMethodPrivateKeyJWT = "private_key_jwt"

// Errors of Fetch, wrapped with details (test with errors.Is). ErrAddressNotPublic is in
// addr.go.
var (
	ErrNotURLClientID   = errors.New("clientid: client_id is not an https URL client id")
	ErrRedirect         = errors.New("clientid: metadata document URL answered with a redirect")
	ErrNotFound         = errors.New("clientid: metadata document not found")
	ErrHTTPStatus       = errors.New("clientid: metadata document fetch failed")
	ErrTooLarge         = errors.New("clientid: metadata document is too large")
	ErrContentType      = errors.New("clientid: metadata document is not JSON")
	ErrClientIDMismatch = errors.New("clientid: metadata document client_id does not match its URL")
	ErrInvalidDocument  = errors.New("clientid: invalid metadata document")
)

// Document is a fetched and validated Client ID Metadata Document.
type Document struct {
	ClientID                string   // the URL, exactly as the client sent it and the document states it
	ClientName              string   // control characters removed, trimmed (as at registration)
	RedirectURIs            []string // validated with oauth.ValidateRedirectURI, deduplicated
	TokenEndpointAuthMethod string   // "none" or "private_key_jwt"
	// JWKS (a JSON object with a non-empty "keys" array) or JWKSURI (https) is set, exactly
	// one, when TokenEndpointAuthMethod is private_key_jwt. JWKSURI is not fetched here; when
	// it is, it must go through a Fetcher's dial checks like the document itself.
	JWKS    json.RawMessage
	JWKSURI string
	// Domain is the client_id URL's host in ASCII, lowercase, without port: the name that
	// vouches for the client, to show on the consent page.
	Domain string
	// LoopbackRedirects is set when a redirect URI names a loopback host (localhost,
	// 127.0.0.0/8, ::1): any program on the person's machine could listen there, so the
	// domain's vouching does not cover who receives the code; the consent page warns.
	LoopbackRedirects bool
	// Metadata is the document as oauth.ParseClientMetadata accepted it (defaults applied,
	// scope reduced to the supported scopes), with TokenEndpointAuthMethod as above.
	Metadata oauth.ClientMetadata
}

func (d Document) clone() Document {
	d.RedirectURIs = append([]string(nil), d.RedirectURIs...)
	d.JWKS = append(json.RawMessage(nil), d.JWKS...)
	d.Metadata.RedirectURIs = append([]string(nil), d.Metadata.RedirectURIs...)
	d.Metadata.GrantTypes = append([]string(nil), d.Metadata.GrantTypes...)
	d.Metadata.ResponseTypes = append([]string(nil), d.Metadata.ResponseTypes...)
	return d
}

// IsURLClientID reports whether clientID has the shape of a Client ID Metadata Document
// client_id (MCP authorization 2026-07-28, Client ID Metadata Documents: "https" scheme with a
// path component; draft-ietf-oauth-client-id-metadata-document §3: no fragment, no user
// information, no single-dot or double-dot path segments). Authbridge adds: printable ASCII
// only (an internationalised domain is written in its punycode form), a host that is a
// domain name (not an IP literal, not ending in a dot: a domain vouches for the client), a
// path other than "/", and at most MaxClientIDLength bytes. A query is allowed (the draft
// discourages but permits it); a port is allowed.
func IsURLClientID(clientID string) bool {
	_, ok := parseURLClientID(clientID)
	return ok
}

func parseURLClientID(clientID string) (*url.URL, bool) {
	if len(clientID) > MaxClientIDLength || !strings.HasPrefix(clientID, "https://") {
		return nil, false
	}
	for i := 0; i < len(clientID); i++ {
		if c := clientID[i]; c <= 0x20 || c >= 0x7f || c == '\\' || c == '#' {
			return nil, false
		}
	}
	u, err := url.Parse(clientID)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Fragment != "" || u.ForceQuery {
		return nil, false
	}
	host := u.Hostname()
	if host == "" || strings.HasSuffix(host, ".") || strings.Contains(u.Host, "[") {
		return nil, false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil, false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || p[0] == '0' || n < 1 || n > 65535 {
			return nil, false
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, false
	}
	path := u.EscapedPath()
	if path == "" || path == "/" || !strings.HasPrefix(path, "/") {
		return nil, false
	}
	for _, seg := range strings.Split(path[1:], "/") {
		// RFC 3986 §2.3/§6.2.2.2: %2E is ".", so "%2e%2E" is a dot segment too.
		if s := strings.ReplaceAll(strings.ToLower(seg), "%2e", "."); s == "." || s == ".." {
			return nil, false
		}
	}
	return u, true
}

// ParseDocument validates body as the metadata document served at clientID, by the rules
// Fetch applies after fetching it (for a document obtained another way, or tests of the
// servers that use one).
func ParseDocument(body []byte, clientID string, supported oauth.Scope) (Document, error) {
	u, ok := parseURLClientID(clientID)
	if !ok {
		return Document{}, ErrNotURLClientID
	}
	return validateDocument(body, clientID, u, supported)
}

// validateDocument checks body as the metadata document of clientID, with the registration
// rules of oauth.ParseClientMetadata (supported is the server's scope list) plus the rules
// of a metadata document: client_id equal to the URL, client_name present, no shared secret,
// token_endpoint_auth_method none or private_key_jwt (with exactly one of jwks, jwks_uri).
func validateDocument(body []byte, clientID string, u *url.URL, supported oauth.Scope) (Document, error) {
	var d Document
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return d, fmt.Errorf("%w: not a JSON object", ErrInvalidDocument)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var members map[string]json.RawMessage // exact, case-sensitive member names (RFC 8259 §4)
	if err := dec.Decode(&members); err != nil {
		return d, fmt.Errorf("%w: not a JSON object", ErrInvalidDocument)
	}
	if _, err := dec.Token(); err != io.EOF {
		return d, fmt.Errorf("%w: data after the JSON object", ErrInvalidDocument)
	}

	// MCP authorization 2026-07-28, Client ID Metadata Documents: the client_id in the
	// document matches the document URL exactly (simple string comparison, no normalisation).
	var docID string
	if raw, ok := members["client_id"]; !ok || json.Unmarshal(raw, &docID) != nil {
		return d, fmt.Errorf("%w: client_id is missing or not a string", ErrClientIDMismatch)
	}
	if docID != clientID {
		return d, fmt.Errorf("%w: the document says %q", ErrClientIDMismatch, truncate(docID, 100))
	}

	// draft-ietf-oauth-client-id-metadata-document: no shared secret exists between the
	// client and the server, so client_secret and the client_secret_* methods are refused.
	for _, name := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := members[name]; ok {
			return d, fmt.Errorf("%w: %s must not appear in a client ID metadata document", ErrInvalidDocument, name)
		}
	}
	method := oauth.AuthMethodNone
	if raw, ok := members["token_endpoint_auth_method"]; ok {
		if json.Unmarshal(raw, &method) != nil {
			return d, fmt.Errorf("%w: token_endpoint_auth_method has the wrong type", ErrInvalidDocument)
		}
	}
	switch method {
	case "", oauth.AuthMethodNone:
		method = oauth.AuthMethodNone
	case AuthMethodPrivateKeyJWT:
		jwks, hasJWKS := members["jwks"]
		rawURI, hasURI := members["jwks_uri"]
		switch {
		case hasJWKS && hasURI:
			// RFC 7591 §2: jwks_uri and jwks MUST NOT both be present.
			return d, fmt.Errorf("%w: jwks and jwks_uri must not both be present", ErrInvalidDocument)
		case hasJWKS:
			if !isJWKS(jwks) {
				return d, fmt.Errorf("%w: jwks must be a JSON object with a non-empty keys array", ErrInvalidDocument)
			}
			d.JWKS = append(json.RawMessage(nil), jwks...)
		case hasURI:
			if json.Unmarshal(rawURI, &d.JWKSURI) != nil || !isHTTPSURL(d.JWKSURI) {
				return d, fmt.Errorf("%w: jwks_uri must be an https URL", ErrInvalidDocument)
			}
		default:
			return d, fmt.Errorf("%w: private_key_jwt requires jwks or jwks_uri", ErrInvalidDocument)
		}
	default:
		return d, fmt.Errorf("%w: token_endpoint_auth_method must be none or private_key_jwt", ErrInvalidDocument)
	}

	// The registration rules, unchanged: ParseClientMetadata knows only the methods of
	// registrations (none, client_secret_*), so the method checked above is left out of what
	// it reads, and it applies its default (none), which is replaced below.
	delete(members, "token_endpoint_auth_method")
	rest, err := json.Marshal(members)
	if err != nil {
		return d, fmt.Errorf("%w: not valid client metadata", ErrInvalidDocument)
	}
	m, perr := oauth.ParseClientMetadata(rest, supported)
	if perr != nil {
		return d, fmt.Errorf("%w: %s", ErrInvalidDocument, perr.Description)
	}
	m.TokenEndpointAuthMethod = method
	// MCP authorization 2026-07-28: the document includes at least client_id, client_name and
	// redirect_uris (ParseClientMetadata requires redirect_uris).
	if m.ClientName == "" {
		return d, fmt.Errorf("%w: client_name is required", ErrInvalidDocument)
	}

	d.ClientID = clientID
	d.ClientName = m.ClientName
	d.RedirectURIs = append([]string(nil), m.RedirectURIs...)
	d.TokenEndpointAuthMethod = method
	d.Domain = strings.ToLower(u.Hostname())
	for _, r := range m.RedirectURIs {
		if isLoopbackRedirect(r) {
			d.LoopbackRedirects = true
		}
	}
	d.Metadata = m
	// Other URLs of the document (client_uri, logo_uri, jwks_uri, tos_uri, policy_uri) are
	// never fetched here: the server makes one request, to the client_id URL. If logo_uri or
	// jwks_uri are ever fetched, they must go through the same Fetcher dial checks (public
	// addresses only, no redirects, size and time limits).
	return d, nil
}

// isLoopbackRedirect reports whether a redirect URI's host is a loopback name or address, in
// any spelling (wider than oauth.IsLoopbackHost, which names the three exact spellings the
// port-agnostic match accepts).
func isLoopbackRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && (a.Unmap().IsLoopback() || a.Unmap().IsUnspecified())
}

func isJWKS(raw json.RawMessage) bool {
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return false
	}
	return json.Unmarshal(raw, &set) == nil && len(set.Keys) > 0
}

func isHTTPSURL(raw string) bool {
	if len(raw) > 2048 {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && u.Fragment == ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
