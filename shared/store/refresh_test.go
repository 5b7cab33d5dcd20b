package store

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// issue creates family "fam-1" of client-1 with a first token hash("rt-0").
func issue(t *testing.T, e *env, familyTTL, tokenTTL time.Duration) (Family, RefreshToken) {
	t.Helper()
	now := e.clock.now()
	f := Family{ID: "fam-1", ClientID: "client-1", ExpiresAt: now.Add(familyTTL)}
	rt := RefreshToken{Scope: "openid", Resource: testRequest.Resource, User: testUser, ExpiresAt: now.Add(tokenTTL)}
	mustOK(t, "IssueFamily", e.store.IssueFamily(e.ctx, f, hash("rt-0"), rt))
	rt.FamilyID, rt.ClientID, rt.IssuedAt = f.ID, f.ClientID, now
	return f, rt
}

func next(e *env, rt RefreshToken) RefreshToken {
	rt.IssuedAt, rt.RotatedAt, rt.SealedSuccessor = time.Time{}, time.Time{}, nil
	rt.ExpiresAt = e.clock.now().Add(24 * time.Hour)
	rt.SealedForPredecessor = []byte("sealed successor " + e.clock.now().String())
	return rt
}

func expectNoToken(t *testing.T, e *env, h []byte) {
	t.Helper()
	if it := e.raw(hashKey(prefixRefresh, h)); it != nil {
		t.Fatalf("a cancelled rotation left a token behind: %v", it)
	}
	_, err := e.store.GetRefreshToken(e.ctx, h)
	mustErr(t, "GetRefreshToken of the new token", err, ErrNotFound)
}

func TestIssueFamily(t *testing.T) {
	e := newEnv(t)
	f, rt := issue(t, e, 30*24*time.Hour, 24*time.Hour)
	e.expectCalls("IssueFamily", map[string]int{"TransactWriteItems": 1})

	got, err := e.store.GetRefreshToken(e.ctx, hash("rt-0"))
	mustOK(t, "GetRefreshToken", err)
	e.expectCalls("GetRefreshToken", map[string]int{"GetItem": 1})
	if !reflect.DeepEqual(got, rt) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rt)
	}
	revoked, err := e.store.FamilyRevoked(e.ctx, f.ID)
	mustOK(t, "FamilyRevoked", err)
	e.expectCalls("FamilyRevoked", map[string]int{"GetItem": 1})
	if revoked {
		t.Fatal("new family revoked")
	}

	// A replayed code cannot create the family again, and the second token is not written.
	mustErr(t, "IssueFamily again", e.store.IssueFamily(e.ctx, f, hash("rt-replay"), rt), ErrExists)
	expectNoToken(t, e, hash("rt-replay"))
	// Nor can a token hash be reused for another family.
	f2 := Family{ID: "fam-2", ClientID: "client-1", ExpiresAt: f.ExpiresAt}
	mustErr(t, "IssueFamily with a taken token hash", e.store.IssueFamily(e.ctx, f2, hash("rt-0"), RefreshToken{ExpiresAt: rt.ExpiresAt}), ErrExists)
	if e.raw(familyKey("fam-2")) != nil {
		t.Fatal("failed IssueFamily left its family behind")
	}
	revoked, err = e.store.FamilyRevoked(e.ctx, "fam-2")
	mustOK(t, "FamilyRevoked missing", err)
	if !revoked {
		t.Fatal("a missing family must count as revoked")
	}
}

