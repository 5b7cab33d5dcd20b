package authserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/web"
)

// pendingTTL bounds a consent request and the upstream state (MCP security best practices:
// about 10 minutes).
const pendingTTL = 10 * time.Minute

// authorizeHandler serves GET /api/ext/auth/authorize (RFC 6749 §4.1.1, OAuth 2.1 §4.1).
func (s *Server) authorizeHandler() http.Handler {
	return s.endpoint(PathAuthorize, web.Methods(http.HandlerFunc(s.authorize), http.MethodGet))
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, oerr, show := oauth.ParseAuthorizeQuery(r.URL.Query())
	if oerr != nil && show {
		s.errorPage(w, r, http.StatusBadRequest, oerr)
		return
	}
	if req.ClientID == "" {
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("client_id is required"))
		return
	}
	client, err := s.lookupClient(ctx, req.ClientID, true)
	var unknown *unknownClientError
	var unreachable *documentUnreachable
	switch {
	case errors.As(err, &unknown):
		// Never redirect for an unknown client (RFC 6749 §4.1.2.1).
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest(unknown.reason))
		return
	case errors.As(err, &unreachable):
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest(unreachable.reason))
		return
	case err != nil:
		s.unavailablePage(w, r, err)
		return
	}
	obs.SetClientID(ctx, client.ID)
	registered := oauth.RegisteredClient{ID: client.ID, RedirectURIs: client.RedirectURIs, GrantTypes: client.GrantTypes, Scope: client.Scope}
	redirectURI, oerr2 := oauth.RedirectTarget(req, registered)
	if oerr2 != nil {
		// Never redirect to an unvalidated redirect_uri (OAuth 2.1 §4.1.2.1).
		s.clientErrorPage(w, r, client.Name, oerr2)
		return
	}
	// RFC 9700 §4.11.2: redirect automatically only to a URI a person approved for this
	// client; before that, errors are shown on Authbridge's own page.
	approved := redirectApproved(client, redirectURI)
	refuse := func(e *oauth.Error) {
		if !approved {
			s.clientErrorPage(w, r, client.Name, e)
			return
		}
		s.log().InfoContext(ctx, "authorization refused", "outcome", e.Code, "reason", e.Description)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, errorRedirect(redirectURI, e, echoableState(r.URL.Query()), s.Config.Issuer), http.StatusFound)
	}
	if oerr != nil { // a repeated parameter other than client_id / redirect_uri
		refuse(oerr)
		return
	}
	valid, oerr := s.Config.Policy().Validate(req, registered, redirectURI)
	if oerr != nil {
		refuse(oerr)
		return
	}
	pending := store.AuthRequest{
		ClientID: valid.ClientID, RedirectURI: valid.RedirectURI, CodeChallenge: valid.CodeChallenge,
		Scope: valid.Scope.String(), Resource: valid.Resource, State: valid.State,
	}

	browser, fresh := browserID(r)
	browserHash := oauth.HashSecret(browser)
	var remembered store.Consent
	if !fresh && approved {
		remembered, err = s.Store.GetConsent(ctx, browserHash, client.ID, valid.Resource)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.unavailablePage(w, r, err)
			return
		}
		// MCP authorization (confused deputy): skip the page only for a consent of this
		// browser, client and resource covering every requested scope. The callback checks
		// that the person who signs in is the one who gave it.
		if remembered.UserID != "" && scopeWithin(pending.Scope, remembered.Scope) {
			upstream := store.UpstreamState{Request: pending, BrowserHash: browserHash, Remembered: remembered, RedirectApproved: approved}
			if s.startUpstream(w, r, upstream, http.StatusFound) {
				s.Metrics.Count(ctx, obs.AuthorizationsStarted)
			}
			return
		}
	}

	// MCP authorization (confused deputy): ask the person before forwarding to WorkOS.
	consent := store.ConsentRequest{Request: pending, BrowserHash: browserHash, Remembered: remembered, RedirectApproved: approved}
	setBrowserCookie(w, browser, s.Config.ConsentTTL)
	if !s.askConsent(w, r, client, consent, "") {
		return
	}
	s.log().InfoContext(ctx, "consent requested", "outcome", "consent_page")
	s.Metrics.Count(ctx, obs.AuthorizationsStarted)
}

