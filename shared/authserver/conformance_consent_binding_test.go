package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Seeded WorkOS users (infra/workos-seed.json).
const (
	adaUserID   = "user_01JADAGS1DPDFA9S9S631SFWJ6"
	graceUserID = "user_01JGRACEKMTYT908QFRXV1B71A"
)

// consentAsked sends b's authorization request q and reports whether Authbridge asked for
// consent before sign-in (else it must have sent the browser straight to WorkOS).
func (s *stack) consentAsked(t *testing.T, b *browser, q url.Values) bool {
	t.Helper()
	resp, page := b.get(s.authorizeURL(q))
	switch {
	case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`):
		return true
	case resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), s.Issuer):
		return false
	}
	t.Fatalf("authorize answered %d %q (%s)", resp.StatusCode, resp.Header.Get("Location"), pageText(page))
	return false
}

// countPrefix counts the table's items whose key starts with prefix.
func (s *stack) countPrefix(t *testing.T, prefix string) int {
	t.Helper()
	n := 0
	for _, it := range s.scanItems(t) {
		if strings.HasPrefix(avString(it["pk"]), `S:"`+prefix) {
			n++
		}
	}
	return n
}

// exchangeCode redeems the code of a final redirect and returns the token response and the
// access token's claims (read, not verified: the token tests verify).
func (s *stack) exchangeCode(t *testing.T, final *url.URL, clientID, redirectURI, verifier, resource string) (map[string]any, map[string]any) {
	t.Helper()
	g := grant{ClientID: clientID, RedirectURI: redirectURI, Code: final.Query().Get("code"), Verifier: verifier, Resource: resource}
	if g.Code == "" {
		t.Fatalf("no code in %s", final)
	}
	r := s.postToken(t, g.form())
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	tok := r.json(t)
	claims := jwtClaims(t, str(tok, "access_token"))
	return tok, claims
}

// MCP authorization (confused deputy, consent per scope set): a remembered consent covers
// only the scopes approved; a request for more shows the page again (incremental consent,
// marking what was already allowed), and the approved set grows.
func TestMCPConsent_ScopeGrowthAsksAgain(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const redirectURI = "http://127.0.0.1:4100/cb"
	clientID := s.publicClient(t, "Scopes", "http://127.0.0.1/cb")
	resource := s.Issuer + "/mcp"
	b := newBrowser(t)
	params := func(scope string) (url.Values, string) {
		verifier, challenge := pkce()
		return authorizeParams(clientID, redirectURI, challenge, "st", resource, scope), verifier
	}

	q, verifier := params("mcp:tools")
	if !s.consentAsked(t, b, q) {
		t.Fatal("a new browser was not asked")
	}
	tok, _ := s.exchangeCode(t, s.signIn(t, b, q, "ada@example.com"), clientID, redirectURI, verifier, resource)
	if tok["scope"] != "mcp:tools" {
		t.Fatalf("first grant: scope %v", tok["scope"])
	}

	q, verifier = params("mcp:tools orgs:read")
	resp, page := b.get(s.authorizeURL(q))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("a larger scope set skipped the consent page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(page, "orgs:read") || !strings.Contains(page, "already allowed") {
		t.Fatalf("the page does not show the new scope beside the one already allowed: %s", pageText(page))
	}
	tok, _ = s.exchangeCode(t, s.signIn(t, b, q, "ada@example.com"), clientID, redirectURI, verifier, resource)
	if tok["scope"] != "mcp:tools orgs:read" {
		t.Fatalf("second grant: scope %v", tok["scope"])
	}

	// Both scopes are now approved, alone or together.
	for _, scope := range []string{"orgs:read", "mcp:tools", "orgs:read mcp:tools"} {
		q, _ := params(scope)
		if s.consentAsked(t, b, q) {
			t.Fatalf("scope %q within the approved set was asked again", scope)
		}
	}
}