func TestRotateRefreshToken(t *testing.T) {
	e := newEnv(t)
	f, rt := issue(t, e, 30*24*time.Hour, 24*time.Hour)
	e.calls.take()

	e.clock.advance(time.Minute)
	n1 := next(e, rt)
	mustOK(t, "rotate 0->1", e.store.RotateRefreshToken(e.ctx, hash("rt-0"), hash("rt-1"), n1))
	e.expectCalls("RotateRefreshToken", map[string]int{"TransactWriteItems": 1})
	old, err := e.store.GetRefreshToken(e.ctx, hash("rt-0"))
	mustOK(t, "get rotated token", err)
	if !old.RotatedAt.Equal(e.clock.now()) {
		t.Errorf("rotated_at %v, want %v", old.RotatedAt, e.clock.now())
	}
	// The old item keeps the successor as the caller sealed it; the new item has none.
	if string(old.SealedSuccessor) != string(n1.SealedForPredecessor) {
		t.Errorf("sealed successor on the old token %q, want %q", old.SealedSuccessor, n1.SealedForPredecessor)
	}
	got, err := e.store.GetRefreshToken(e.ctx, hash("rt-1"))
	mustOK(t, "get new token", err)
	n1.IssuedAt, n1.SealedForPredecessor = e.clock.now(), nil
	if !reflect.DeepEqual(got, n1) {
		t.Fatalf("new token:\n got %+v\nwant %+v", got, n1)
	}

	// Reuse of the rotated token.
	e.clock.advance(time.Minute)
	mustErr(t, "rotate 0 again", e.store.RotateRefreshToken(e.ctx, hash("rt-0"), hash("rt-x"), next(e, rt)), ErrConsumed)
	expectNoToken(t, e, hash("rt-x"))
	if again, _ := e.store.GetRefreshToken(e.ctx, hash("rt-0")); !again.RotatedAt.Equal(old.RotatedAt) ||
		string(again.SealedSuccessor) != string(old.SealedSuccessor) {
		t.Errorf("failed rotation changed rotated_at or the sealed successor: %v", again)
	}

	// A rotation must leave the successor for the old token's holder; no call without it.
	e.calls.take()
	unsealed := next(e, rt)
	unsealed.SealedForPredecessor = nil
	mustErr(t, "rotate without a sealed successor", e.store.RotateRefreshToken(e.ctx, hash("rt-1"), hash("rt-u"), unsealed), ErrInvalid)
	e.expectCalls("rotate without a sealed successor", map[string]int{})

	// The new token rotates normally.
	mustOK(t, "rotate 1->2", e.store.RotateRefreshToken(e.ctx, hash("rt-1"), hash("rt-2"), next(e, rt)))

	// A taken new hash cancels the whole rotation.
	mustErr(t, "rotate 2 onto taken hash", e.store.RotateRefreshToken(e.ctx, hash("rt-2"), hash("rt-0"), next(e, rt)), ErrExists)
	if t2, _ := e.store.GetRefreshToken(e.ctx, hash("rt-2")); !t2.RotatedAt.IsZero() {
		t.Fatal("cancelled rotation marked the old token rotated")
	}

	// next must name the old token's family and client; otherwise the old token "does not
	// exist" for this rotation and nothing changes.
	other := Family{ID: "fam-other", ClientID: "client-1", ExpiresAt: f.ExpiresAt}
	mustOK(t, "IssueFamily other", e.store.IssueFamily(e.ctx, other, hash("other-0"), RefreshToken{ExpiresAt: rt.ExpiresAt}))
	wrongFamily := next(e, rt)
	wrongFamily.FamilyID = other.ID
	mustErr(t, "rotate into another family", e.store.RotateRefreshToken(e.ctx, hash("rt-2"), hash("rt-y"), wrongFamily), ErrNotFound)
	wrongClient := next(e, rt)
	wrongClient.ClientID = "client-2"
	mustErr(t, "rotate for another client", e.store.RotateRefreshToken(e.ctx, hash("rt-2"), hash("rt-y"), wrongClient), ErrNotFound)
	missingFamily := next(e, rt)
	missingFamily.FamilyID = "no-such-family"
	mustErr(t, "rotate into a missing family", e.store.RotateRefreshToken(e.ctx, hash("rt-2"), hash("rt-y"), missingFamily), ErrRevoked)
	expectNoToken(t, e, hash("rt-y"))
	if t2, _ := e.store.GetRefreshToken(e.ctx, hash("rt-2")); !t2.RotatedAt.IsZero() {
		t.Fatal("mismatched rotation marked the old token rotated")
	}
	// A missing old token.
	mustErr(t, "rotate a missing token", e.store.RotateRefreshToken(e.ctx, hash("never"), hash("rt-z"), next(e, rt)), ErrNotFound)
	expectNoToken(t, e, hash("rt-z"))
	if e.raw(hashKey(prefixRefresh, hash("never"))) != nil {
		t.Fatal("rotation of a missing token created it")
	}

	// Revocation stops rotation; nothing is written.
	e.calls.take()
	mustOK(t, "RevokeFamily", e.store.RevokeFamily(e.ctx, f.ID))
	e.expectCalls("RevokeFamily", map[string]int{"UpdateItem": 1})
	mustOK(t, "RevokeFamily again", e.store.RevokeFamily(e.ctx, f.ID))
	// A family revoked before it was issued (a code replayed during its first exchange)
	// stays revoked: IssueFamily can no longer create it.
	mustOK(t, "RevokeFamily missing", e.store.RevokeFamily(e.ctx, "no-such-family"))
	if gone, _ := e.store.FamilyRevoked(e.ctx, "no-such-family"); !gone {
		t.Fatal("tombstone of a missing family is not revoked")
	}
	mustErr(t, "IssueFamily after tombstone", e.store.IssueFamily(e.ctx, Family{ID: "no-such-family", ClientID: rt.ClientID,
		ExpiresAt: e.clock.now().Add(time.Hour)}, hash("rt-tomb"), RefreshToken{ClientID: rt.ClientID, Scope: "s", Resource: "r",
		User: rt.User, IssuedAt: e.clock.now(), ExpiresAt: e.clock.now().Add(time.Hour)}), ErrExists)
	revoked, err := e.store.FamilyRevoked(e.ctx, f.ID)
	mustOK(t, "FamilyRevoked", err)
	if !revoked {
		t.Fatal("family not revoked")
	}
	mustErr(t, "rotate after revoke", e.store.RotateRefreshToken(e.ctx, hash("rt-2"), hash("rt-3"), next(e, rt)), ErrRevoked)
	expectNoToken(t, e, hash("rt-3"))
	if t2, _ := e.store.GetRefreshToken(e.ctx, hash("rt-2")); !t2.RotatedAt.IsZero() {
		t.Fatal("rotation of a revoked family marked the old token rotated")
	}
	// Revoked wins over consumed.
	mustErr(t, "rotate rotated token of revoked family", e.store.RotateRefreshToken(e.ctx, hash("rt-0"), hash("rt-4"), next(e, rt)), ErrRevoked)
}

