package workosemu

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// authorizeCompletePath is the target of the hosted sign-in page's forms.
const authorizeCompletePath = "/user_management/authorize/complete"

// authorizeParams are the query parameters usermanagement.GetAuthorizationURL can produce,
// in the order they are carried as hidden form fields.
var authorizeParams = []string{
	"client_id", "redirect_uri", "response_type", "provider", "connection_id", "organization_id",
	"state", "code_challenge", "code_challenge_method", "login_hint", "domain_hint", "screen_hint",
	"provider_scopes",
}

// authzRequest is a validated authorize request.
type authzRequest struct {
	params      map[string]string // every non-empty authorize parameter, verbatim
	redirectURI string
	state       string
	restrictOrg string // organization the sign-in is limited to (connection_id / organization_id)
	authMethod  string // authentication_method reported by authenticate
	allowSignUp bool
	signUp      bool // screen_hint=sign-up
}

// authzFailure is either an error page (when the redirect_uri cannot be trusted) or an error
// redirect to the validated redirect_uri.
type authzFailure struct {
	page        bool
	message     string
	code        string
	description string
}

func (e *Emulator) parseAuthorize(v url.Values) (*authzRequest, *authzFailure) {
	get := func(name string) (string, bool) {
		vs := v[name]
		if len(vs) > 1 {
			return "", false
		}
		if len(vs) == 1 {
			return vs[0], true
		}
		return "", true
	}
	clientID, ok := get("client_id")
	if !ok || clientID == "" || !secretEqual(clientID, e.clientID) {
		return nil, &authzFailure{page: true, message: "The client_id is missing or unknown."}
	}
	redirectURI, ok := get("redirect_uri")
	if !ok || !e.redirectURIs[redirectURI] {
		return nil, &authzFailure{page: true, message: "The redirect_uri is missing or not on this application's allowlist."}
	}

	req := &authzRequest{params: map[string]string{}, redirectURI: redirectURI}
	if vs := v["state"]; len(vs) == 1 {
		req.state = vs[0]
	}
	invalid := func(desc string) (*authzRequest, *authzFailure) {
		return req, &authzFailure{code: "invalid_request", description: desc}
	}
	for _, name := range authorizeParams {
		val, ok := get(name)
		if !ok {
			return invalid("The " + name + " parameter is repeated.")
		}
		if val != "" {
			req.params[name] = val
		}
	}
	p := req.params

	switch rt := p["response_type"]; rt {
	case "code":
	case "":
		return invalid("The response_type parameter is required.")
	default:
		return req, &authzFailure{code: "unsupported_response_type", description: "Only response_type=code is supported."}
	}

	selectors := 0
	for _, name := range []string{"provider", "connection_id", "organization_id"} {
		if p[name] != "" {
			selectors++
		}
	}
	if selectors != 1 {
		return invalid("Exactly one of provider, connection_id or organization_id is required.")
	}
	switch {
	case p["provider"] != "":
		if p["provider"] != "authkit" {
			return invalid("The provider is not supported; use authkit.")
		}
		req.authMethod, req.allowSignUp = "Password", true
	case p["connection_id"] != "":
		e.mu.Lock()
		org, ok := e.st.connections[p["connection_id"]]
		e.mu.Unlock()
		if !ok {
			return invalid("The connection_id does not name a connection.")
		}
		req.restrictOrg, req.authMethod = org, "SSO"
	default:
		e.mu.Lock()
		_, ok := e.st.orgs[p["organization_id"]]
		e.mu.Unlock()
		if !ok {
			return invalid("The organization_id does not name an organization.")
		}
		req.restrictOrg, req.authMethod = p["organization_id"], "SSO"
	}

	switch p["screen_hint"] {
	case "", "sign-in":
	case "sign-up":
		if p["provider"] != "authkit" {
			return invalid("screen_hint requires provider=authkit.")
		}
		req.signUp = true
	default:
		return invalid("screen_hint must be sign-in or sign-up.")
	}

	challenge, method := p["code_challenge"], p["code_challenge_method"]
	switch {
	case challenge == "" && method != "":
		return invalid("code_challenge_method was given without a code_challenge.")
	case challenge != "" && method != "S256":
		return invalid("code_challenge_method must be S256.")
	case challenge != "" && !validChallenge(challenge):
		return invalid("code_challenge must be 43 base64url characters (a SHA-256 digest).")
	}
	return req, nil
}

func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// appendQuery adds params to a registered URI, keeping the URI's own query as registered.
func appendQuery(base string, params url.Values) string {
	u, err := url.Parse(base)
	if err != nil { // allowlisted URIs were parsed at start-up
		return base
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + params.Encode()
	} else {
		u.RawQuery = params.Encode()
	}
	return u.String()
}