// MCP authorization and RFC 8707: consent is per resource; approving a client for one
// protected resource does not approve it for another.
func TestMCPConsent_AnotherResourceAsksAgain(t *testing.T) {
	t.Parallel()
	const tools, files = "https://tools.example.com/mcp", "https://tools.example.com/files"
	s := newStack(t, map[string]string{"PROTECTED_RESOURCES": tools + "," + files})
	const redirectURI = "http://127.0.0.1:4200/cb"
	clientID := s.publicClient(t, "Resources", "http://127.0.0.1/cb")
	b := newBrowser(t)

	verifier, challenge := pkce()
	q := authorizeParams(clientID, redirectURI, challenge, "st", tools, "mcp:tools")
	tok, claims := s.exchangeCode(t, s.signIn(t, b, q, "ada@example.com"), clientID, redirectURI, verifier, tools)
	if claims["aud"] != tools || tok["scope"] != "mcp:tools" {
		t.Fatalf("first grant: aud %v scope %v", claims["aud"], tok["scope"])
	}
	if s.consentAsked(t, b, q) {
		t.Fatal("the same resource was asked again")
	}
	q = authorizeParams(clientID, redirectURI, challenge, "st", files, "mcp:tools")
	if !s.consentAsked(t, b, q) {
		t.Fatal("another resource skipped the consent page")
	}
}

// MCP authorization (consent per person): consent remembered in a browser belongs to the
// person who gave it. Another person signing in there gets no code until they approve on a
// consent page shown after sign-in (CSRF-protected, one use); their approval issues the
// code without a second sign-in. The first person is then asked again.
func TestMCPConsent_AnotherPersonAsksAfterSignIn(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const redirectURI = "http://127.0.0.1:4300/cb"
	clientID := s.publicClient(t, "People", "http://127.0.0.1/cb")
	resource := s.Issuer + "/mcp"
	b := newBrowser(t)
	params := func(state string) (url.Values, string) {
		verifier, challenge := pkce()
		return authorizeParams(clientID, redirectURI, challenge, state, resource, "mcp:tools"), verifier
	}

	q, verifier := params("ada-1")
	if _, claims := s.exchangeCode(t, s.signIn(t, b, q, "ada@example.com"), clientID, redirectURI, verifier, resource); claims["sub"] != adaUserID {
		t.Fatalf("first grant: sub %v", claims["sub"])
	}

	// Grace, same browser: no page before WorkOS (the browser's consent is on record, and the
	// person is not known yet); once she has signed in, the callback asks her and issues no code.
	q, verifier = params("grace-1")
	if s.consentAsked(t, b, q) {
		t.Fatal("the remembered consent was not used before sign-in")
	}
	callback := s.toCallbackAs(t, b, q, "grace@example.com")
	codes := s.countPrefix(t, "CODE#")
	resp, page := b.get(callback)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("another person was not asked after sign-in: %d %q (%s)", resp.StatusCode, resp.Header.Get("Location"), pageText(page))
	}
	if !strings.Contains(page, "grace@example.com") {
		t.Fatalf("the consent page after sign-in does not name the signed-in person: %s", pageText(page))
	}
	if got := s.countPrefix(t, "CODE#"); got != codes {
		t.Fatalf("a code was stored for a person who had not consented (%d -> %d)", codes, got)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], in[2])
	}

	// The page is CSRF-protected and bound to this browser, like the one before sign-in.
	s.noWrites(t, "forged consent after sign-in", func() {
		if status, loc, _ := s.postConsent(t, b, with(form, "decision", "approve", "csrf_token", "abx_forged")); status != http.StatusForbidden || loc != "" {
			t.Fatalf("forged CSRF token: %d %s", status, loc)
		}
		if status, loc, _ := s.postConsent(t, newBrowser(t), with(form, "decision", "approve")); status != http.StatusForbidden || loc != "" {
			t.Fatalf("another browser: %d %s", status, loc)
		}
	})

	// Approval issues Grace's code at once, with the client's state and iss.
	status, loc, _ := s.postConsent(t, b, with(form, "decision", "approve"))
	final := mustURL(t, loc)
	if status != http.StatusSeeOther || final.Host != "127.0.0.1:4300" || final.Query().Get("state") != "grace-1" || final.Query().Get("iss") != s.Issuer {
		t.Fatalf("approval after sign-in: %d %s", status, loc)
	}
	if _, claims := s.exchangeCode(t, final, clientID, redirectURI, verifier, resource); claims["sub"] != graceUserID {
		t.Fatalf("code after consent: sub %v, want Grace", claims["sub"])
	}
	if status, _, _ := s.postConsent(t, b, with(form, "decision", "approve")); status != http.StatusBadRequest {
		t.Fatalf("replayed consent after sign-in: %d", status)
	}

	// Grace again: straight through, her consent is on record.
	q, verifier = params("grace-2")
	if _, claims := s.exchangeCode(t, s.signIn(t, b, q, "grace@example.com"), clientID, redirectURI, verifier, resource); claims["sub"] != graceUserID {
		t.Fatalf("Grace's second grant: sub %v", claims["sub"])
	}

	// Ada again in this browser: asked after sign-in, and her denial goes back to the client
	// (its redirect URI was approved) without a code.
	q, _ = params("ada-2")
	resp, page = b.get(s.toCallbackAs(t, b, q, "ada@example.com"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "ada@example.com") {
		t.Fatalf("Ada was not asked again after Grace's consent: %d %s", resp.StatusCode, pageText(page))
	}
	form = url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], in[2])
	}
	status, loc, _ = s.postConsent(t, b, with(form, "decision", "deny"))
	denied := mustURL(t, loc).Query()
	if status != http.StatusSeeOther || denied.Get("error") != "access_denied" || denied.Get("code") != "" || denied.Get("state") != "ada-2" {
		t.Fatalf("denial after sign-in: %d %s", status, loc)
	}
}

