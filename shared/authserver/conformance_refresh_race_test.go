package authserver_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/authbridge/authbridge/shared/oauth"
)

// OAuth 2.1 §4.3.1 rotation with a client racing itself (several processes sharing one
// token store, a retry after a lost response): 10 parallel refreshes of one token all
// succeed with the same successor, none revokes the family (no reuse alarm), and that
// successor then refreshes normally.
func TestOAuth21_4_3_1_ParallelRefreshesShareOneSuccessor(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Racer", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7400/cb", ""), "refresh_token")
	family := s.familyOf(t, r1)

	successors := parallelRefreshes(t, s, clientID, r1, 10)
	if revoked, err := s.Store.FamilyRevoked(context.Background(), family); err != nil || revoked {
		t.Fatalf("parallel refreshes revoked the family: %v, %v", revoked, err)
	}
	if strings.Contains(s.Logs.String(), "replay detected") {
		t.Fatal("parallel refreshes raised the reuse alarm")
	}
	r := s.postToken(t, refreshForm(clientID, successors))
	if r.Status != http.StatusOK {
		t.Fatalf("the successor after parallel refreshes: %d %s", r.Status, r.Body)
	}
	if str(r.json(t), "refresh_token") == successors {
		t.Fatal("the successor was not rotated")
	}
}

// OAuth 2.0 Security BCP §4.14.2: after parallel refreshes, the original token replayed
// after the grace window (injected clock, no sleep) revokes the family, the shared
// successor included.
func TestOAuth21_4_3_1_ReplayAfterGraceRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "LateReplay", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7401/cb", ""), "refresh_token")
	family := s.familyOf(t, r1)
	r2 := parallelRefreshes(t, s, clientID, r1, 5)

	s.clock.advance(s.Server.Config.RefreshReuseGrace + 2*time.Second)
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
	if revoked, err := s.Store.FamilyRevoked(context.Background(), family); err != nil || !revoked {
		t.Fatalf("replay after the window: family revoked = %v, %v", revoked, err)
	}
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r2)), 400, "invalid_grant")
}

// parallelRefreshes fires n refreshes of token at once and returns the one refresh token
// they all received.
func parallelRefreshes(t *testing.T, s *stack, clientID, token string, n int) string {
	t.Helper()
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		replies = make([]reply, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = s.postToken(t, refreshForm(clientID, token))
		}()
	}
	close(start)
	wg.Wait()
	successor := ""
	for i, r := range replies {
		if r.Status != http.StatusOK {
			t.Fatalf("parallel refresh %d of %d: %d %s", i, n, r.Status, r.Body)
		}
		body := r.json(t)
		verifyWithJWKS(t, s.Issuer, str(body, "access_token"))
		got := str(body, "refresh_token")
		if successor == "" {
			successor = got
		} else if got != successor {
			t.Fatalf("parallel refresh %d got another successor than the others", i)
		}
	}
	return successor
}

// The successor chain: when the successor was rotated too (another process of the client
// moved on), a reuse of the first token within the window gets the newest live token, not
// a rotated one that would revoke the family on its next use.
func TestOAuth21_4_3_1_ReuseWithinGraceFollowsRotations(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Chain", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7402/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	r3 := str(s.postToken(t, refreshForm(clientID, r2)).json(t), "refresh_token")
	var got string
	s.noWrites(t, "reuse of the first token", func() {
		r := s.postToken(t, refreshForm(clientID, r1))
		if r.Status != http.StatusOK {
			t.Fatalf("reuse within the window: %d %s", r.Status, r.Body)
		}
		got = str(r.json(t), "refresh_token")
	})
	if got != r3 {
		t.Fatal("reuse within the window did not return the newest token of the chain")
	}
	if r := s.postToken(t, refreshForm(clientID, r3)); r.Status != http.StatusOK {
		t.Fatalf("newest token after the reuse: %d %s", r.Status, r.Body)
	}
}

// Every binding holds on the reuse path too: another client, a wider scope, another
// resource and a revoked family are refused, with nothing written and no token issued.
func TestOAuth21_4_3_1_ReuseWithinGraceKeepsBindings(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Bound", "http://127.0.0.1/cb")
	other := s.publicClient(t, "Other", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7403/cb", "mcp:tools"), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")

	s.noWrites(t, "bindings on reuse", func() {
		wantOAuthError(t, s.postToken(t, refreshForm(other, r1)), 400, "invalid_grant")
		wantOAuthError(t, s.postToken(t, with(refreshForm(clientID, r1), "scope", "mcp:tools orgs:read")), 400, "invalid_scope")
		wantOAuthError(t, s.postToken(t, with(refreshForm(clientID, r1), "resource", "https://evil.example/mcp")), 400, "invalid_target")
	})
	// Narrowing works on the reuse path as on a rotation.
	r := s.postToken(t, with(refreshForm(clientID, r1), "scope", "mcp:tools"))
	if r.Status != http.StatusOK || str(r.json(t), "refresh_token") != r2 {
		t.Fatalf("reuse with the same scope: %d %s", r.Status, r.Body)
	}

	if rv := s.revoke(t, url.Values{"token": {r2}, "client_id": {clientID}}); rv.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	s.noWrites(t, "reuse in a revoked family", func() {
		wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
	})
}

// Secrets are never stored in the clear: the successor kept on the rotated token is
// encrypted (only a holder of the old token can open it), so the table holds neither
// refresh token.
func TestOAuth21_4_3_1_SuccessorIsStoredSealed(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Sealed", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7404/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	for _, it := range s.scanItems(t) {
		for _, secret := range []string{r1, r2, strings.TrimPrefix(r1, oauth.PrefixRefreshToken), strings.TrimPrefix(r2, oauth.PrefixRefreshToken)} {
			if avContains(&types.AttributeValueMemberM{Value: it}, secret[:16]) {
				t.Fatalf("a refresh token is stored in the clear in %s", avString(it["pk"]))
			}
		}
	}
	old, err := s.Store.GetRefreshToken(context.Background(), oauth.HashSecret(r1))
	if err != nil || len(old.SealedSuccessor) == 0 {
		t.Fatalf("the rotated token keeps no sealed successor: %v", err)
	}
}

// REFRESH_REUSE_GRACE=0s turns the grace off: a reuse, however soon, revokes the family
// and returns nothing.
func TestOAuth21_4_3_1_NoGraceReuseGetsNoSuccessor(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{"REFRESH_REUSE_GRACE": "0s"})
	clientID := s.publicClient(t, "Strict", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7405/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r2)), 400, "invalid_grant")
}

// familyOf is the id of the family refreshToken belongs to, read from the table.
func (s *stack) familyOf(t *testing.T, refreshToken string) string {
	t.Helper()
	rt, err := s.Store.GetRefreshToken(context.Background(), oauth.HashSecret(refreshToken))
	if err != nil {
		t.Fatal(err)
	}
	return rt.FamilyID
}
