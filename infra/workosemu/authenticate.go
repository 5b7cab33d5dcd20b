package workosemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authenticateRequest is the JSON body the SDK's AuthenticateWith* calls send.
type authenticateRequest struct {
	ClientID       string `json:"client_id"`
	ClientSecret   string `json:"client_secret"`
	GrantType      string `json:"grant_type"`
	Code           string `json:"code"`
	CodeVerifier   string `json:"code_verifier"`
	RefreshToken   string `json:"refresh_token"`
	OrganizationID string `json:"organization_id"`
	IPAddress      string `json:"ip_address"`
	UserAgent      string `json:"user_agent"`
}

type authenticateResponse struct {
	User                 userJSON  `json:"user"`
	OrganizationID       *string   `json:"organization_id"`
	AccessToken          string    `json:"access_token"`
	RefreshToken         string    `json:"refresh_token"`
	AuthenticationMethod string    `json:"authentication_method"`
	Impersonator         *struct{} `json:"impersonator"`
}

// authenticate implements POST /user_management/authenticate for the authorization_code and
// refresh_token grants. Errors are OAuth-shaped: {"error","error_description"}.
func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			oauthError(w, http.StatusRequestEntityTooLarge, "invalid_request", "The request body is too large.")
			return
		}
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body could not be read.")
		return
	}
	req, ok := decodeAuthenticate(r.Header.Get("Content-Type"), body)
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body must be a JSON object of string fields.")
		return
	}
	if req.ClientID == "" || req.ClientSecret == "" ||
		!secretEqual(req.ClientID, e.clientID) || !secretEqual(req.ClientSecret, e.apiKey) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client ID or client secret.")
		return
	}
	switch req.GrantType {
	case "authorization_code":
		e.grantCode(w, req, e.issuerFor(r))
	case "refresh_token":
		e.grantRefresh(w, req, e.issuerFor(r))
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "The grant_type field is required.")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant_type is not supported by the emulator.")
	}
}

// decodeAuthenticate reads a JSON object (as the SDK sends) or, for curl users, a urlencoded form.
func decodeAuthenticate(contentType string, body []byte) (authenticateRequest, bool) {
	var req authenticateRequest
	ct, _, _ := mime.ParseMediaType(contentType)
	switch ct {
	case "application/x-www-form-urlencoded":
		form, err := parseForm(body)
		if err != nil {
			return req, false
		}
		req = authenticateRequest{
			ClientID: form["client_id"], ClientSecret: form["client_secret"], GrantType: form["grant_type"],
			Code: form["code"], CodeVerifier: form["code_verifier"], RefreshToken: form["refresh_token"],
			OrganizationID: form["organization_id"], IPAddress: form["ip_address"], UserAgent: form["user_agent"],
		}
		return req, true
	case "application/json", "":
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&req); err != nil {
			return req, false
		}
		if _, err := dec.Token(); err != io.EOF {
			return req, false
		}
		// A JSON null decodes without error into an untouched struct; require an object.
		if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			return req, false
		}
		return req, true
	default:
		return req, false
	}
}

