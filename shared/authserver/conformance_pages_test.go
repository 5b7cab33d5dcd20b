package authserver_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
)

// formActionSources returns the sources of the response's CSP form-action directive.
func formActionSources(t *testing.T, h http.Header) []string {
	t.Helper()
	for _, directive := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		fields := strings.Fields(directive)
		if len(fields) > 0 && fields[0] == "form-action" {
			return fields[1:]
		}
	}
	t.Fatalf("Content-Security-Policy %q has no form-action", h.Get("Content-Security-Policy"))
	return nil
}

// cspAllows is CSP3 source matching as far as these pages use it: 'self', a scheme source
// ("cursor:") or an exact scheme://host[:port] origin (paths are not matched after a redirect).
func cspAllows(sources []string, self, target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	origin := u.Scheme + "://" + u.Host
	for _, src := range sources {
		switch {
		case src == "'self'":
			if s, err := url.Parse(self); err == nil && s.Scheme+"://"+s.Host == origin {
				return true
			}
		case strings.HasSuffix(src, ":") && !strings.Contains(src, "//"):
			if strings.TrimSuffix(src, ":") == u.Scheme {
				return true
			}
		case src == origin:
			return true
		}
	}
	return false
}

// consentPage opens the consent page in b and returns the response, the page and its form.
func (s *stack) consentPage(t *testing.T, b *browser, q url.Values) (*http.Response, string, url.Values) {
	t.Helper()
	resp, page := b.get(s.authorizeURL(q))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("consent page: %d %s", resp.StatusCode, pageText(page))
	}
	form := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], in[2])
	}
	return resp, page, form
}

// CSP3 form-action: the pages allow form submissions, and the redirects that follow them
// (Chromium checks every hop), only to where the flow goes. The error page has no form; the
// consent page before sign-in allows Authbridge, WorkOS and the client's redirect URI (an
// existing WorkOS session returns at once through the callback to the client), and the one
// after sign-in Authbridge and the client's redirect URI only.
func TestCSP3_FormActionOnPages(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const redirectURI = "http://127.0.0.1:4400/cb"
	clientID := s.publicClient(t, "Forms", "http://127.0.0.1/cb")
	_, challenge := pkce()

	r := do(t, http.MethodGet, s.Issuer+authserver.PathAuthorize+"?client_id=abc_unknown", "", "")
	if got := formActionSources(t, r.Header); strings.Join(got, " ") != "'none'" {
		t.Fatalf("error page form-action %v, want 'none'", got)
	}

	// Before sign-in: every hop of approve → WorkOS → callback → client is allowed.
	b := newBrowser(t)
	q := authorizeParams(clientID, redirectURI, challenge, "st", "", "")
	resp, _, form := s.consentPage(t, b, q)
	before := formActionSources(t, resp.Header)
	status, workosURL, _ := s.postConsent(t, b, with(form, "decision", "approve"))
	if status != http.StatusSeeOther || !cspAllows(before, s.Issuer, s.Issuer+authserver.PathConsent) || !cspAllows(before, s.Issuer, workosURL) || !cspAllows(before, s.Issuer, redirectURI) {
		t.Fatalf("form-action %v does not allow the consent POST, WorkOS (%s) and the client", before, workosURL)
	}
	if cspAllows(before, s.Issuer, "http://127.0.0.1:4401/cb") || cspAllows(before, s.Issuer, "zoommtg://zoom.us/join") {
		t.Fatalf("form-action %v allows another loopback port or scheme", before)
	}

	// After sign-in (another person than the remembered one): only Authbridge and the client.
	b2 := newBrowser(t)
	s.signIn(t, b2, q, "ada@example.com")
	resp, page := b2.get(s.toCallbackAs(t, b2, q, "grace@example.com"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("consent after sign-in: %d %s", resp.StatusCode, pageText(page))
	}
	after := formActionSources(t, resp.Header)
	form = url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], in[2])
	}
	status, loc, _ := s.postConsent(t, b2, with(form, "decision", "approve"))
	if status != http.StatusSeeOther || !cspAllows(after, s.Issuer, loc) {
		t.Fatalf("form-action %v does not allow the redirect to the client (%d %s)", after, status, loc)
	}
	for _, src := range after {
		if src != "'self'" && src != "http://127.0.0.1:4400" {
			t.Fatalf("form-action after sign-in %v allows more than Authbridge and the client", after)
		}
	}

	// A private-use scheme is named by its scheme.
	app := s.publicClient(t, "App", "cursor://anysphere.cursor-mcp/oauth/callback")
	resp, _, _ = s.consentPage(t, newBrowser(t), authorizeParams(app, "cursor://anysphere.cursor-mcp/oauth/callback", challenge, "st", "", ""))
	if sources := formActionSources(t, resp.Header); !cspAllows(sources, s.Issuer, "cursor://anysphere.cursor-mcp/oauth/callback") {
		t.Fatalf("form-action %v does not allow the cursor: redirect", sources)
	}
}