// askConsent stores a consent request (with a fresh request id and CSRF token) and writes
// the consent page; it reports whether the page was written (else an error page was). The
// page is asked before sign-in (authorize) or, for a person other than the remembered one,
// after it (callback: consent.SignedIn is set, and workosRefresh is their WorkOS refresh
// token, kept sealed under the request id for the code the approval issues).
func (s *Server) askConsent(w http.ResponseWriter, r *http.Request, client knownClient, consent store.ConsentRequest, workosRefresh string) bool {
	requestID, csrf := oauth.NewOpaque("abr_"), oauth.NewOpaque("abx_")
	consent.CSRFHash = oauth.HashSecret(csrf)
	consent.SealedUpstream = sealUpstream(requestID, consent.Request.ClientID, workosRefresh)
	consent.ExpiresAt = s.now().Add(pendingTTL)
	if err := s.Store.PutConsentRequest(r.Context(), oauth.HashSecret(requestID), consent); err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	req := consent.Request
	host := displayHost(req.RedirectURI)
	page := web.ConsentPage{
		ClientName:          client.Name,
		ClientID:            client.ID,
		RedirectHost:        host.ascii,
		RedirectHostUnicode: host.unicode,
		RedirectHostInvalid: host.invalid,
		LoopbackOnly:        client.Domain == "" && allLoopback(client.RedirectURIs), // a document client: LoopbackRedirect
		Resource:            req.Resource,
		SignedInAs:          consent.SignedIn.Email,
		FormAction:          s.Config.Endpoint(PathConsent),
		RequestID:           requestID,
		CSRFToken:           csrf,
		UnverifiedApp:       client.Domain == "",
		FormTargets:         s.consentFormTargets(consent),
		// MCP authorization 2026-07-28 (Client ID Metadata Documents): the domain vouches
		// for the document; a loopback redirect URI is outside what it can vouch for.
		VerifiedDomain:   client.Domain,
		LoopbackRedirect: client.LoopbackRedirects,
	}
	if consent.SignedIn.ID != "" && page.SignedInAs == "" {
		page.SignedInAs = consent.SignedIn.ID
	}
	granted, _ := oauth.ParseScope(consent.Remembered.Scope)
	requested, _ := oauth.ParseScope(req.Scope)
	for _, sc := range requested {
		page.Scopes = append(page.Scopes, web.ScopeLine{Name: sc, Description: describeScope(sc), Granted: granted.Contains(sc)})
	}
	web.RenderConsent(w, page)
	return true
}

// consentFormTargets are the places the consent form's submission may be redirected to,
// which its CSP form-action must name because Chromium applies form-action to every redirect
// of a form submission. The client's redirect URI, always: an approval after sign-in goes
// there, and so does one before sign-in when WorkOS already has a session (consent, WorkOS,
// AuthKit, callback, client in one chain). Before sign-in also WorkOS: the configured
// endpoint (the emulator locally) and https:, for the AuthKit domain WorkOS forwards to,
// which the configuration does not know.
func (s *Server) consentFormTargets(consent store.ConsentRequest) []string {
	var targets []string
	if consent.SignedIn.ID == "" {
		if origin, ok := cspOrigin(s.Config.WorkOSEndpoint); ok {
			targets = append(targets, origin)
		}
		targets = append(targets, "https:")
	}
	if source, ok := cspOrigin(consent.Request.RedirectURI); ok {
		targets = append(targets, source)
	}
	return targets
}