func TestRefreshTokenExpiry(t *testing.T) {
	e := newEnv(t)
	start := e.clock.now()
	_, rt := issue(t, e, 30*24*time.Hour, time.Hour)
	before := e.raw(hashKey(prefixRefresh, hash("rt-0")))

	e.clock.set(start.Add(time.Hour))
	_, err := e.store.GetRefreshToken(e.ctx, hash("rt-0"))
	mustErr(t, "get expired token", err, ErrNotFound)
	mustErr(t, "rotate expired token", e.store.RotateRefreshToken(e.ctx, hash("rt-0"), hash("rt-1"), next(e, rt)), ErrNotFound)
	expectNoToken(t, e, hash("rt-1"))
	if after := e.raw(hashKey(prefixRefresh, hash("rt-0"))); !reflect.DeepEqual(before, after) {
		t.Fatalf("expired token modified: %v", after)
	}
	e.clock.set(start.Add(time.Hour - time.Second))
	_, err = e.store.GetRefreshToken(e.ctx, hash("rt-0"))
	mustOK(t, "token one second before expiry", err)
}

func TestFamilyExpiry(t *testing.T) {
	e := newEnv(t)
	start := e.clock.now()
	f, rt := issue(t, e, time.Hour, 24*time.Hour)
	e.clock.set(start.Add(time.Hour))
	revoked, err := e.store.FamilyRevoked(e.ctx, f.ID)
	mustOK(t, "FamilyRevoked", err)
	if !revoked {
		t.Fatal("an expired family must count as revoked")
	}
	// The token itself is still live, but its family is over.
	_, err = e.store.GetRefreshToken(e.ctx, hash("rt-0"))
	mustOK(t, "token of an expired family", err)
	mustErr(t, "rotate in an expired family", e.store.RotateRefreshToken(e.ctx, hash("rt-0"), hash("rt-1"), next(e, rt)), ErrRevoked)
	expectNoToken(t, e, hash("rt-1"))
	if t0, _ := e.store.GetRefreshToken(e.ctx, hash("rt-0")); !t0.RotatedAt.IsZero() {
		t.Fatal("old token marked rotated")
	}
}

