package resilience_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/infra/faults"
	"github.com/authbridge/authbridge/shared/oauth"
)

// The matrix: dependency × fault. During each fault the endpoints that need the dependency
// answer 503 temporarily_unavailable with Retry-After (JSON for clients, a page with "Try
// again" for browsers) within the bound, and write nothing; the rest keep working; after
// it, the grant prepared before the fault, its spare code and a whole new sign-in all work
// with the same server. A slow dependency only slows the answers.

// diffLines lists the lines only in a ("-") or only in b ("+").
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	var out []string
	for l := range ina {
		if !inb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range inb {
		if !ina[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func inject(t *testing.T, d *faults.Dependency, k faults.Kind) {
	t.Helper()
	if err := d.Inject(k); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Heal() })
}

func heal(t *testing.T, d *faults.Dependency) {
	t.Helper()
	if err := d.Heal(); err != nil {
		t.Fatal(err)
	}
}

// TestDynamoDBOutage: every endpoint that reads or writes the table.
func TestDynamoDBOutage(t *testing.T) {
	l := newLab(t)
	for _, k := range faults.Kinds {
		t.Run(string(k), func(t *testing.T) {
			g := l.newGrant(t, "dynamodb "+string(k))
			other := l.newGrant(t, "dynamodb revoke "+string(k))
			visitor := l.newClient(t, "dynamodb authorize "+string(k))
			authURL := l.authorizeURL(visitor, oauth.S256Challenge(oauth.NewOpaque("")))
			before := l.snapshot(t)

			inject(t, l.ddb, k)
			var exchange, refresh, register, revoke, authorize answer
			parallel(
				func() { exchange = l.exchange(t, g.client, g.spareCode, g.spareProof) },
				func() { refresh = l.refresh(t, g.client, g.refreshToken) },
				func() { register, _ = l.register(t, "during the outage") },
				func() { revoke = l.revoke(t, other.client, other.refreshToken) },
				func() { authorize = visitor.browser.do(http.MethodGet, authURL, nil) },
			)
			l.authorizerAllows(t, "authorizer during the outage", g.access)
			heal(t, l.ddb)

			if k == faults.Slow {
				wantStatus(t, "code exchange (slow)", exchange, http.StatusOK)
				wantStatus(t, "refresh (slow)", refresh, http.StatusOK)
				wantStatus(t, "register (slow)", register, http.StatusCreated)
				wantStatus(t, "revoke (slow)", revoke, http.StatusOK)
				wantStatus(t, "authorize (slow)", authorize, http.StatusOK)
				if !strings.Contains(authorize.body, `name="decision"`) {
					t.Errorf("authorize (slow): not the consent page")
				}
				t.Logf("slow DynamoDB (+%v per answer): exchange %v, refresh %v, register %v, revoke %v, authorize %v", faults.SlowLatency,
					exchange.took.Round(1e6), refresh.took.Round(1e6), register.took.Round(1e6), revoke.took.Round(1e6), authorize.took.Round(1e6))
				l.recovered(t, l.newGrant(t, "after slow"))
				return
			}
			unavailableJSON(t, "code exchange", exchange)
			unavailableJSON(t, "refresh", refresh)
			unavailableJSON(t, "register", register)
			unavailableJSON(t, "revoke", revoke)
			unavailablePage(t, "authorize", authorize, authURL)
			t.Logf("%s DynamoDB: exchange %v, refresh %v, register %v, revoke %v, authorize %v", k,
				exchange.took.Round(1e6), refresh.took.Round(1e6), register.took.Round(1e6), revoke.took.Round(1e6), authorize.took.Round(1e6))
			if after := l.snapshot(t); after != before {
				t.Fatalf("the table changed during the outage:\n%s", diffLines(before, after))
			}
			l.recovered(t, g)
			if a := l.refresh(t, other.client, other.refreshToken); a.status != http.StatusOK {
				t.Errorf("the refresh token whose revocation failed: %d %s, want it still valid", a.status, a.body)
			}
		})
	}
}

// TestKMSOutage: the token endpoint signs with KMS; everything else keeps working, the
// authorizer and JWKS on the keys loaded at cold start.
func TestKMSOutage(t *testing.T) {
	l := newLab(t)
	for _, k := range faults.Kinds {
		t.Run(string(k), func(t *testing.T) {
			g := l.newGrant(t, "kms "+string(k))
			before := l.snapshot(t)

			inject(t, l.kms, k)
			var exchange, refresh, register, jwks answer
			parallel(
				func() { exchange = l.exchange(t, g.client, g.spareCode, g.spareProof) },
				func() { refresh = l.refresh(t, g.client, g.refreshToken) },
				func() { register, _ = l.register(t, "during the KMS outage") },
				func() { jwks = newBrowser(t).do(http.MethodGet, l.issuer+"/.well-known/jwks.json", nil) },
			)
			l.authorizerAllows(t, "authorizer during the KMS outage", g.access)
			heal(t, l.kms)

			wantStatus(t, "register", register, http.StatusCreated)
			wantStatus(t, "jwks", jwks, http.StatusOK)
			if k == faults.Slow {
				wantStatus(t, "code exchange (slow)", exchange, http.StatusOK)
				wantStatus(t, "refresh (slow)", refresh, http.StatusOK)
				t.Logf("slow KMS: exchange %v, refresh %v", exchange.took.Round(1e6), refresh.took.Round(1e6))
				l.recovered(t, l.newGrant(t, "after slow KMS"))
				return
			}
			unavailableJSON(t, "code exchange", exchange)
			unavailableJSON(t, "refresh", refresh)
			t.Logf("%s KMS: exchange %v, refresh %v", k, exchange.took.Round(1e6), refresh.took.Round(1e6))
			// Nothing spent: the code unused, the refresh token not rotated, no family. The
			// refresh reached WorkOS, which rotated its token: that one is kept on the
			// refresh token (the only change), so the retry works.
			if got := l.pkPrefixes(t); got["FAMILY"] != strings.Count(before, `pk=S:"FAMILY#`) || got["REFRESH"] != strings.Count(before, `pk=S:"REFRESH#`) {
				t.Fatalf("families or refresh tokens were written during the KMS outage: %v", got)
			}
			l.recovered(t, g)
		})
	}
}

// TestWorkOSOutage: WorkOS is called at the callback (authenticate) and by a refresh.
func TestWorkOSOutage(t *testing.T) {
	l := newLab(t)
	for _, k := range faults.Kinds {
		t.Run(string(k), func(t *testing.T) {
			g := l.newGrant(t, "workos "+string(k))
			signingIn := l.newClient(t, "workos callback "+string(k))
			pending := l.startSignIn(t, signingIn) // the browser is on its way back from WorkOS
			before := l.pkPrefixes(t)

			inject(t, l.workos, k)
			var refresh, callback, exchange answer
			parallel(
				func() { refresh = l.refresh(t, g.client, g.refreshToken) },
				func() { callback = signingIn.browser.do(http.MethodGet, pending.callback, nil) },
				func() { exchange = l.exchange(t, g.client, g.spareCode, g.spareProof) },
			)
			heal(t, l.workos)

			wantStatus(t, "code exchange (no WorkOS call)", exchange, http.StatusOK)
			if k == faults.Slow {
				wantStatus(t, "refresh (slow)", refresh, http.StatusOK)
				wantStatus(t, "callback (slow)", callback, http.StatusFound)
				t.Logf("slow WorkOS: refresh %v, callback %v", refresh.took.Round(1e6), callback.took.Round(1e6))
				l.recovered(t, l.newGrant(t, "after slow WorkOS"))
				return
			}
			unavailableJSON(t, "refresh", refresh)
			// The person is offered the same authorization again; the client still waits.
			unavailablePage(t, "callback", callback, pending.authURL)
			t.Logf("%s WorkOS: refresh %v, callback %v", k, refresh.took.Round(1e6), callback.took.Round(1e6))
			after := l.pkPrefixes(t)
			if after["CODE"] != before["CODE"] || after["REFRESH"] != before["REFRESH"]+1 || after["FAMILY"] != before["FAMILY"]+1 {
				// The one family and token are the spare code's exchange.
				t.Fatalf("items written during the WorkOS outage: before %v, after %v", before, after)
			}
			g.spareCode = "" // exchanged above
			if a := l.refresh(t, g.client, g.refreshToken); a.status != http.StatusOK {
				t.Fatalf("after recovery, the refresh that failed during the outage: %d %s", a.status, a.body)
			}
			// Try again: the same authorization request, now through to a code.
			again := signingIn.browser.do(http.MethodGet, pending.authURL, nil)
			if again.status != http.StatusFound && again.status != http.StatusOK {
				t.Fatalf("try again: %d", again.status)
			}
			l.recovered(t, l.newGrant(t, "after WorkOS "+string(k)))
		})
	}
}