func redirect(w http.ResponseWriter, location string) {
	h := w.Header()
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

func (e *Emulator) fail(w http.ResponseWriter, req *authzRequest, f *authzFailure) {
	if f.page {
		renderPage(w, http.StatusBadRequest, pageData{Kind: "error", Title: "Sign-in error", Message: f.message})
		return
	}
	q := url.Values{"error": {f.code}, "error_description": {f.description}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	redirect(w, appendQuery(req.redirectURI, q))
}

// authorizePage answers GET /user_management/authorize with the hosted sign-in or sign-up page.
func (e *Emulator) authorizePage(w http.ResponseWriter, r *http.Request) {
	req, f := e.parseAuthorize(r.URL.Query())
	if f != nil {
		e.fail(w, req, f)
		return
	}
	if req.signUp {
		renderPage(w, http.StatusOK, e.signUpPage(req, req.params["login_hint"], "", "", ""))
		return
	}
	renderPage(w, http.StatusOK, e.signInPage(req, req.params["login_hint"], ""))
}

// authorizeComplete handles the sign-in page's forms. Everything in the form is re-validated.
func (e *Emulator) authorizeComplete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		renderPage(w, http.StatusUnsupportedMediaType, pageData{Kind: "error", Title: "Sign-in error", Message: "The form must be sent as application/x-www-form-urlencoded."})
		return
	}
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, pageData{Kind: "error", Title: "Sign-in error", Message: "The form could not be read."})
		return
	}
	form := r.PostForm
	req, f := e.parseAuthorize(form)
	if f != nil {
		e.fail(w, req, f)
		return
	}
	field := func(name string) string {
		if vs := form[name]; len(vs) == 1 {
			return vs[0]
		}
		return ""
	}

	switch field("action") {
	case "user":
		e.signIn(w, req, field("user_id"), "")
	case "organization":
		e.signIn(w, req, field("user_id"), field("selected_organization_id"))
	case "email":
		email, err := normalizeEmail(field("email"))
		if err != nil {
			renderPage(w, http.StatusBadRequest, e.signInPage(req, field("email"), "Enter a valid email address."))
			return
		}
		e.mu.Lock()
		id, known := e.st.usersByEmail[email]
		e.mu.Unlock()
		switch {
		case known:
			e.signIn(w, req, id, "")
		case req.allowSignUp:
			renderPage(w, http.StatusOK, e.signUpPage(req, email, "", "", "There is no account for that email yet. Create one."))
		default:
			renderPage(w, http.StatusBadRequest, e.signInPage(req, email, "No member of this organization has that email."))
		}
	case "signup":
		e.signUpSubmit(w, req, field("email"), field("first_name"), field("last_name"))
	case "cancel":
		e.fail(w, req, &authzFailure{code: "access_denied", description: "The user cancelled the sign-in."})
	default:
		renderPage(w, http.StatusBadRequest, e.signInPage(req, "", "Unknown form action."))
	}
}

func (e *Emulator) signUpSubmit(w http.ResponseWriter, req *authzRequest, rawEmail, rawFirst, rawLast string) {
	if !req.allowSignUp {
		renderPage(w, http.StatusBadRequest, e.signInPage(req, "", "Sign-up is not available for this connection."))
		return
	}
	first, okFirst := cleanName(rawFirst)
	last, okLast := cleanName(rawLast)
	email, err := normalizeEmail(rawEmail)
	switch {
	case err != nil:
		renderPage(w, http.StatusBadRequest, e.signUpPage(req, rawEmail, rawFirst, rawLast, "Enter a valid email address."))
		return
	case !okFirst || !okLast:
		renderPage(w, http.StatusBadRequest, e.signUpPage(req, rawEmail, rawFirst, rawLast, "Names must be at most 100 printable characters."))
		return
	}
	now := e.now()
	e.mu.Lock()
	if _, taken := e.st.usersByEmail[email]; taken {
		e.mu.Unlock()
		renderPage(w, http.StatusBadRequest, e.signUpPage(req, email, first, last, "An account with that email already exists. Sign in instead."))
		return
	}
	if len(e.st.users) >= maxUsers {
		e.mu.Unlock()
		renderPage(w, http.StatusServiceUnavailable, pageData{Kind: "error", Title: "Sign-up error", Message: "The emulator holds too many users; restart it."})
		return
	}
	u := &user{
		ID: "user_" + newULID(now), Email: email, FirstName: first, LastName: last,
		EmailVerified: true, Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now,
	}
	e.st.addUser(u)
	e.mu.Unlock()
	e.signIn(w, req, u.ID, "")
}