func TestRotateConcurrent(t *testing.T) {
	e := newEnv(t)
	_, rt := issue(t, e, 30*24*time.Hour, 24*time.Hour)
	const n = 10
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = e.store.RotateRefreshToken(e.ctx, hash("rt-0"), hash(fmt.Sprint("new-", i)), next(e, rt))
		}()
	}
	close(start)
	wg.Wait()
	ok, consumed, winner := 0, 0, -1
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			winner = i
		case errors.Is(err, ErrConsumed), errors.Is(err, ErrContended): // contended: conflicts outlasted the retries
			consumed++
		default:
			t.Errorf("rotation %d: unexpected error %v", i, err)
		}
	}
	if ok != 1 || consumed != n-1 {
		t.Fatalf("%d successes and %d ErrConsumed/ErrContended, want 1 and %d", ok, consumed, n-1)
	}
	// The losers wrote nothing: the old item holds the winner's sealed successor.
	old, err := e.store.GetRefreshToken(e.ctx, hash("rt-0"))
	mustOK(t, "rotated token", err)
	if len(old.SealedSuccessor) == 0 {
		t.Fatal("the winning rotation left no sealed successor")
	}
	for i := range n {
		_, err := e.store.GetRefreshToken(e.ctx, hash(fmt.Sprint("new-", i)))
		if i == winner {
			mustOK(t, "winning token", err)
		} else {
			mustErr(t, "losing token", err, ErrNotFound)
		}
	}
}

// docs/decisions.md "Refresh follows the WorkOS session": the sealed WorkOS refresh token is
// kept as given on the code, the family's first token and each successor; the rotated token
// keeps its own (a retry within the grace window reads the successor's, never this one).
func TestSealedWorkOSTokenTravelsWithEachToken(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.now().Add(time.Hour)
	mustOK(t, "PutCode", e.store.PutCode(e.ctx, hash("code-w"), Code{Request: testRequest, User: testUser, FamilyID: "fam-w",
		ExpiresAt: exp, SealedUpstream: []byte("sealed for the code")}))
	code, err := e.store.GetCode(e.ctx, hash("code-w"))
	mustOK(t, "GetCode", err)
	if string(code.SealedUpstream) != "sealed for the code" {
		t.Fatalf("code's sealed WorkOS token: %q", code.SealedUpstream)
	}

	f := Family{ID: "fam-w", ClientID: "client-1", ExpiresAt: exp}
	first := RefreshToken{Scope: "openid", Resource: testRequest.Resource, User: testUser, ExpiresAt: exp, SealedUpstream: []byte("sealed for rt-0")}
	mustOK(t, "IssueFamily", e.store.IssueFamily(e.ctx, f, hash("w-0"), first))
	rt, err := e.store.GetRefreshToken(e.ctx, hash("w-0"))
	mustOK(t, "GetRefreshToken", err)
	n := next(e, rt)
	n.SealedUpstream = []byte("sealed for rt-1")
	mustOK(t, "RotateRefreshToken", e.store.RotateRefreshToken(e.ctx, hash("w-0"), hash("w-1"), n))
	old, err := e.store.GetRefreshToken(e.ctx, hash("w-0"))
	mustOK(t, "GetRefreshToken old", err)
	succ, err := e.store.GetRefreshToken(e.ctx, hash("w-1"))
	mustOK(t, "GetRefreshToken new", err)
	if string(old.SealedUpstream) != "sealed for rt-0" || string(succ.SealedUpstream) != "sealed for rt-1" {
		t.Fatalf("sealed WorkOS tokens: old %q, successor %q", old.SealedUpstream, succ.SealedUpstream)
	}
}
