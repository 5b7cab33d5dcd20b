// Package upstream is Authbridge's side of WorkOS AuthKit: it builds the sign-in URL,
// exchanges WorkOS's code for the person's identity, and reads the WorkOS API key from
// Secrets Manager in AWS. WorkOS tokens stay here: MCP clients never see them.
package upstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"
)

// Identity is the signed-in person as WorkOS reports them. RefreshToken is WorkOS's refresh
// token for the person's session: a secret, sealed before it is stored and never logged.
type Identity struct {
	UserID, Email, FirstName, LastName, OrganizationID, SessionID string
	RefreshToken                                                  string
}

// LogValue keeps the WorkOS refresh token out of any log line an Identity reaches.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", id.UserID), slog.String("organization_id", id.OrganizationID),
		slog.String("session_id", id.SessionID))
}

// ErrRejected means WorkOS refused the code (expired, reused, wrong verifier): the person
// should start again. Any other error is WorkOS being unavailable or misconfigured.
var ErrRejected = errors.New("upstream: WorkOS rejected the sign-in")

// ErrSessionEnded means WorkOS refused a refresh token (invalid_grant): the session was
// revoked or signed out, the user deleted, the organization membership removed or
// deactivated, or the token already used. Any other error is WorkOS being unavailable.
var ErrSessionEnded = errors.New("upstream: WorkOS refused the refresh: the session has ended")

// SignIn talks to WorkOS User Management through an injected client (never DefaultClient).
type SignIn struct {
	client      *usermanagement.Client
	clientID    string
	callbackURL string
}

// WorkOSTimeout bounds one call to WorkOS (authenticate at the callback, refresh at the token
// endpoint, the MCP tools' calls): one attempt, no retry (workos-go makes none either), so
// that the request ends within its budget (wiring.RequestBudget) and the client retries.
const WorkOSTimeout = 3 * time.Second

// NewSignIn builds the WorkOS client for endpoint (https://api.workos.com in production,
// the emulator locally). callbackURL is Authbridge's /api/ext/auth/callback.
func NewSignIn(endpoint, apiKey, clientID, callbackURL string) *SignIn {
	c := usermanagement.NewClient(apiKey)
	// workos-go concatenates the endpoint as is: a trailing slash would double it.
	c.Endpoint = strings.TrimRight(endpoint, "/")
	c.HTTPClient = &http.Client{Timeout: WorkOSTimeout}
	return &SignIn{client: c, clientID: clientID, callbackURL: callbackURL}
}

// Client exposes the WorkOS client for calls made on behalf of the signed-in person.
func (s *SignIn) Client() *usermanagement.Client { return s.client }

// AuthorizationURL is where the browser goes to sign in with AuthKit, with Authbridge's
// own state and PKCE challenge toward WorkOS.
func (s *SignIn) AuthorizationURL(state, codeChallenge string) (string, error) {
	u, err := s.client.GetAuthorizationURL(usermanagement.GetAuthorizationURLOpts{
		ClientID:            s.clientID,
		RedirectURI:         s.callbackURL,
		Provider:            "authkit",
		State:               state,
		CodeChallenge:       codeChallenge,
		CodeChallengeMethod: "S256",
	})
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Authenticate exchanges WorkOS's authorization code (with the PKCE verifier, and the
// person's IP address and user agent for WorkOS's session records) for their identity.
func (s *SignIn) Authenticate(ctx context.Context, code, verifier, ipAddress, userAgent string) (Identity, error) {
	resp, err := s.client.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{
		ClientID:     s.clientID,
		Code:         code,
		CodeVerifier: verifier,
		IPAddress:    ipAddress,
		UserAgent:    userAgent,
	})
	if err != nil {
		return Identity{}, authenticateError(err)
	}
	id := Identity{
		UserID:         resp.User.ID,
		Email:          resp.User.Email,
		FirstName:      resp.User.FirstName,
		LastName:       resp.User.LastName,
		OrganizationID: resp.OrganizationID,
		SessionID:      sessionID(resp.AccessToken),
		RefreshToken:   resp.RefreshToken,
	}
	if id.UserID == "" {
		return Identity{}, errors.New("upstream: WorkOS returned no user")
	}
	return id, nil
}

// Refresh exchanges WorkOS's refresh token for the person's current identity and a new
// refresh token (WorkOS rotates it: the one presented stops working). organizationID, when
// set, keeps the session in that organization. A refusal is ErrSessionEnded; any other error
// is an outage, and the token presented may then still be good.
func (s *SignIn) Refresh(ctx context.Context, refreshToken, organizationID string) (Identity, error) {
	resp, err := s.client.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID:       s.clientID,
		RefreshToken:   refreshToken,
		OrganizationID: organizationID,
	})
	if err != nil {
		return Identity{}, refreshError(err)
	}
	// workos-go v4.46.1 decodes only the two tokens of this answer: who the session belongs
	// to, and in which organization, are read from the access token's claims (sub, org_id,
	// sid). WorkOS's access token carries no email: that stays as at sign-in.
	claims := accessClaims(resp.AccessToken)
	id := Identity{UserID: claims.Sub, OrganizationID: claims.OrgID, SessionID: claims.SID, RefreshToken: resp.RefreshToken}
	if id.UserID == "" || id.RefreshToken == "" {
		return Identity{}, errors.New("upstream: refresh: WorkOS returned no user or no refresh token")
	}
	return id, nil
}