func (e *Emulator) grantCode(w http.ResponseWriter, req authenticateRequest, iss string) {
	if req.Code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The code field is required.")
		return
	}
	now := e.now()
	e.mu.Lock()
	c, ok := e.st.codes[req.Code]
	if ok {
		// Single use: whatever happens next, this code is spent.
		delete(e.st.codes, req.Code)
	}
	switch {
	case !ok:
		e.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The code is invalid or has already been used.")
		return
	case !now.Before(c.Expires):
		e.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The code has expired.")
		return
	case !secretEqual(c.ClientID, req.ClientID):
		e.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The code was not issued to this client.")
		return
	}
	if c.Challenge != "" || req.CodeVerifier != "" {
		if c.Challenge == "" || !pkceMatches(req.CodeVerifier, c.Challenge) {
			e.mu.Unlock()
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The code_verifier does not match the code_challenge.")
			return
		}
	}
	u, ok := e.st.users[c.UserID]
	if !ok {
		e.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The user no longer exists.")
		return
	}
	if len(e.st.sessions) >= maxSessions {
		e.st.sweepSessions()
		if len(e.st.sessions) >= maxSessions {
			e.mu.Unlock()
			oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The emulator holds too many sessions; restart it.")
			return
		}
	}
	s := &session{
		ID: "session_" + newULID(now), UserID: u.ID, OrgID: c.OrgID, AuthMethod: c.AuthMethod,
		IPAddress: req.IPAddress, UserAgent: req.UserAgent,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(SessionTTL),
	}
	e.st.sessions[s.ID] = s
	u.LastSignInAt = now
	u.UpdatedAt = now
	resp, err := e.issueTokens(s, u, now, iss)
	e.mu.Unlock()
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "The access token could not be signed.")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// grantRefresh exchanges a refresh token for new tokens. Every refresh token is single use: the
// answer carries its replacement (rotation), and presenting a spent one fails. The exchange also
// fails once the session has ended (revoked, signed out, or its user deleted), has expired, or,
// for a session bound to an organization, once the user is no longer an active member of it.
func (e *Emulator) grantRefresh(w http.ResponseWriter, req authenticateRequest, iss string) {
	if req.RefreshToken == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The refresh_token field is required.")
		return
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	sid, ok := e.st.refresh[req.RefreshToken]
	if ok {
		delete(e.st.refresh, req.RefreshToken) // single use
	}
	s := e.st.sessions[sid]
	switch {
	case !ok || s == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token is invalid or already exchanged.")
		return
	case s.Ended:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Session has already ended.")
		return
	case !now.Before(s.ExpiresAt):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Session has expired.")
		return
	}
	u, ok := e.st.users[s.UserID]
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The user no longer exists.")
		return
	}
	orgID := s.OrgID
	if req.OrganizationID != "" {
		orgID = req.OrganizationID
	}
	if orgID != "" && e.st.activeMembership(u.ID, orgID) == nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The user is not an active member of that organization.")
		return
	}
	s.OrgID = orgID
	s.UpdatedAt = now
	resp, err := e.issueTokens(s, u, now, iss)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "The access token could not be signed.")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// issueTokens signs an access token and stores a fresh refresh token. Caller holds e.mu.
func (e *Emulator) issueTokens(s *session, u *user, now time.Time, iss string) (authenticateResponse, error) {
	claims := map[string]any{
		"iss": iss,
		"sub": u.ID,
		"sid": s.ID,
		"jti": newULID(now),
		"iat": now.Unix(),
		"exp": now.Add(AccessTokenTTL).Unix(),
	}
	var orgID *string
	if s.OrgID != "" {
		id := s.OrgID
		orgID = &id
		claims["org_id"] = id
		if m := e.st.activeMembership(u.ID, id); m != nil {
			perms := e.st.roles[m.Role]
			if perms == nil {
				perms = []string{}
			}
			claims["role"] = m.Role
			claims["roles"] = []string{m.Role}
			claims["permissions"] = perms
		}
	}
	token, err := signJWT(e.key, e.kid, claims)
	if err != nil {
		return authenticateResponse{}, err
	}
	refresh := randomToken()
	e.st.refresh[refresh] = s.ID
	return authenticateResponse{
		User:                 e.userJSON(u),
		OrganizationID:       orgID,
		AccessToken:          token,
		RefreshToken:         refresh,
		AuthenticationMethod: s.AuthMethod,
	}, nil
}

// pkceMatches checks base64url(sha256(verifier)) == challenge for an RFC 7636 verifier.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return secretEqual(b64(sum[:]), challenge)
}

// issuerFor is the configured issuer, or one derived from the address the caller used.
func (e *Emulator) issuerFor(r *http.Request) string {
	if e.issuer != "" {
		return e.issuer
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if host == "" || len(host) > 255 || strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != "" {
		host = "localhost"
	}
	return scheme + "://" + host + "/user_management/" + e.clientID
}

// parseForm decodes a urlencoded body, refusing repeated fields.
func parseForm(body []byte) (map[string]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(vals))
	for k, vs := range vals {
		if len(vs) != 1 {
			return nil, errors.New("repeated field " + k)
		}
		out[k] = vs[0]
	}
	return out, nil
}
