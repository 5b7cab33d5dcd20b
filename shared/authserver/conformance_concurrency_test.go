package authserver_test

// Concurrency invariants: the single-use and uniqueness rules hold when the same request
// arrives many times at once (a client racing itself, a double-clicked form, an attacker
// replaying in parallel), against DynamoDB Local's conditional writes.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
)

// concurrently releases n calls of send at the same instant and returns their replies in
// order. send runs off the test goroutine, so it must not call t.Fatal: it returns an error,
// which fails the test here.
func concurrently(t *testing.T, n int, send func(i int) (reply, error)) []reply {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	replies, errs := make([]reply, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			replies[i], errs[i] = send(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent request %d of %d: %v", i, n, err)
		}
	}
	return replies
}

// sendRaw is do for goroutines: one request through client (which must not follow
// redirects), errors returned instead of failing the test.
func sendRaw(client *http.Client, method, raw, contentType, body string) (reply, error) {
	req, err := http.NewRequest(method, raw, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, raw, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", method, raw, err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}, nil
}

// unspent counts the items whose key starts with prefix and that were not spent: a
// single-use item stays, marked consumed_by, until its expiry (store.consume).
func (s *stack) unspent(t *testing.T, prefix string) int {
	t.Helper()
	n := 0
	for _, it := range s.scanItems(t) {
		if _, spent := it["consumed_by"]; !spent && strings.HasPrefix(avString(it["pk"]), `S:"`+prefix) {
			n++
		}
	}
	return n
}

// itemsWith returns the table's items whose key starts with prefix and, when attr is set,
// whose attribute attr is the string value.
func (s *stack) itemsWith(t *testing.T, prefix, attr, value string) []string {
	t.Helper()
	var pks []string
	for _, it := range s.scanItems(t) {
		if !strings.HasPrefix(avString(it["pk"]), `S:"`+prefix) {
			continue
		}
		if attr != "" && avString(it[attr]) != fmt.Sprintf("S:%q", value) {
			continue
		}
		pks = append(pks, avString(it["pk"]))
	}
	return pks
}

// RFC 6749 §4.1.2 / OAuth 2.1 §4.1.3: an authorization code is used once. 20 exchanges of
// one code at once issue at most one grant: at most one 200 (exactly one when no refresh
// token is issued), every other answer 400 invalid_grant, one redemption, at most one
// refresh token. Each losing exchange is a replay of a used code, which revokes the code's
// family (token.go exchangeCode, store.RevokeFamily): every loser logs the revocation, and
// the table ends with that one family item, revoked, and nothing else. Should a replay
// revoke the family before the winning exchange has written it (store.RevokeFamily's
// tombstone), the winner is refused too ("a replay of this code revoked the family while
// this exchange was in flight"): no 200 at all, which this test accepts only in that form.
func TestRFC6749_4_1_2_CodeUsedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	const n = 20
	s := newStack(t, nil)
	withRefresh := s.publicClient(t, "Racing exchanges", "http://127.0.0.1/cb")
	accessOnly := str(s.register(t, `{"client_name":"Racing exchanges, no refresh","redirect_uris":["http://127.0.0.1/cb"],`+
		`"token_endpoint_auth_method":"none","grant_types":["authorization_code"]}`), "client_id")

	for _, tc := range []struct {
		name, clientID, redirectURI string
		refresh                     bool
	}{
		{"access token only", accessOnly, "http://127.0.0.1:7501/cb", false},
		{"with refresh token", withRefresh, "http://127.0.0.1:7502/cb", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := s.authorizeCode(t, tc.clientID, tc.redirectURI, "")
			code, err := s.Store.GetCode(ctx, oauth.HashSecret(g.Code))
			if err != nil || code.FamilyID == "" || !code.UsedAt.IsZero() {
				t.Fatalf("the new code: %+v, %v", code, err)
			}
			family := code.FamilyID
			familiesBefore, refreshBefore := s.itemsWith(t, "FAMILY#", "", ""), s.itemsWith(t, "REFRESH#", "", "")

			const revokedLine = "replay detected: token family revoked"
			revocations := strings.Count(s.Logs.String(), revokedLine)
			form := g.form().Encode()
			replies := concurrently(t, n, func(int) (reply, error) {
				return sendRaw(noRedirects, http.MethodPost, s.Issuer+authserver.PathToken, formType, form)
			})
			var won []map[string]any
			for _, r := range replies {
				if r.Status == http.StatusOK {
					won = append(won, r.json(t))
					continue
				}
				wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			}
			t.Logf("%d parallel exchanges of one code: %d answered 200, %d invalid_grant", n, len(won), n-len(won))
			if len(won) > 1 {
				t.Fatalf("one code was exchanged %d times", len(won))
			}
			if !tc.refresh && len(won) != 1 {
				t.Fatalf("%d exchanges succeeded, want exactly one (nothing can refuse the winner without a refresh token)", len(won))
			}

			// The code: redeemed once, and still recorded as used.
			if code, err := s.Store.GetCode(ctx, oauth.HashSecret(g.Code)); err != nil || code.UsedAt.IsZero() {
				t.Fatalf("the code after the race: used_at %v, %v", code.UsedAt, err)
			}
			// The table: exactly one new family item, the code's, revoked by the replays.
			newFamilies := slices.DeleteFunc(s.itemsWith(t, "FAMILY#", "", ""), func(pk string) bool { return slices.Contains(familiesBefore, pk) })
			if len(newFamilies) != 1 || newFamilies[0] != `S:"FAMILY#`+family+`"` {
				t.Fatalf("the race left family items %v, want only FAMILY#%s", newFamilies, family)
			}
			if revoked, err := s.Store.GrantRevoked(ctx, family); err != nil || !revoked {
				t.Fatalf("the code's family after %d replays: revoked = %v, %v; a replayed code revokes its family", n-1, revoked, err)
			}
			if got := strings.Count(s.Logs.String(), revokedLine) - revocations; got != n-1 {
				t.Fatalf("%d replays logged %d family revocations, want one each", n-1, got)
			}
			if tc.refresh && len(won) == 0 {
				// No winner: only as the documented race, the family a revoked tombstone that
				// the exchange could not overwrite (no client, no refresh token).
				if owner := s.itemsWith(t, "FAMILY#", "client_id", tc.clientID); len(owner) != 0 {
					t.Fatalf("no exchange succeeded, yet the family was issued to the client: %v", owner)
				}
			}
			// At most one refresh token, only with the one 200, and of that family.
			newRefresh := slices.DeleteFunc(s.itemsWith(t, "REFRESH#", "", ""), func(pk string) bool { return slices.Contains(refreshBefore, pk) })
			wantRefresh := 0
			if tc.refresh {
				wantRefresh = len(won)
			}
			if len(newRefresh) != wantRefresh {
				t.Fatalf("the race wrote %d refresh tokens, want %d", len(newRefresh), wantRefresh)
			}
			if got := s.itemsWith(t, "REFRESH#", "family_id", family); len(got) != wantRefresh {
				t.Fatalf("the family holds %d refresh tokens, want %d", len(got), wantRefresh)
			}

			if len(won) == 1 {
				claims := verifyWithJWKS(t, s.Issuer, str(won[0], "access_token"))
				if claims["fam"] != family || claims["client_id"] != tc.clientID {
					t.Fatalf("the winning access token: fam %v client_id %v, want %s %s", claims["fam"], claims["client_id"], family, tc.clientID)
				}
				refresh := str(won[0], "refresh_token")
				if (refresh != "") != tc.refresh {
					t.Fatalf("refresh token %q for a client with refresh %v", refresh, tc.refresh)
				}
				if refresh != "" {
					// The family was revoked by the replays: its refresh token is refused.
					wantOAuthError(t, s.postToken(t, refreshForm(tc.clientID, refresh)), http.StatusBadRequest, "invalid_grant")
				}
			}
			// And the code stays refused.
			wantOAuthError(t, s.postToken(t, g.form()), http.StatusBadRequest, "invalid_grant")
		})
	}
}