// RFC 6797 §6.1: every response carries Strict-Transport-Security with a max-age of at least
// a year and includeSubDomains: JSON, pages, redirects, preflights and refusals.
func TestRFC6797_HSTSOnEveryResponse(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "HSTS", "http://127.0.0.1/cb")
	_, challenge := pkce()
	q := authorizeParams(clientID, "http://127.0.0.1:4500/cb", challenge, "st", "", "")
	b := newBrowser(t)
	consentResp, page := b.get(s.authorizeURL(q))
	approveResp := b.submit(s.authorizeURL(q), page, `name="decision"`, url.Values{"decision": {"approve"}})
	b2 := newBrowser(t)
	callbackResp, _ := b2.get(s.toCallback(t, b2, q))
	answers := map[string]http.Header{
		"metadata":           do(t, http.MethodGet, s.Issuer+authserver.PathASMetadata, "", "").Header,
		"jwks":               do(t, http.MethodGet, s.Issuer+authserver.PathJWKS, "", "").Header,
		"token error":        s.postToken(t, url.Values{"grant_type": {"password"}}).Header,
		"token preflight":    do(t, http.MethodOptions, s.Issuer+authserver.PathToken, "", "", "Origin", "https://inspector.example", "Access-Control-Request-Method", "POST").Header,
		"method not allowed": do(t, http.MethodPut, s.Issuer+authserver.PathRevoke, "", "").Header,
		"error page":         do(t, http.MethodGet, s.Issuer+authserver.PathAuthorize, "", "").Header,
		"consent page":       consentResp.Header,
		"consent redirect":   approveResp.Header,
		"callback redirect":  callbackResp.Header,
		"callback refusal":   do(t, http.MethodGet, s.Issuer+authserver.PathCallback+"?state=abs_x", "", "").Header,
	}
	if approveResp.StatusCode != http.StatusSeeOther || callbackResp.StatusCode != http.StatusFound {
		t.Fatalf("redirects: consent %d, callback %d", approveResp.StatusCode, callbackResp.StatusCode)
	}
	for what, h := range answers {
		wantHSTS(t, what, h)
	}
}

func wantHSTS(t *testing.T, what string, h http.Header) {
	t.Helper()
	v := h.Get("Strict-Transport-Security")
	maxAge := -1
	subdomains := false
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if n, ok := strings.CutPrefix(strings.ToLower(part), "max-age="); ok {
			maxAge, _ = strconv.Atoi(n)
		}
		if strings.EqualFold(part, "includeSubDomains") {
			subdomains = true
		}
	}
	if maxAge < 31536000 || !subdomains {
		t.Fatalf("%s: Strict-Transport-Security %q, want max-age of a year or more and includeSubDomains", what, v)
	}
}

// Look-alike hosts (MCP security best practices: show where the code goes): an
// internationalised redirect host is shown in punycode, what the browser really resolves,
// next to its Unicode form, with a visible warning; an ASCII host gets no warning. The
// registration takes the xn-- form (a Unicode host may be refused there); the page gives the
// same answer for a Unicode host (TestDisplayHostOfUnicodeHost).
func TestMCPConsentPage_LookAlikeHost(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	_, challenge := pkce()
	const punycode = "https://xn--gd-fmca.example.com/cb" // g + Cyrillic о twice + d
	lookAlike := s.publicClient(t, "Good", punycode)
	resp, page, _ := s.consentPage(t, newBrowser(t), authorizeParams(lookAlike, punycode, challenge, "st", "", ""))
	if !strings.Contains(page, "xn--gd-fmca.example.com") {
		t.Fatalf("the punycode host is not shown: %s", pageText(page))
	}
	if !strings.Contains(page, "g\u043e\u043ed.example.com") || !strings.Contains(page, "Look-alike") || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("no Unicode form with a look-alike warning: %s", pageText(page))
	}
	if sources := formActionSources(t, resp.Header); !cspAllows(sources, s.Issuer, punycode) {
		t.Fatalf("form-action %v does not name the client in punycode", sources)
	}

	plain := s.publicClient(t, "Plain", "https://good.example.com/cb")
	_, page, _ = s.consentPage(t, newBrowser(t), authorizeParams(plain, "https://good.example.com/cb", challenge, "st", "", ""))
	if !strings.Contains(page, "good.example.com") || strings.Contains(page, "Look-alike") {
		t.Fatalf("an ASCII host is shown wrongly or warned about: %s", pageText(page))
	}
}