// refreshError classifies a failed refresh like authenticateError: a 4xx other than 401
// (WorkOS's API key), 408 and 429 (try again) is WorkOS refusing the token; anything else is
// an outage. Only WorkOS's status, error code and request id reach the error's text.
func refreshError(err error) error {
	status, code, requestID, ok := workosStatus(err)
	if !ok {
		return fmt.Errorf("upstream: refresh: %w", err) // transport: no WorkOS answer to leak
	}
	code = errorWord(code)
	if refused(status) {
		return fmt.Errorf("%w: %d %s", ErrSessionEnded, status, code)
	}
	return fmt.Errorf("upstream: refresh: WorkOS answered %d %s (request id %s)", status, code, errorWord(requestID))
}

// refused reports whether WorkOS's status refuses the request itself (the code, the session)
// rather than being unavailable: a 4xx other than 401 (Authbridge's API key) and 408 and 429,
// which ask to try again (RFC 9110 §15.5.9, RFC 6585 §4).
func refused(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusUnauthorized &&
		status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// sessionID reads the `sid` claim of the WorkOS access token. The token came straight from
// WorkOS over the server-to-server call above, so its payload is taken as is; Authbridge
// keeps the session id for logout and session revocation only.
func sessionID(accessToken string) string { return accessClaims(accessToken).SID }

// workosClaims are the claims Authbridge reads from a WorkOS access token.
type workosClaims struct {
	Sub   string `json:"sub"`
	OrgID string `json:"org_id"`
	SID   string `json:"sid"`
}

// accessClaims reads a WorkOS access token's payload (taken as is, see sessionID); zero
// when it is not a JWT.
func accessClaims(accessToken string) workosClaims {
	var claims workosClaims
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return claims
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims
	}
	if json.Unmarshal(payload, &claims) != nil {
		return workosClaims{}
	}
	return claims
}

// authenticateError classifies a failed code exchange: a 4xx other than 401 is WorkOS refusing
// this sign-in (ErrRejected); anything else is an outage. The error's text carries WorkOS's
// status, error code and request id only: workos-go's own error text can include WorkOS's
// message and a pending_authentication_token, which must not reach the logs.
func authenticateError(err error) error {
	status, code, requestID, ok := workosStatus(err)
	if !ok {
		return fmt.Errorf("upstream: authenticate: %w", err) // transport: no WorkOS answer to leak
	}
	code = errorWord(code)
	if refused(status) {
		return fmt.Errorf("%w: %d %s", ErrRejected, status, code)
	}
	return fmt.Errorf("upstream: authenticate: WorkOS answered %d %s (request id %s)", status, code, errorWord(requestID))
}

// workosStatus reads the HTTP status, WorkOS error code and request id from any of workos-go's
// error types: HTTPError, and the structured authentication errors that embed it.
func workosStatus(err error) (status int, code, requestID string, ok bool) {
	var h *workos_errors.HTTPError
	var v workos_errors.HTTPError
	var ev *workos_errors.EmailVerificationRequiredError
	var me *workos_errors.MFAEnrollmentError
	var mc *workos_errors.MFAChallengeError
	var ose *workos_errors.OrganizationSelectionRequiredError
	var sso *workos_errors.SSORequiredError
	var oam *workos_errors.OrganizationAuthenticationMethodsRequiredError
	switch {
	case errors.As(err, &v):
		h = &v
	case errors.As(err, &h):
	case errors.As(err, &ev):
		h = &ev.HTTPError
	case errors.As(err, &me):
		h = &me.HTTPError
	case errors.As(err, &mc):
		h = &mc.HTTPError
	case errors.As(err, &ose):
		h = &ose.HTTPError
	case errors.As(err, &sso):
		h = &sso.HTTPError
	case errors.As(err, &oam):
		h = &oam.HTTPError
	}
	if h == nil || h.Code == 0 {
		return 0, "", "", false
	}
	return h.Code, h.ErrorCode, h.RequestID, true
}

// errorWord keeps an identifier from WorkOS (an error code, a request id) only if it is a plain
// word of at most 64 characters, so nothing else WorkOS sends ends up in an error's text.
func errorWord(s string) string {
	if s == "" || len(s) > 64 {
		return "-"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "-"
		}
	}
	return s
}
