package authserver_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/authserver"
)

// consentForm opens the consent page in b and returns the form's hidden fields.
func (s *stack) consentForm(t *testing.T, b *browser, clientID, redirectURI, state string) url.Values {
	t.Helper()
	_, challenge := pkce()
	resp, page := b.get(s.authorizeURL(authorizeParams(clientID, redirectURI, challenge, state, "", "")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d", resp.StatusCode)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	if form.Get("request_id") == "" || form.Get("csrf_token") == "" {
		t.Fatalf("consent page has no request_id / csrf_token:\n%s", page)
	}
	return form
}

func with(form url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

// postConsent posts the consent form from b (its cookies) and returns status, Location, page.
func (s *stack) postConsent(t *testing.T, b *browser, form url.Values) (int, string, string) {
	t.Helper()
	resp, body := b.postForm(s.Issuer+authserver.PathConsent, form)
	return resp.StatusCode, resp.Header.Get("Location"), body
}

// MCP security best practices: the consent form has CSRF protection bound to the browser;
// every forged, incomplete or foreign submission is refused, writes nothing, and leaves
// the genuine request usable.
func TestMCPConsent_CSRFAndBrowserBinding(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "CSRF", "http://127.0.0.1/cb")
	victim := newBrowser(t)
	form := s.consentForm(t, victim, clientID, "http://127.0.0.1:7000/cb", "st")
	attacker := newBrowser(t)
	attackerForm := s.consentForm(t, attacker, clientID, "http://127.0.0.1:7000/cb", "other") // a request and cookie of its own

	cases := []struct {
		name   string
		b      *browser
		form   url.Values
		status int
	}{
		{"wrong csrf_token", victim, with(form, "decision", "approve", "csrf_token", "abx_forged"), http.StatusForbidden},
		{"csrf_token of another request", victim, with(form, "decision", "approve", "csrf_token", attackerForm.Get("csrf_token")), http.StatusForbidden},
		{"no cookie", newBrowser(t), with(form, "decision", "approve"), http.StatusForbidden},
		{"another browser's cookie", attacker, with(form, "decision", "approve"), http.StatusForbidden},
		{"another browser's request", victim, with(attackerForm, "decision", "approve"), http.StatusForbidden},
		{"unknown request_id", victim, with(form, "decision", "approve", "request_id", "abr_unknown"), http.StatusBadRequest},
		{"missing csrf_token", victim, with(form, "decision", "approve", "csrf_token", ""), http.StatusBadRequest},
		{"missing decision", victim, form, http.StatusBadRequest},
		{"odd decision", victim, with(form, "decision", "maybe"), http.StatusBadRequest},
	}
	for _, tc := range cases {
		s.noWrites(t, tc.name, func() {
			status, loc, page := s.postConsent(t, tc.b, tc.form)
			if status != tc.status || loc != "" {
				t.Fatalf("%s: %d Location=%q, want %d without redirect (%s)", tc.name, status, loc, tc.status, pageText(page))
			}
		})
	}
	// Duplicated field, wrong content type, GET: refused too.
	s.noWrites(t, "duplicated csrf_token", func() {
		dup := with(form, "decision", "approve")
		dup.Add("csrf_token", "abx_second")
		if status, _, _ := s.postConsent(t, victim, dup); status != http.StatusBadRequest {
			t.Fatalf("duplicated csrf_token: %d", status)
		}
	})
	s.noWrites(t, "JSON body", func() {
		r := do(t, http.MethodPost, s.Issuer+authserver.PathConsent, "application/json", `{"decision":"approve"}`)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("JSON consent: %d", r.Status)
		}
	})
	s.noWrites(t, "GET consent", func() {
		if r := do(t, http.MethodGet, s.Issuer+authserver.PathConsent+"?"+with(form, "decision", "approve").Encode(), "", ""); r.Status != http.StatusMethodNotAllowed {
			t.Fatalf("GET consent: %d", r.Status)
		}
	})

	// The genuine submission still works, once.
	status, loc, _ := s.postConsent(t, victim, with(form, "decision", "approve"))
	if status != http.StatusSeeOther || strings.HasPrefix(loc, s.Issuer) {
		t.Fatalf("genuine approval: %d %s", status, loc)
	}
	// Replayed form: the request was answered.
	s.noWrites(t, "replayed form", func() {
		status, loc, _ := s.postConsent(t, victim, with(form, "decision", "approve"))
		if status != http.StatusBadRequest || loc != "" {
			t.Fatalf("replayed consent form: %d %s", status, loc)
		}
	})
}

// RFC 6749 §4.1.2.1 access_denied + RFC 9207: once a signed-in person has approved this
// client with this redirect URI, denying sends the client error=access_denied with its state
// and iss; nothing is remembered as approved.
func TestRFC6749_4_1_2_1_ConsentDenied(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Deny", "http://127.0.0.1/cb")
	s.authorizeCode(t, clientID, "http://127.0.0.1:7000/cb", "") // approves the redirect URI (any loopback port)
	b := newBrowser(t)
	state := "deny me & ✓"
	form := s.consentForm(t, b, clientID, "http://127.0.0.1:7001/cb", state)
	status, loc, _ := s.postConsent(t, b, with(form, "decision", "deny"))
	if status != http.StatusSeeOther {
		t.Fatalf("deny: %d", status)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host != "127.0.0.1:7001" || u.Path != "/cb" {
		t.Fatalf("deny redirected to %q", loc)
	}
	if q := u.Query(); q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("iss") != s.Issuer || q.Get("code") != "" {
		t.Fatalf("deny response: %v", q)
	}
	// Not approved: the next request asks again.
	form2 := s.consentForm(t, b, clientID, "http://127.0.0.1:7001/cb", "again")
	if form2.Get("request_id") == form.Get("request_id") {
		t.Fatal("request id reused")
	}
}

// RFC 9700 §4.11.2: a denial for a redirect URI no signed-in person has approved for the
// client is shown on Authbridge's page, naming the client, and never redirected there.
func TestRFC9700_4_11_2_DenialBeforeApprovalIsNotRedirected(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Phish Client", "https://phish.example.net/login")
	b := newBrowser(t)
	form := s.consentForm(t, b, clientID, "https://phish.example.net/login", "st")
	status, loc, page := s.postConsent(t, b, with(form, "decision", "deny"))
	if status != http.StatusForbidden || loc != "" {
		t.Fatalf("deny before approval: %d Location=%q, want Authbridge's page", status, loc)
	}
	if !strings.Contains(page, "Phish Client") || !strings.Contains(page, "access_denied") {
		t.Fatalf("denial page does not name the client and the outcome: %s", pageText(page))
	}
	if strings.Contains(page, "phish.example.net") {
		t.Fatalf("denial page links to the unapproved redirect URI: %s", pageText(page))
	}
}

// MCP security best practices: a consent request expires (about 10 minutes).
func TestMCPConsent_RequestExpires(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Slow", "http://127.0.0.1/cb")
	b := newBrowser(t)
	form := s.consentForm(t, b, clientID, "http://127.0.0.1:7002/cb", "st")
	s.clock.advance(11 * time.Minute)
	s.noWrites(t, "expired consent", func() {
		status, loc, _ := s.postConsent(t, b, with(form, "decision", "approve"))
		if status != http.StatusBadRequest || loc != "" {
			t.Fatalf("expired consent request: %d %s", status, loc)
		}
	})
}