func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 100 || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "", false
		}
	}
	return s, true
}

// signIn picks the organization (asking the person when several are possible), issues a code
// and redirects back to the client.
func (e *Emulator) signIn(w http.ResponseWriter, req *authzRequest, userID, selectedOrg string) {
	now := e.now()
	e.mu.Lock()
	u, ok := e.st.users[userID]
	if !ok {
		e.mu.Unlock()
		renderPage(w, http.StatusBadRequest, e.signInPage(req, "", "Unknown user."))
		return
	}
	var orgID string
	switch {
	case req.restrictOrg != "":
		if e.st.activeMembership(u.ID, req.restrictOrg) == nil {
			e.mu.Unlock()
			renderPage(w, http.StatusBadRequest, e.signInPage(req, "", "That user is not an active member of this organization."))
			return
		}
		orgID = req.restrictOrg
	case selectedOrg != "":
		if e.st.activeMembership(u.ID, selectedOrg) == nil {
			e.mu.Unlock()
			renderPage(w, http.StatusBadRequest, e.signInPage(req, "", "That user is not an active member of the chosen organization."))
			return
		}
		orgID = selectedOrg
	default:
		active := e.st.activeMemberships(u.ID)
		if len(active) > 1 {
			data := pageData{Kind: "organization", Title: "Choose an organization", Hidden: hiddenFields(req), UserID: u.ID, Email: u.Email}
			for _, m := range active {
				data.Orgs = append(data.Orgs, orgChoice{ID: m.OrganizationID, Name: e.st.orgs[m.OrganizationID].Name, Role: m.Role})
			}
			e.mu.Unlock()
			renderPage(w, http.StatusOK, data)
			return
		}
		if len(active) == 1 {
			orgID = active[0].OrganizationID
		}
	}

	if len(e.st.codes) >= maxCodes/2 {
		e.st.sweepCodes(now)
	}
	if len(e.st.codes) >= maxCodes {
		e.mu.Unlock()
		renderPage(w, http.StatusServiceUnavailable, pageData{Kind: "error", Title: "Sign-in error", Message: "Too many pending sign-ins; try again later."})
		return
	}
	code := randomToken()
	e.st.codes[code] = &authCode{
		ClientID: e.clientID, UserID: u.ID, OrgID: orgID,
		Challenge: req.params["code_challenge"], AuthMethod: req.authMethod,
		Expires: now.Add(CodeTTL),
	}
	e.mu.Unlock()

	q := url.Values{"code": {code}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	redirect(w, appendQuery(req.redirectURI, q))
}

func hiddenFields(req *authzRequest) []field {
	var out []field
	for _, name := range authorizeParams {
		if v, ok := req.params[name]; ok && name != "screen_hint" {
			out = append(out, field{Name: name, Value: v})
		}
	}
	return out
}

// authorizeLink is the GET authorize URL for the same request with another screen_hint.
func authorizeLink(req *authzRequest, screenHint string) string {
	q := url.Values{}
	for name, v := range req.params {
		if name != "screen_hint" {
			q.Set(name, v)
		}
	}
	if screenHint != "" {
		q.Set("screen_hint", screenHint)
	}
	return "/user_management/authorize?" + q.Encode()
}

func (e *Emulator) signInPage(req *authzRequest, email, errMsg string) pageData {
	data := pageData{Kind: "signin", Title: "Sign in", Hidden: hiddenFields(req), Email: email, Error: errMsg}
	e.mu.Lock()
	defer e.mu.Unlock()
	if req.restrictOrg != "" {
		data.OrgName = e.st.orgs[req.restrictOrg].Name
	}
	for _, u := range e.st.sortedUsers() {
		if req.restrictOrg != "" && e.st.activeMembership(u.ID, req.restrictOrg) == nil {
			continue
		}
		name := strings.TrimSpace(u.FirstName + " " + u.LastName)
		if name == "" {
			name = u.Email
		}
		data.Users = append(data.Users, userChoice{ID: u.ID, Name: name, Email: u.Email})
	}
	if req.allowSignUp {
		data.SignUpURL = authorizeLink(req, "sign-up")
	}
	return data
}

func (e *Emulator) signUpPage(req *authzRequest, email, first, last, errMsg string) pageData {
	return pageData{
		Kind: "signup", Title: "Create an account", Hidden: hiddenFields(req),
		Email: email, FirstName: first, LastName: last, Error: errMsg,
		SignInURL: authorizeLink(req, ""),
	}
}

func renderPage(w http.ResponseWriter, status int, data pageData) {
	var buf bytes.Buffer
	if err := pages.Execute(&buf, data); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Internal error.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
