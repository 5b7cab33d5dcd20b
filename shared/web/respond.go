// Package web holds the HTTP plumbing every Authbridge endpoint shares: JSON and OAuth error
// responses, request body limits, CORS, security headers, HTML pages, and the adapter that
// turns an API Gateway proxy event into an http.Request.
package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/authbridge/authbridge/shared/oauth"
)

// JSON writes v as a JSON response.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	SetTransportSecurity(w)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// NoStore marks a response as carrying credentials (RFC 6749 §5.1).
func NoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// OAuthError writes an RFC 6749 §5.2 error response. invalid_client is a 401 with a
// WWW-Authenticate challenge, as §5.2 requires when the client tried to authenticate.
func OAuthError(w http.ResponseWriter, e *oauth.Error) {
	NoStore(w)
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfterSeconds) // RFC 9110 §10.2.3: when to try again
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="authbridge", error="invalid_client"`)
	}
	JSON(w, e.Status, map[string]string{"error": e.Code, "error_description": e.Description})
}

// RetryAfterSeconds is the Retry-After of every 503 answer (JSON or page): a dependency
// failed or was too slow, and the same request may be sent again.
const RetryAfterSeconds = "5"

// ReadBody reads at most limit bytes of the request body, refusing larger bodies.
func ReadBody(r *http.Request, limit int64) ([]byte, *oauth.Error) {
	if r.ContentLength > limit {
		return nil, oauth.ErrInvalidRequest("request body is larger than %d bytes", limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, oauth.ErrInvalidRequest("request body could not be read")
	}
	if int64(len(body)) > limit {
		return nil, oauth.ErrInvalidRequest("request body is larger than %d bytes", limit)
	}
	return body, nil
}

// HasMediaType reports whether the request's Content-Type is mediaType (parameters ignored).
func HasMediaType(r *http.Request, mediaType string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == mediaType
}

// MaxFormBody bounds token, revocation and consent form bodies.
const MaxFormBody = 16 << 10

// ParseForm reads an application/x-www-form-urlencoded body (RFC 6749 §3.2) and refuses
// parameters sent more than once (RFC 6749 §3.2: "MUST NOT be included more than once").
func ParseForm(r *http.Request) (url.Values, *oauth.Error) {
	if !HasMediaType(r, "application/x-www-form-urlencoded") {
		return nil, oauth.ErrInvalidRequest("content type must be application/x-www-form-urlencoded")
	}
	body, oerr := ReadBody(r, MaxFormBody)
	if oerr != nil {
		return nil, oerr
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauth.ErrInvalidRequest("request body is not valid form encoding")
	}
	for name, vals := range form {
		if len(vals) > 1 {
			return nil, oauth.ErrInvalidRequest("parameter %s was sent more than once", truncate(name, 40))
		}
	}
	return form, nil
}

// AsOAuthError returns err as an *oauth.Error, or a server_error that reveals nothing.
func AsOAuthError(err error) *oauth.Error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe
	}
	return oauth.ErrServerError("the request could not be completed")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