// RFC 7591 §3.2.1: every registration gets its own client_id ("SHOULD NOT be currently
// valid for any other registered client"). 50 registrations at once get 50 distinct ids
// (and secrets), each stored with the metadata it was registered with.
func TestRFC7591_3_2_1_ParallelRegistrationsGetDistinctClientIDs(t *testing.T) {
	t.Parallel()
	const n = 50
	s := newStack(t, nil)
	clientsBefore := len(s.itemsWith(t, "CLIENT#", "", ""))

	type registration struct {
		Name, RedirectURI, Method string
	}
	regs := make([]registration, n)
	for i := range regs {
		regs[i] = registration{fmt.Sprintf("Parallel %02d", i), fmt.Sprintf("http://127.0.0.1/cb/%02d", i), "none"}
		if i%2 == 1 {
			regs[i].Method = "client_secret_basic"
		}
	}
	replies := concurrently(t, n, func(i int) (reply, error) {
		body := fmt.Sprintf(`{"client_name":%q,"redirect_uris":[%q],"token_endpoint_auth_method":%q,"grant_types":["authorization_code","refresh_token"]}`,
			regs[i].Name, regs[i].RedirectURI, regs[i].Method)
		return sendRaw(noRedirects, http.MethodPost, s.Issuer+authserver.PathRegister, "application/json", body)
	})

	ids, secrets := map[string]int{}, map[string]int{}
	for i, r := range replies {
		if r.Status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i, r.Status, r.Body)
		}
		var resp struct {
			ClientID     string   `json:"client_id"`
			ClientSecret string   `json:"client_secret"`
			ClientName   string   `json:"client_name"`
			RedirectURIs []string `json:"redirect_uris"`
			Method       string   `json:"token_endpoint_auth_method"`
		}
		if err := json.Unmarshal([]byte(r.Body), &resp); err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
		if prev, dup := ids[resp.ClientID]; dup || resp.ClientID == "" {
			t.Fatalf("registrations %d and %d got the same client_id %q", prev, i, resp.ClientID)
		}
		ids[resp.ClientID] = i
		// The response describes this registration, not a concurrent one.
		if resp.ClientName != regs[i].Name || !slices.Equal(resp.RedirectURIs, []string{regs[i].RedirectURI}) || resp.Method != regs[i].Method {
			t.Fatalf("registration %d answered %s %v %s, want %s %s %s", i, resp.ClientName, resp.RedirectURIs, resp.Method, regs[i].Name, regs[i].RedirectURI, regs[i].Method)
		}
		if (resp.ClientSecret != "") != (regs[i].Method != "none") {
			t.Fatalf("registration %d (%s): client_secret %q", i, regs[i].Method, resp.ClientSecret)
		}
		if resp.ClientSecret != "" {
			if prev, dup := secrets[resp.ClientSecret]; dup {
				t.Fatalf("registrations %d and %d got the same client_secret", prev, i)
			}
			secrets[resp.ClientSecret] = i
		}

		// Readable afterwards, with its own metadata and its own secret's hash.
		c, err := s.Store.GetClient(context.Background(), resp.ClientID)
		if err != nil {
			t.Fatalf("client %d (%s) is not readable: %v", i, resp.ClientID, err)
		}
		if c.Name != regs[i].Name || !slices.Equal(c.RedirectURIs, []string{regs[i].RedirectURI}) || c.TokenEndpointAuthMethod != regs[i].Method {
			t.Fatalf("client %d stored as %s %v %s, want %s %s %s", i, c.Name, c.RedirectURIs, c.TokenEndpointAuthMethod, regs[i].Name, regs[i].RedirectURI, regs[i].Method)
		}
		if resp.ClientSecret != "" && string(c.SecretHash) != string(oauth.HashSecret(resp.ClientSecret)) {
			t.Fatalf("client %d: the stored secret hash is not its secret's", i)
		}
		if resp.ClientSecret == "" && c.SecretHash != nil {
			t.Fatalf("public client %d has a stored secret hash", i)
		}
	}
	if got := len(s.itemsWith(t, "CLIENT#", "", "")) - clientsBefore; got != n {
		t.Fatalf("%d registrations stored %d clients", n, got)
	}
	t.Logf("%d parallel registrations: %d distinct client_ids, %d distinct secrets, %d clients stored", n, len(ids), len(secrets), n)
}

