package authserver_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
)

// The connected-apps page (issue "When the person leaves, access ends"): a person signs in
// through WorkOS, sees every app holding a grant of theirs, and revokes one or all. Same
// protections as the consent page: CSRF, no framing, escaping.

// openApps signs email in to the connected-apps page in browser b (WorkOS page, then the
// callback, which opens the page) and returns the page; a browser already signed in gets
// the page at once.
func (s *stack) openApps(t *testing.T, b *browser, email string) string {
	t.Helper()
	pageURL := s.Issuer + authserver.PathConnectedApps
	resp, page := b.get(pageURL)
	if resp.StatusCode == http.StatusOK {
		return page
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connected apps without a session: %d, want 302 to WorkOS: %s", resp.StatusCode, page)
	}
	resp, body := b.get(s.workosSignIn(t, b, resp.Header.Get("Location"), email))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != pageURL {
		t.Fatalf("callback of a connected-apps sign-in: %d to %q, want 303 to the page: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	cookie := ""
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-authbridge-apps=") {
			cookie = c
		}
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("page session cookie %q lacks %s", cookie, attr)
		}
	}
	resp, page = b.get(pageURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connected apps after sign-in: %d %s", resp.StatusCode, page)
	}
	return page
}

// appSection is the page's section of one client ("" when the page does not list it).
func appSection(page, clientID string) string {
	re := regexp.MustCompile(`(?s)<section class="app" data-client-id="` + regexp.QuoteMeta(clientID) + `">.*?</section>`)
	return re.FindString(page)
}

