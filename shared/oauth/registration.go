package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Limits on a registration request.
const (
	MaxRegistrationBody  = 16 << 10 // bytes
	MaxRedirectURIs      = 20
	maxClientNameRunes   = 200
	maxMetadataURILength = 2048
)

// Client authentication methods at the token endpoint (RFC 7591 §2).
const (
	AuthMethodNone              = "none"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodClientSecretBasic = "client_secret_basic"
)

// ClientMetadata is the part of RFC 7591 §2 client metadata that Authbridge accepts and
// stores. Unknown members are ignored, as RFC 7591 §2 requires.
type ClientMetadata struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	// ApplicationType is OpenID Connect Registration §2's "native" or "web", when sent.
	ApplicationType string `json:"application_type,omitempty"`
}

// knownMetadata are the JSON member names of ClientMetadata.
var knownMetadata = map[string]bool{
	"redirect_uris": true, "token_endpoint_auth_method": true, "grant_types": true, "response_types": true,
	"client_name": true, "client_uri": true, "logo_uri": true, "scope": true, "application_type": true,
}

// Confidential reports whether the client authenticates with a secret.
func (m ClientMetadata) Confidential() bool { return m.TokenEndpointAuthMethod != AuthMethodNone }

// ParseClientMetadata decodes and validates a registration request body, applying
// defaults and returning the metadata as accepted (RFC 7591 §3.2.1), or the error to answer
// (RFC 7591 §3.2.2). supported is the server's scope list: requested scope tokens outside
// it are dropped, as RFC 7591 §3.2.1 lets the server replace requested values.
func ParseClientMetadata(body []byte, supported Scope) (ClientMetadata, *Error) {
	var m ClientMetadata
	if len(body) > MaxRegistrationBody {
		return m, ErrInvalidClientMetadata("registration request is larger than %d bytes", MaxRegistrationBody)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		// RFC 7591 §3.1: the metadata is a JSON object (null would decode to nothing).
		return m, ErrInvalidClientMetadata("request body is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		return m, ErrInvalidClientMetadata("request body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return m, ErrInvalidClientMetadata("request body has data after the JSON object")
	}
	// Member names are case-sensitive (RFC 8259 §4): encoding/json would read
	// "Redirect_URIs" as redirect_uris, so only the exact names are decoded; any other
	// member is ignored, as RFC 7591 §2 requires for unknown metadata.
	for name := range members {
		if !knownMetadata[name] {
			delete(members, name)
		}
	}
	exact, _ := json.Marshal(members)
	if err := json.Unmarshal(exact, &m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return m, ErrInvalidClientMetadata("%s has the wrong type", typeErr.Field)
		}
		return m, ErrInvalidClientMetadata("request body is not valid client metadata")
	}

	// RFC 7591 §2: redirect_uris is required for redirect-based flows.
	if len(m.RedirectURIs) == 0 {
		return m, ErrInvalidRedirectURI("redirect_uris is required")
	}
	if len(m.RedirectURIs) > MaxRedirectURIs {
		return m, ErrInvalidRedirectURI("at most %d redirect URIs may be registered", MaxRedirectURIs)
	}
	for _, u := range m.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			return m, err
		}
	}
	m.RedirectURIs = dedupe(m.RedirectURIs)
	// OpenID Connect Registration §2 application_type. A native client registers only
	// private-use schemes or http loopback URLs; "web" limits redirect URIs only for the
	// implicit grant, which OAuth 2.1 removed. Absent, no rule of either kind applies (most MCP
	// clients omit it and register loopback URLs).
	switch m.ApplicationType {
	case "", "web":
	case "native":
		for _, raw := range m.RedirectURIs {
			u, _ := url.Parse(raw) // valid: checked above
			scheme := strings.ToLower(u.Scheme)
			if scheme == "https" || (scheme == "http" && !IsLoopbackHost(u.Hostname())) {
				return m, ErrInvalidRedirectURI("a native application registers only private-use schemes or http loopback redirect URIs (OpenID Connect Registration section 2)")
			}
		}
	default:
		return m, ErrInvalidClientMetadata("application_type must be native or web")
	}

	switch m.TokenEndpointAuthMethod {
	case "":
		m.TokenEndpointAuthMethod = AuthMethodNone // MCP clients are public by default
	case AuthMethodNone, AuthMethodClientSecretPost, AuthMethodClientSecretBasic:
	default:
		return m, ErrInvalidClientMetadata("token_endpoint_auth_method must be none, client_secret_post or client_secret_basic")
	}

	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{GrantAuthorizationCode} // RFC 7591 §2 default
	}
	for _, g := range m.GrantTypes {
		if !IsSupportedGrant(g) { // RFC 7591 §3.2.2: invalid_client_metadata
			return m, ErrInvalidClientMetadata("grant type '%s' is not supported", truncate(g, 64))
		}
	}
	if !slices.Contains(m.GrantTypes, GrantAuthorizationCode) {
		return m, ErrInvalidClientMetadata("grant_types must include authorization_code")
	}
	m.GrantTypes = dedupe(m.GrantTypes)

	if len(m.ResponseTypes) == 0 {
		m.ResponseTypes = []string{"code"} // RFC 7591 §2 default
	}
	for _, r := range m.ResponseTypes {
		if r != "code" {
			// OAuth 2.1 removes the implicit grant: only "code" exists.
			return m, ErrInvalidClientMetadata("response type '%s' is not supported", truncate(r, 64))
		}
	}
	m.ResponseTypes = dedupe(m.ResponseTypes)

	m.ClientName = strings.TrimSpace(strings.Map(dropControl, m.ClientName))
	if n := []rune(m.ClientName); len(n) > maxClientNameRunes {
		return m, ErrInvalidClientMetadata("client_name is longer than %d characters", maxClientNameRunes)
	}
	for name, v := range map[string]string{"client_uri": m.ClientURI, "logo_uri": m.LogoURI} {
		if v != "" && !isHTTPSURL(v) {
			return m, ErrInvalidClientMetadata("%s must be an https URL", name)
		}
	}

	requested, ok := ParseScope(m.Scope)
	if !ok {
		return m, ErrInvalidClientMetadata("scope has characters outside RFC 6749 section 3.3")
	}
	var accepted Scope
	for _, s := range requested {
		if supported.Contains(s) {
			accepted = append(accepted, s)
		}
	}
	m.Scope = accepted.String()
	return m, nil
}

func isHTTPSURL(raw string) bool {
	if len(raw) > maxMetadataURILength {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

func dropControl(r rune) rune {
	if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
		return -1
	}
	return r
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
