package oauth

import (
	"net/http"
	"testing"
)

// wantCode fails the test unless err carries the OAuth error code want ("" means no error).
func wantCode(t testing.TB, err *Error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error %v", err)
	case want != "" && err == nil:
		t.Fatalf("got no error, want %s", want)
	case want != "" && err.Code != want:
		t.Fatalf("got error %v, want code %s", err, want)
	}
}

func TestErrorCodesAndStatuses(t *testing.T) {
	tests := []struct {
		name   string
		ctor   func(string, ...any) *Error
		code   string
		status int
	}{
		{"RFC 6749 §5.2 invalid_request", ErrInvalidRequest, "invalid_request", http.StatusBadRequest},
		{"RFC 6749 §5.2 invalid_client is 401", ErrInvalidClient, "invalid_client", http.StatusUnauthorized},
		{"RFC 6749 §5.2 invalid_grant", ErrInvalidGrant, "invalid_grant", http.StatusBadRequest},
		{"RFC 6749 §5.2 unauthorized_client", ErrUnauthorizedClient, "unauthorized_client", http.StatusBadRequest},
		{"RFC 6749 §5.2 unsupported_grant_type", ErrUnsupportedGrantType, "unsupported_grant_type", http.StatusBadRequest},
		{"RFC 6749 §5.2 invalid_scope", ErrInvalidScope, "invalid_scope", http.StatusBadRequest},
		{"RFC 8707 §2 invalid_target", ErrInvalidTarget, "invalid_target", http.StatusBadRequest},
		{"RFC 6749 §4.1.2.1 access_denied", ErrAccessDenied, "access_denied", http.StatusForbidden},
		{"RFC 6749 §4.1.2.1 unsupported_response_type", ErrUnsupportedResponseType, "unsupported_response_type", http.StatusBadRequest},
		{"RFC 7591 §3.2.2 invalid_redirect_uri", ErrInvalidRedirectURI, "invalid_redirect_uri", http.StatusBadRequest},
		{"RFC 7591 §3.2.2 invalid_client_metadata", ErrInvalidClientMetadata, "invalid_client_metadata", http.StatusBadRequest},
		{"RFC 7009 §2.2.1 unsupported_token_type", ErrUnsupportedTokenType, "unsupported_token_type", http.StatusBadRequest},
		{"RFC 6749 §4.1.2.1 server_error", ErrServerError, "server_error", http.StatusInternalServerError},
		{"RFC 6749 §4.1.2.1 temporarily_unavailable", ErrTemporarilyUnavailable, "temporarily_unavailable", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.ctor("bad %s %d", "thing", 7)
			if e.Code != tt.code || e.Status != tt.status {
				t.Fatalf("got code %q status %d, want %q %d", e.Code, e.Status, tt.code, tt.status)
			}
			if e.Description != "bad thing 7" {
				t.Fatalf("description %q not formatted", e.Description)
			}
			if got, want := e.Error(), tt.code+": bad thing 7"; got != want {
				t.Fatalf("Error() = %q, want %q", got, want)
			}
		})
	}
}