// postApps posts the page's form as browser b does, with extra headers (name, value pairs).
func postApps(t *testing.T, s *stack, b *browser, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.Issuer+authserver.PathConnectedApps, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", formType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestConnectedApps_PersonSeesAndRevokesOneApp(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	inspector := s.publicClient(t, `Inspector <script>alert(1)</script>`, "http://127.0.0.1/cb")
	web := s.publicClient(t, "Web Agent", "https://agent.example.com/oauth/cb")
	inspectorTokens := s.tokens(t, inspector, "http://127.0.0.1:7501/cb", "mcp:tools")
	webTokens := s.tokens(t, web, "https://agent.example.com/oauth/cb", "mcp:tools orgs:read")
	// Grace's grant of her own app: never on Ada's page, never revoked by her.
	graceApp := s.publicClient(t, "Grace's app", "https://grace.example.com/cb")
	graceFamily := s.family(t, graceApp, store.User{ID: graceUserID})

	b := newBrowser(t)
	page := s.openApps(t, b, "ada@example.com")
	if !strings.Contains(page, "Signed in as <strong>ada@example.com</strong>") {
		t.Errorf("the page does not name the signed-in person:\n%s", pageText(page))
	}
	in, wa := appSection(page, inspector), appSection(page, web)
	if in == "" || wa == "" {
		t.Fatalf("the page does not list both of Ada's apps:\n%s", page)
	}
	if appSection(page, graceApp) != "" || strings.Contains(page, "Grace") {
		t.Fatal("Ada's page lists Grace's app")
	}
	// html/template escapes the self-registered name.
	if strings.Contains(page, "<script>") || !strings.Contains(in, "Inspector &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the client name is not escaped:\n%s", in)
	}
	for _, want := range []string{"<code>127.0.0.1</code>", "<code>mcp:tools</code>", "<code>" + s.Issuer + "/mcp</code>", "UTC", "not verified"} {
		if !strings.Contains(in, want) {
			t.Errorf("Inspector's section lacks %q:\n%s", want, in)
		}
	}
	for _, want := range []string{"<code>agent.example.com</code>", "<code>mcp:tools</code> <code>orgs:read</code>"} {
		if !strings.Contains(wa, want) {
			t.Errorf("Web Agent's section lacks %q:\n%s", want, wa)
		}
	}

	// Revoke Inspector: 303 back to the page with a notice; its refresh fails at once.
	pageURL := s.Issuer + authserver.PathConnectedApps
	resp := b.submit(pageURL, in, `value="revoke"`, url.Values{"action": {"revoke"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != pageURL+"?notice=revoked" {
		t.Fatalf("revoke: %d to %q, want 303 to the page with notice=revoked", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Access revoked.") || appSection(page, inspector) != "" || appSection(page, web) == "" {
		t.Fatalf("after revoking Inspector the page must list Web Agent only, with a notice:\n%s", pageText(page))
	}
	wantOAuthError(t, s.postToken(t, refreshForm(inspector, str(inspectorTokens, "refresh_token"))), http.StatusBadRequest, "invalid_grant")
	if r := s.postToken(t, refreshForm(web, str(webTokens, "refresh_token"))); r.Status != http.StatusOK {
		t.Fatalf("the app not revoked must still refresh: %d %s", r.Status, r.Body)
	}
	s.wantRevoked(t, "Grace's grant after Ada revoked hers", false, graceFamily)
}

func TestConnectedApps_RevokeAll(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	a := s.publicClient(t, "App A", "http://127.0.0.1/cb")
	bApp := s.publicClient(t, "App B", "http://127.0.0.1/cb")
	ta := s.tokens(t, a, "http://127.0.0.1:7502/cb", "")
	tb := s.tokens(t, bApp, "http://127.0.0.1:7503/cb", "")

	b := newBrowser(t)
	page := s.openApps(t, b, "ada@example.com")
	pageURL := s.Issuer + authserver.PathConnectedApps
	resp := b.submit(pageURL, page, `value="revoke_all"`, url.Values{"action": {"revoke_all"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != pageURL+"?notice=revoked_all" {
		t.Fatalf("revoke all: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "No application holds access to your account.") {
		t.Fatalf("after revoking all, the page must list no app:\n%s", pageText(page))
	}
	wantOAuthError(t, s.postToken(t, refreshForm(a, str(ta, "refresh_token"))), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, s.postToken(t, refreshForm(bApp, str(tb, "refresh_token"))), http.StatusBadRequest, "invalid_grant")
	// Nothing left: the same form again changes nothing and says so.
	s.noWrites(t, "revoke all with nothing left", func() {
		resp := b.submit(pageURL, page, `value="sign_out"`, url.Values{"action": {"revoke_all"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != pageURL+"?notice=nothing" {
			t.Fatalf("revoke all again: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// The page's forms are protected like the consent page's: a forged or cross-site form, one
// without the page's session, or one for another person's app changes nothing; the page is
// never framed nor cached.
func TestConnectedApps_Protections(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	app := s.publicClient(t, "Protected", "http://127.0.0.1/cb")
	tokens := s.tokens(t, app, "http://127.0.0.1:7504/cb", "")
	graceApp := s.publicClient(t, "Grace's app", "https://grace.example.com/cb")
	graceFamily := s.family(t, graceApp, store.User{ID: graceUserID})

	b := newBrowser(t)
	page := s.openApps(t, b, "ada@example.com")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	csrf := m[1]
	forged := "A" + csrf[1:] // one character changed
	if csrf[0] == 'A' {
		forged = "B" + csrf[1:]
	}

	t.Run("headers", func(t *testing.T) {
		resp, _ := b.get(s.Issuer + authserver.PathConnectedApps)
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "form-action 'self'") {
			t.Errorf("CSP %q: want frame-ancestors 'none' and form-action 'self'", csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" || h.Get("Strict-Transport-Security") == "" {
			t.Errorf("headers: %v", h)
		}
	})
	refused := []struct {
		name   string
		b      *browser
		form   url.Values
		header []string
		status int
	}{
		{"wrong CSRF token", b, url.Values{"csrf_token": {forged}, "action": {"revoke_all"}}, nil, http.StatusForbidden},
		{"no CSRF token", b, url.Values{"action": {"revoke_all"}}, nil, http.StatusForbidden},
		{"another browser's CSRF token without its session", newBrowser(t), url.Values{"csrf_token": {csrf}, "action": {"revoke_all"}}, nil, http.StatusForbidden},
		{"cross-site Origin", b, url.Values{"csrf_token": {csrf}, "action": {"revoke_all"}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"unknown action", b, url.Values{"csrf_token": {csrf}, "action": {"delete_everything"}}, nil, http.StatusBadRequest},
		{"revoke without an app", b, url.Values{"csrf_token": {csrf}, "action": {"revoke"}}, nil, http.StatusBadRequest},
		{"a repeated parameter", b, url.Values{"csrf_token": {csrf}, "action": {"revoke_all", "revoke_all"}}, nil, http.StatusBadRequest},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			s.noWrites(t, c.name, func() {
				resp, body := postApps(t, s, c.b, c.form, c.header...)
				if resp.StatusCode != c.status || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("%d %s, want %d (an HTML page)", resp.StatusCode, body, c.status)
				}
			})
		})
	}
	t.Run("JSON body", func(t *testing.T) {
		s.noWrites(t, "JSON body", func() {
			r := do(t, http.MethodPost, s.Issuer+authserver.PathConnectedApps, "application/json", `{"action":"revoke_all"}`)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	})
	t.Run("another person's app", func(t *testing.T) {
		issuer, _ := url.Parse(s.Issuer)
		resp, _ := postApps(t, s, b, url.Values{"csrf_token": {csrf}, "action": {"revoke"}, "client_id": {graceApp}},
			"Origin", issuer.Scheme+"://"+issuer.Host)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?notice=nothing") {
			t.Fatalf("%d to %q, want 303 with notice=nothing", resp.StatusCode, resp.Header.Get("Location"))
		}
		s.wantRevoked(t, "Grace's grant, revoked by Ada's page", false, graceFamily)
	})
	if r := s.postToken(t, refreshForm(app, str(tokens, "refresh_token"))); r.Status != http.StatusOK {
		t.Fatalf("after refused forms the app must still refresh: %d %s", r.Status, r.Body)
	}
	t.Run("expired session", func(t *testing.T) {
		s.clock.advance(16 * time.Minute)
		defer s.clock.advance(-16 * time.Minute)
		resp, _ := b.get(s.Issuer + authserver.PathConnectedApps)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("an expired page session: %d, want 302 to sign in again", resp.StatusCode)
		}
	})
	t.Run("sign out", func(t *testing.T) {
		resp, body := postApps(t, s, b, url.Values{"csrf_token": {csrf}, "action": {"sign_out"}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed out") {
			t.Fatalf("sign out: %d %s", resp.StatusCode, body)
		}
		if resp, _ := b.get(s.Issuer + authserver.PathConnectedApps); resp.StatusCode != http.StatusFound {
			t.Fatalf("after signing out the page must ask to sign in again: %d", resp.StatusCode)
		}
	})
}

// MCP authorization (consent per person and client): an app the person revoked on the page
// does not get a new grant silently through the consent remembered in their browser; they
// are asked again, and once they approve, the remembered consent applies again.
func TestConnectedApps_RevokedAppAsksConsentAgain(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	redirectURI := "http://127.0.0.1:7505/cb"
	app := s.publicClient(t, "Asks again", "http://127.0.0.1/cb")
	resource := s.Issuer + "/mcp"
	b := newBrowser(t) // the person's browser: consent remembered there
	authorize := func() (*http.Response, string) {
		t.Helper()
		_, challenge := pkce()
		resp, page := b.get(s.authorizeURL(authorizeParams(app, redirectURI, challenge, "st", resource, "")))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("authorize with a remembered consent: %d, want 302 to WorkOS: %s", resp.StatusCode, page)
		}
		return b.get(s.workosSignIn(t, b, resp.Header.Get("Location"), "ada@example.com"))
	}
	verifier, challenge := pkce()
	final := s.signIn(t, b, authorizeParams(app, redirectURI, challenge, "st", resource, ""), "ada@example.com")
	s.exchangeCode(t, final, app, redirectURI, verifier, resource) // the grant the page lists
	if resp, _ := authorize(); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("before revocation the remembered consent must skip the page: %d", resp.StatusCode)
	}

	apps := newBrowser(t) // the page in another browser
	page := s.openApps(t, apps, "ada@example.com")
	resp := apps.submit(s.Issuer+authserver.PathConnectedApps, appSection(page, app), `value="revoke"`, url.Values{"action": {"revoke"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}

	s.clock.advance(2 * time.Second) // the new approval comes after the revocation
	resp, page = authorize()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) || !strings.Contains(page, "ada@example.com") {
		t.Fatalf("after the person revoked the app, the callback must ask for consent again: %d %s", resp.StatusCode, pageText(page))
	}
	resp = b.submit(s.Issuer+authserver.PathCallback, page, `name="decision"`, url.Values{"decision": {"approve"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("approving again: %d to %q, want 303 with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := authorize(); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("a consent given after the revocation must skip the page again: %d", resp.StatusCode)
	}
}

// The person's page session, the WorkOS state and the revocation record are stored by hash
// or id only: the cookie's value is nowhere in the table.
func TestConnectedApps_SessionStoredHashed(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	b := newBrowser(t)
	s.openApps(t, b, "ada@example.com")
	u, _ := url.Parse(s.Issuer)
	var session string
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "__Host-authbridge-apps" {
			session = c.Value
		}
	}
	if !strings.HasPrefix(session, "abp_") {
		t.Fatalf("no page session cookie in the browser (got %q)", session)
	}
	s.noSecretAnywhere(t, session, strings.TrimPrefix(session, "abp_"))
	want := "APPSESSION#" + base64.RawURLEncoding.EncodeToString(oauth.HashSecret(session))
	found := false
	for _, it := range s.scanItems(t) {
		if pk, ok := it["pk"].(*types.AttributeValueMemberS); ok && pk.Value == want {
			found = true
		}
	}
	if !found {
		t.Fatal("the page session is not stored under the hash of its cookie")
	}
}
