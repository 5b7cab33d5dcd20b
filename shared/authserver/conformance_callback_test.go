package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/authserver"
)

// toWorkOS drives b from the authorization request through consent and returns the URL of
// the WorkOS sign-in page Authbridge sent it to.
func (s *stack) toWorkOS(t *testing.T, b *browser, q url.Values) string {
	t.Helper()
	authURL := s.authorizeURL(q)
	resp, page := b.get(authURL)
	if resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`) {
		resp = b.submit(authURL, page, `name="decision"`, url.Values{"decision": {"approve"}})
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("expected a redirect to WorkOS, got %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// toCallback signs in at WorkOS as Ada and returns the callback URL WorkOS redirects to,
// unvisited.
func (s *stack) toCallback(t *testing.T, b *browser, q url.Values) string {
	t.Helper()
	return s.toCallbackAs(t, b, q, "ada@example.com")
}

// toCallbackAs is toCallback for the seeded person with this email (infra/workos-seed.json).
func (s *stack) toCallbackAs(t *testing.T, b *browser, q url.Values, email string) string {
	t.Helper()
	workosURL := s.toWorkOS(t, b, q)
	signIn, page := b.get(workosURL)
	if signIn.StatusCode != http.StatusOK {
		t.Fatalf("WorkOS sign-in page: %d", signIn.StatusCode)
	}
	resp := b.submit(workosURL, page, `name="email"`, url.Values{"email": {email}})
	for hops := 0; resp.StatusCode == http.StatusOK && hops < 3; hops++ {
		resp = b.submit(workosURL, readBody(t, resp), `selected_organization_id`, nil)
	}
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, s.Issuer+authserver.PathCallback) {
		t.Fatalf("WorkOS redirected to %q", callback)
	}
	return callback
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func upstreamState(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Query().Get("state") == "" {
		t.Fatalf("no state in %q", raw)
	}
	return u.Query().Get("state")
}

// MCP security best practices: the upstream state is checked exactly; an unknown, missing
// or repeated state is refused with a page, never a redirect, and nothing is written.
func TestMCPState_UnknownOrMalformed(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	b := newBrowser(t)
	for name, query := range map[string]string{
		"unknown state":    "state=abs_unknown&code=x",
		"missing state":    "code=x",
		"empty state":      "state=&code=x",
		"duplicated state": "state=abs_a&state=abs_b&code=x",
		"huge state":       "state=" + strings.Repeat("s", 300) + "&code=x",
		"error, no state":  "error=access_denied",
	} {
		s.noWrites(t, name, func() {
			resp, page := b.get(s.Issuer + authserver.PathCallback + "?" + query)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("%s: %d %q (%s)", name, resp.StatusCode, resp.Header.Get("Location"), pageText(page))
			}
			noCORS(t, "callback", resp.Header)
		})
	}
}

// MCP security best practices: the state is single use; the second visit of the same
// callback URL is refused and issues no second code.
func TestMCPState_SingleUse(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Twice", "http://127.0.0.1/cb")
	b := newBrowser(t)
	_, challenge := pkce()
	callback := s.toCallback(t, b, authorizeParams(clientID, "http://127.0.0.1:7100/cb", challenge, "s", "", ""))
	resp, _ := b.get(callback)
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "code=") {
		t.Fatalf("first callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	s.noWrites(t, "second callback", func() {
		resp, _ = b.get(callback)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("reused state: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// MCP security best practices: the state expires after about 10 minutes.
func TestMCPState_Expires(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Late", "http://127.0.0.1/cb")
	b := newBrowser(t)
	_, challenge := pkce()
	callback := s.toCallback(t, b, authorizeParams(clientID, "http://127.0.0.1:7101/cb", challenge, "s", "", ""))
	s.clock.advance(11 * time.Minute)
	s.noWrites(t, "expired state", func() {
		resp, _ := b.get(callback)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("expired state: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// Login CSRF (RFC 6749 §10.12): a callback carrying a state started in another browser (or
// in none) is refused, and the refusal writes nothing: the state is consumed only by a
// write conditioned on the browser binding, so the browser that started the sign-in can
// still finish it.
func TestRFC6749_10_12_StateFromAnotherBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "CSRF", "http://127.0.0.1/cb")
	started := newBrowser(t)
	_, challenge := pkce()
	callback := s.toCallback(t, started, authorizeParams(clientID, "http://127.0.0.1:7102/cb", challenge, "s", "", ""))

	other := newBrowser(t) // with a cookie of its own, from a request it started
	other.get(s.authorizeURL(authorizeParams(clientID, "http://127.0.0.1:7102/cb", challenge, "o", "", "")))
	if len(other.client.Jar.Cookies(mustURL(t, s.Issuer))) == 0 {
		t.Fatal("the other browser got no cookie")
	}
	s.noWrites(t, "callback in another browser", func() {
		resp, _ := other.get(callback)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("callback in another browser: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	s.noWrites(t, "callback without cookie", func() {
		resp, _ := newBrowser(t).get(callback)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("callback without cookie: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	// The browser that started the sign-in still completes it.
	resp, _ := started.get(callback)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "code=") {
		t.Fatalf("the genuine browser could not finish after the refusals: %d %s", resp.StatusCode, loc)
	}
}

// RFC 6749 §4.1.2.1: an error from WorkOS goes back to the client as an error response
// with state and iss (RFC 9207); access_denied stays access_denied, others become server_error.
func TestRFC6749_4_1_2_1_UpstreamError(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Cancel", "http://127.0.0.1/cb")
	_, challenge := pkce()
	for upstreamErr, want := range map[string]string{"access_denied": "access_denied", "server_error": "server_error", "": "server_error"} {
		b := newBrowser(t)
		state := "client state " + upstreamErr
		workosURL := s.toWorkOS(t, b, authorizeParams(clientID, "http://127.0.0.1:7103/cb", challenge, state, "", ""))
		q := url.Values{"state": {upstreamState(t, workosURL)}}
		if upstreamErr != "" {
			q.Set("error", upstreamErr)
			q.Set("error_description", "<b>cancelled</b>")
		} // else: neither code nor error
		resp, _ := b.get(s.Issuer + authserver.PathCallback + "?" + q.Encode())
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: %d", upstreamErr, resp.StatusCode)
		}
		u, _ := url.Parse(resp.Header.Get("Location"))
		got := u.Query()
		if u.Host != "127.0.0.1:7103" || got.Get("error") != want || got.Get("state") != state || got.Get("iss") != s.Issuer || got.Get("code") != "" {
			t.Fatalf("%s: redirected to %s", upstreamErr, u)
		}
		if strings.Contains(got.Get("error_description"), "<b>") {
			t.Fatal("WorkOS's error_description is passed through to the client")
		}
	}
}

// RFC 6749 §4.1.2: a code WorkOS does not accept yields no Authbridge code.
func TestRFC6749_4_1_2_ForgedUpstreamCode(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Forged", "http://127.0.0.1/cb")
	_, challenge := pkce()
	b := newBrowser(t)
	workosURL := s.toWorkOS(t, b, authorizeParams(clientID, "http://127.0.0.1:7104/cb", challenge, "s", "", ""))
	q := url.Values{"state": {upstreamState(t, workosURL)}, "code": {"01FORGEDCODE"}}
	resp, _ := b.get(s.Issuer + authserver.PathCallback + "?" + q.Encode())
	u, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || u.Query().Get("code") != "" || u.Query().Get("error") == "" {
		t.Fatalf("forged upstream code: %d %s", resp.StatusCode, u)
	}
}