// MCP security best practices (consent page, single-use CSRF-protected request) and RFC 6749
// §10.12: one consent request is answered once. The same approval posted 10 times at once
// from the same browser lets exactly one submission through (one upstream state before
// sign-in, one code after it); the others get the "already answered" page and write nothing.
func TestMCPConsent_AnsweredOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	const n = 10
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Double click", "http://127.0.0.1/cb")
	resource := s.Issuer + "/mcp"

	// post sends the approval n times at once from b (one cookie jar, as one browser's tabs
	// and retries) and checks that one went through; it returns that one's Location.
	post := func(t *testing.T, b *browser, form url.Values) string {
		t.Helper()
		body := with(form, "decision", "approve").Encode()
		client := &http.Client{Jar: b.client.Jar, CheckRedirect: b.client.CheckRedirect}
		replies := concurrently(t, n, func(int) (reply, error) {
			return sendRaw(client, http.MethodPost, s.Issuer+authserver.PathConsent, formType, body)
		})
		var through []string
		for i, r := range replies {
			switch {
			case r.Status == http.StatusSeeOther:
				through = append(through, r.Header.Get("Location"))
			case r.Status == http.StatusBadRequest && r.Header.Get("Location") == "" && strings.Contains(r.Body, "already answered"):
			default:
				t.Fatalf("submission %d: %d Location=%q (%s), want 303 or the already-answered page", i, r.Status, r.Header.Get("Location"), pageText(r.Body))
			}
		}
		t.Logf("%d parallel submissions of one consent form: %d went through, %d already answered", n, len(through), n-len(through))
		if len(through) != 1 {
			t.Fatalf("%d submissions of one consent form went through, want exactly one", len(through))
		}
		return through[0]
	}

	t.Run("before sign-in: one upstream state", func(t *testing.T) {
		b := newBrowser(t)
		const redirectURI = "http://127.0.0.1:7601/cb"
		verifier, challenge := pkce()
		q := authorizeParams(clientID, redirectURI, challenge, "before", resource, "")
		resp, page := b.get(s.authorizeURL(q))
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
			t.Fatalf("no consent page: %d", resp.StatusCode)
		}
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
			form.Set(in[1], in[2])
		}
		states, codes := len(s.itemsWith(t, "STATE#", "", "")), len(s.itemsWith(t, "CODE#", "", ""))
		if got := s.unspent(t, "AUTHREQ#"); got != 1 {
			t.Fatalf("%d pending consent requests before the race, want 1", got)
		}

		workosURL := post(t, b, form)
		if !strings.HasPrefix(workosURL, s.WorkOS) {
			t.Fatalf("the approval went to %q, not to WorkOS", workosURL)
		}
		if got := len(s.itemsWith(t, "STATE#", "", "")) - states; got != 1 {
			t.Fatalf("%d upstream states were stored for one consent, want 1", got)
		}
		if got := s.unspent(t, "AUTHREQ#"); got != 0 {
			t.Fatalf("%d consent requests left after the answer, want 0", got)
		}
		if got := len(s.itemsWith(t, "CODE#", "", "")); got != codes {
			t.Fatalf("a code was stored before sign-in (%d -> %d)", codes, got)
		}
		// That one state completes the sign-in and gives one code that works.
		resp, body := b.get(s.workosSignIn(t, b, workosURL, "ada@example.com"))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("callback: %d %s", resp.StatusCode, pageText(body))
		}
		s.exchangeCode(t, mustURL(t, resp.Header.Get("Location")), clientID, redirectURI, verifier, resource)
		if got := len(s.itemsWith(t, "CODE#", "", "")) - codes; got != 1 {
			t.Fatalf("%d codes after the sign-in, want 1", got)
		}
	})

	t.Run("after sign-in: one code", func(t *testing.T) {
		b := newBrowser(t)
		const redirectURI = "http://127.0.0.1:7602/cb"
		// Ada's consent is remembered in this browser; Grace then signs in there and is asked
		// after sign-in, where approving issues the code directly.
		_, challenge := pkce()
		s.signIn(t, b, authorizeParams(clientID, redirectURI, challenge, "ada", resource, ""), "ada@example.com")
		verifier, challenge := pkce()
		callback := s.toCallbackAs(t, b, authorizeParams(clientID, redirectURI, challenge, "grace", resource, ""), "grace@example.com")
		resp, page := b.get(callback)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
			t.Fatalf("Grace was not asked after sign-in: %d %s", resp.StatusCode, pageText(page))
		}
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
			form.Set(in[1], in[2])
		}
		codes, states := len(s.itemsWith(t, "CODE#", "", "")), len(s.itemsWith(t, "STATE#", "", ""))

		final := mustURL(t, post(t, b, form))
		if final.Host != "127.0.0.1:7602" || final.Query().Get("state") != "grace" || final.Query().Get("code") == "" {
			t.Fatalf("the approval after sign-in went to %s", final)
		}
		if got := len(s.itemsWith(t, "CODE#", "", "")) - codes; got != 1 {
			t.Fatalf("%d codes were stored for one consent, want 1", got)
		}
		if got := len(s.itemsWith(t, "STATE#", "", "")); got != states {
			t.Fatalf("the approval after sign-in stored upstream states (%d -> %d)", states, got)
		}
		if got := s.unspent(t, "AUTHREQ#"); got != 0 {
			t.Fatalf("%d consent requests left after the answer, want 0", got)
		}
		if _, claims := s.exchangeCode(t, final, clientID, redirectURI, verifier, resource); claims["sub"] != graceUserID {
			t.Fatalf("the code of the approval: sub %v, want Grace", claims["sub"])
		}
	})
}
