// Package oauth holds Authbridge's protocol rules — OAuth 2.1 with PKCE, RFC 7591 dynamic
// client registration, RFC 8707 resource indicators, RFC 8252 redirect policy — as plain Go
// that can be tested without AWS. Handlers return *Error values; one writer renders them.
package oauth

import (
	"fmt"
	"net/http"
	"strings"
)

// Error is an OAuth protocol error (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1).
type Error struct {
	Code        string // the registered error code, e.g. "invalid_grant"
	Description string // human-readable, safe to show to the client: never echoes secrets; RFC 6749 §5.2 charset (DescriptionCharset)
	Status      int    // HTTP status for JSON endpoints
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Description) }

func newError(code string, status int) func(format string, args ...any) *Error {
	return func(format string, args ...any) *Error {
		return &Error{Code: code, Description: DescriptionCharset(fmt.Sprintf(format, args...)), Status: status}
	}
}

// DescriptionCharset returns s in the only characters RFC 6749 §5.2 allows in
// error_description (%x20-21 / %x23-5B / %x5D-7E: printable ASCII without '"' and '\').
// Every constructor applies it, so a client-supplied value echoed into a description cannot
// carry anything else: a double quote becomes an apostrophe, a backslash a slash, the section
// sign "section ", an ellipsis "...", and any other character outside the set (non-ASCII,
// control) a question mark.
func DescriptionCharset(s string) string {
	if AllowedInDescription(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteByte('\'')
		case r == '\\':
			b.WriteByte('/')
		case r == '§':
			b.WriteString("section ")
		case r == '…':
			b.WriteString("...")
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// AllowedInDescription reports whether s uses only RFC 6749 §5.2's error_description
// characters (%x20-21 / %x23-5B / %x5D-7E).
func AllowedInDescription(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// The error codes Authbridge answers with, each with the status its RFC gives it.
var (
	ErrInvalidRequest          = newError("invalid_request", http.StatusBadRequest)           // RFC 6749 §5.2
	ErrInvalidClient           = newError("invalid_client", http.StatusUnauthorized)          // RFC 6749 §5.2: 401 + WWW-Authenticate
	ErrInvalidGrant            = newError("invalid_grant", http.StatusBadRequest)             // RFC 6749 §5.2
	ErrUnauthorizedClient      = newError("unauthorized_client", http.StatusBadRequest)       // RFC 6749 §5.2
	ErrUnsupportedGrantType    = newError("unsupported_grant_type", http.StatusBadRequest)    // RFC 6749 §5.2
	ErrInvalidScope            = newError("invalid_scope", http.StatusBadRequest)             // RFC 6749 §5.2
	ErrInvalidTarget           = newError("invalid_target", http.StatusBadRequest)            // RFC 8707 §2
	ErrAccessDenied            = newError("access_denied", http.StatusForbidden)              // RFC 6749 §4.1.2.1
	ErrUnsupportedResponseType = newError("unsupported_response_type", http.StatusBadRequest) // RFC 6749 §4.1.2.1
	ErrInvalidRedirectURI      = newError("invalid_redirect_uri", http.StatusBadRequest)      // RFC 7591 §3.2.2
	ErrInvalidClientMetadata   = newError("invalid_client_metadata", http.StatusBadRequest)   // RFC 7591 §3.2.2
	ErrUnsupportedTokenType    = newError("unsupported_token_type", http.StatusBadRequest)    // RFC 7009 §2.2.1
	ErrServerError             = newError("server_error", http.StatusInternalServerError)     // RFC 6749 §4.1.2.1
	ErrTemporarilyUnavailable  = newError("temporarily_unavailable", http.StatusServiceUnavailable)
)