// cspOrigin is the CSP source expression matching raw's origin: scheme://host[:port] with
// the host in ASCII, or the bare scheme ("cursor:") for a private-use scheme or a host CSP
// cannot write (an IPv6 literal).
func cspOrigin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" {
		return scheme + ":", true
	}
	host := u.Hostname()
	if strings.Contains(host, ":") { // IPv6 literal: not expressible as a CSP host-source
		return scheme + ":", true
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", false
	}
	if port := u.Port(); port != "" {
		return scheme + "://" + ascii + ":" + port, true
	}
	return scheme + "://" + ascii, true
}

// startUpstream sends the browser to WorkOS with a fresh state (≥ 128 random bits, bound to
// this request and browser server-side, single use, 10 minutes) and PKCE toward WorkOS.
// pending carries the request, the browser and the consent evidence; it reports whether
// the browser was sent (else an error page was served).
func (s *Server) startUpstream(w http.ResponseWriter, r *http.Request, pending store.UpstreamState, status int) bool {
	ctx := r.Context()
	state := oauth.NewOpaque("abs_")
	verifier := oauth.NewOpaque("")
	target, err := s.SignIn.AuthorizationURL(state, oauth.S256Challenge(verifier))
	if err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	pending.SealedVerifier = sealVerifier(state, verifier)
	pending.ExpiresAt = s.now().Add(pendingTTL)
	if err := s.Store.PutUpstreamState(ctx, oauth.HashSecret(state), pending); err != nil {
		s.unavailablePage(w, r, err)
		return false
	}
	s.log().InfoContext(ctx, "sign-in started", "outcome", "upstream_redirect")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, status)
	return true
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, e *oauth.Error) {
	s.log().InfoContext(r.Context(), "request refused", "outcome", e.Code, "reason", e.Description)
	web.RenderError(w, status, web.ErrorPage{Title: "This sign-in request can't continue", Message: e.Description, Code: e.Code})
}

// clientErrorPage shows an error of a known client's request on Authbridge's own page,
// naming the client, instead of redirecting to a redirect URI nobody approved.
func (s *Server) clientErrorPage(w http.ResponseWriter, r *http.Request, clientName string, e *oauth.Error) {
	s.log().InfoContext(r.Context(), "request refused", "outcome", e.Code, "reason", e.Description)
	if clientName == "" {
		clientName = "an unnamed application"
	}
	web.RenderError(w, http.StatusBadRequest, web.ErrorPage{
		Title: "This sign-in request can't continue", Message: e.Description, Code: e.Code, ClientName: clientName,
	})
}

func (s *Server) unavailablePage(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.log().WarnContext(r.Context(), "request timed out", "outcome", "temporarily_unavailable")
	} else {
		s.log().ErrorContext(r.Context(), "dependency failed", "outcome", "temporarily_unavailable", "error", err.Error())
	}
	s.retryPage(w, s.retryURL(r))
}

// retryPage is the page of a browser step that a dependency kept from completing (503, with
// Retry-After): nothing was spent, and retry, when known, repeats the step.
func (s *Server) retryPage(w http.ResponseWriter, retry string) {
	web.RenderError(w, http.StatusServiceUnavailable, web.ErrorPage{
		Title: "Sign-in is temporarily unavailable", Message: "Please try again in a moment.", Code: "temporarily_unavailable",
		RetryURL: retry,
	})
}

// retryURL is the address that repeats a browser GET step which wrote nothing (the
// authorization request, the connected-apps page); "" for other steps.
func (s *Server) retryURL(r *http.Request) string {
	if r.Method != http.MethodGet {
		return ""
	}
	var path string
	switch {
	case strings.HasSuffix(r.URL.Path, "/authorize"): // also the 2025-03-26 fallback /authorize
		path = PathAuthorize
	case strings.HasSuffix(r.URL.Path, PathConnectedApps):
		path = PathConnectedApps
	default:
		return ""
	}
	if r.URL.RawQuery == "" {
		return s.Config.Endpoint(path)
	}
	return s.Config.Endpoint(path) + "?" + r.URL.RawQuery
}

