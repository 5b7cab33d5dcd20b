package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// hostileEcho is a client-supplied value with every kind of character RFC 6749 §5.2 keeps
// out of error_description: a double quote, a backslash, a section sign, an ellipsis,
// other non-ASCII letters and a control character.
const hostileEcho = "\"x\\\u00a7\u2026g\u043e\u043ed\u00e9\x01"

// wantDescriptionCharset fails unless the reply's error_description uses only
// %x20-21 / %x23-5B / %x5D-7E (RFC 6749 §5.2).
func wantDescriptionCharset(t *testing.T, what string, r reply) {
	t.Helper()
	var body struct {
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Description == "" {
		t.Fatalf("%s: no error_description in %d %s", what, r.Status, r.Body)
	}
	for i := 0; i < len(body.Description); i++ {
		if c := body.Description[i]; !(c == 0x20 || c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e) {
			t.Fatalf("%s: error_description %q has byte 0x%02x, outside RFC 6749 §5.2", what, body.Description, c)
		}
	}
}

// RFC 6749 §5.2 / RFC 7591 §3.2.2: descriptions that echo a client's value (an unsupported
// grant or response type, a redirect scheme, a repeated parameter's name) keep to the
// allowed characters over HTTP, and the refused requests store nothing.
func TestRFC6749_5_2_EchoedClientValuesInErrorDescription(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	registrations := map[string]map[string]any{
		"grant type":    {"redirect_uris": []string{"https://app.example/cb"}, "grant_types": []string{"authorization_code", hostileEcho}},
		"response type": {"redirect_uris": []string{"https://app.example/cb"}, "response_types": []string{hostileEcho}},
	}
	for what, metadata := range registrations {
		body, _ := json.Marshal(metadata)
		s.noWrites(t, what, func() {
			r := s.postRegister(t, "application/json", string(body))
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_client_metadata")
			wantDescriptionCharset(t, what, r)
		})
	}
	s.noWrites(t, "repeated parameter", func() {
		form := url.Values{"grant_type": {"refresh_token"}, hostileEcho: {"1", "2"}}
		r := s.postToken(t, form)
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
		wantDescriptionCharset(t, "repeated parameter at the token endpoint", r)
	})
	s.noWrites(t, "repeated parameter at revocation", func() {
		r := s.revoke(t, url.Values{"token": {"x"}, hostileEcho: {"1", "2"}})
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
		wantDescriptionCharset(t, "repeated parameter at the revocation endpoint", r)
	})
}