// RFC 9700 §4.11.2: the authorization endpoint never redirects to a redirect URI that no
// signed-in person has approved for the client. An attacker's client with a phishing page or
// an app scheme as redirect URI gets Authbridge's error page (naming the client and the
// reason), and so does a click on Approve that never led to a sign-in. After a person signed
// in and approved, errors go back to that redirect URI, and only to it.
func TestRFC9700_4_11_2_NoRedirectBeforeApproval(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const phish, app = "https://phish.example.net/login", "zoommtg://zoom.us/join"
	clientID := s.publicClient(t, "Totally Legit", phish, app)
	_, challenge := pkce()
	faults := map[string]func(q url.Values){
		"no code_challenge": func(q url.Values) { q.Del("code_challenge") },
		"malformed scope":   func(q url.Values) { q.Set("scope", `mcp:"tools"`) },
		"response_type":     func(q url.Values) { q.Set("response_type", "token") },
		"repeated scope":    func(q url.Values) { q["scope"] = []string{"mcp:tools", "mcp:tools"} },
	}
	refusedOnPage := func(redirectURI string) {
		t.Helper()
		for name, fault := range faults {
			q := authorizeParams(clientID, redirectURI, challenge, "st", "", "")
			fault(q)
			s.noWrites(t, redirectURI+" "+name, func() {
				r := do(t, http.MethodGet, s.authorizeURL(q), "", "")
				wantErrorPage(t, r, "Totally Legit")
				if r.Header.Get("Location") != "" {
					t.Fatalf("%s: redirected before approval", name)
				}
			})
		}
	}
	refusedOnPage(phish)
	refusedOnPage(app)

	// Approve clicked, sign-in never completed: still nobody approved it.
	b := newBrowser(t)
	if workos := s.toWorkOS(t, b, authorizeParams(clientID, phish, challenge, "st", "", "")); strings.HasPrefix(workos, s.Issuer) {
		t.Fatalf("approval did not lead to WorkOS: %s", workos)
	}
	refusedOnPage(phish)

	// A person signs in and approves the client with the phishing URI: from then on its
	// errors go there (as for any client), but not to the other, unapproved URI.
	s.signIn(t, newBrowser(t), authorizeParams(clientID, phish, challenge, "st", "", ""), "ada@example.com")
	q := authorizeParams(clientID, phish, challenge, "st", "", "")
	q.Del("code_challenge")
	r := do(t, http.MethodGet, s.authorizeURL(q), "", "")
	loc := mustURL(t, r.Header.Get("Location"))
	if r.Status != http.StatusFound || loc.Host != "phish.example.net" || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("iss") != s.Issuer {
		t.Fatalf("error after approval: %d %s", r.Status, loc)
	}
	refusedOnPage(app)
}