// authorizationRetryURL is the authorization request that produced req, sent again: the
// client still waits at its redirect URI with the same state and PKCE verifier.
func (s *Server) authorizationRetryURL(req store.AuthRequest) string {
	q := url.Values{"response_type": {"code"}, "client_id": {req.ClientID}, "redirect_uri": {req.RedirectURI},
		"code_challenge": {req.CodeChallenge}, "code_challenge_method": {"S256"}}
	for k, v := range map[string]string{"scope": req.Scope, "resource": req.Resource, "state": req.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return s.Config.Endpoint(PathAuthorize) + "?" + q.Encode()
}

// echoableState is the client's state when it may go back in an error response: sent once
// and within the length limit. A refused state is never echoed (RFC 6749 §4.1.2.1 returns
// the state "if present", which a refused one is not).
func echoableState(q url.Values) string {
	if len(q["state"]) != 1 || len(q.Get("state")) > oauth.MaxStateLength {
		return ""
	}
	return q.Get("state")
}

// approvedForm is how an approved redirect URI is recorded and compared: as requested,
// except that a loopback URI drops its port, which RFC 8252 §7.3 lets the client choose
// per request (as the registration match does).
func approvedForm(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme != "http" || !oauth.IsLoopbackHost(u.Hostname()) || u.Port() == "" {
		return redirectURI
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	return u.String()
}

// redirectApproved reports whether a person approved this client with this redirect URI.
func redirectApproved(client knownClient, redirectURI string) bool {
	want := approvedForm(redirectURI)
	for _, uri := range client.ApprovedRedirectURIs {
		if uri == want {
			return true
		}
	}
	return false
}

// scopeWithin reports whether every scope of requested is in granted.
func scopeWithin(requested, granted string) bool {
	req, ok1 := oauth.ParseScope(requested)
	got, ok2 := oauth.ParseScope(granted)
	return ok1 && ok2 && req.SubsetOf(got)
}

// unionScope is granted plus whatever of requested it lacks, in that order.
func unionScope(granted, requested string) string {
	out, _ := oauth.ParseScope(granted)
	more, _ := oauth.ParseScope(requested)
	for _, sc := range more {
		if !out.Contains(sc) {
			out = append(out, sc)
		}
	}
	return out.String()
}

// shownHost is a redirect URI's host as the consent page shows it.
type shownHost struct {
	ascii   string // what the browser resolves (punycode for an internationalised name)
	unicode string // the Unicode form, only when it differs from ascii (look-alike risk)
	invalid bool   // not a valid domain name (shown as received)
}

// displayHost shows a redirect URI's host in ASCII (UTS #46 lookup, punycode) so that an
// internationalised look-alike (Cyrillic "о" in "gооd.example.com") cannot pass for the
// familiar name; the Unicode form is kept only to be shown beside it with a warning.
func displayHost(raw string) shownHost {
	u, err := url.Parse(raw)
	if err != nil {
		return shownHost{ascii: raw, invalid: true}
	}
	if u.Host == "" {
		return shownHost{ascii: u.Scheme + ":"} // private-use scheme without authority
	}
	host, port := u.Hostname(), u.Port()
	withPort := func(h string) string {
		if port != "" {
			return h + ":" + port
		}
		return h
	}
	if net.ParseIP(host) != nil {
		return shownHost{ascii: u.Host}
	}
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		// Not a valid domain name: still shown in ASCII only (punycode without the
		// validation rules, else Go-escaped), with a warning.
		if ascii, err = idna.Punycode.ToASCII(host); err != nil {
			ascii = strings.Trim(strconv.QuoteToASCII(host), `"`)
		}
		return shownHost{ascii: withPort(ascii), invalid: true}
	}
	shown := shownHost{ascii: withPort(ascii)}
	if unicode, err := idna.Lookup.ToUnicode(ascii); err != nil || unicode != ascii {
		shown.unicode = withPort(unicode)
		if err != nil {
			shown.invalid = true
		}
	}
	return shown
}

func allLoopback(uris []string) bool {
	for _, raw := range uris {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || !oauth.IsLoopbackHost(u.Hostname()) {
			return false
		}
	}
	return len(uris) > 0
}
