package store

import (
	"errors"
	"testing"
	"time"
)

// A page session is stored under the hash of its cookie, read while live (1 GetItem),
// unreadable once expired, and gone after sign-out; arguments are checked before any call.
func TestAppsSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	user := User{ID: "user_ada", Email: "ada@example.com"}
	exp := e.clock.now().Add(15 * time.Minute)
	mustOK(t, "put", e.store.PutAppsSession(e.ctx, hash("abp_1"), AppsSession{User: user, ExpiresAt: exp}))
	e.expectCalls("put", map[string]int{"PutItem": 1})
	// The SDK repeating the same call after a lost answer finds its own item: a success.
	mustOK(t, "the same put repeated", e.store.PutAppsSession(e.ctx, hash("abp_1"), AppsSession{User: user, ExpiresAt: exp}))
	mustErr(t, "another item under the key", e.store.PutAppsSession(e.ctx, hash("abp_1"), AppsSession{User: User{ID: "user_mallory"}, ExpiresAt: exp}), ErrExists)
	e.calls.take()

	got, err := e.store.GetAppsSession(e.ctx, hash("abp_1"))
	mustOK(t, "get", err)
	if got.User != user || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("got %+v", got)
	}
	e.expectCalls("get", map[string]int{"GetItem": 1})
	if e.raw(hashKey(prefixAppsSession, hash("abp_1"))) == nil {
		t.Fatal("the session is not stored under the hash of its cookie")
	}

	e.clock.advance(15 * time.Minute)
	_, err = e.store.GetAppsSession(e.ctx, hash("abp_1"))
	mustErr(t, "expired", err, ErrNotFound)
	e.clock.advance(-15 * time.Minute)

	mustOK(t, "delete", e.store.DeleteAppsSession(e.ctx, hash("abp_1")))
	mustOK(t, "delete again (idempotent)", e.store.DeleteAppsSession(e.ctx, hash("abp_1")))
	_, err = e.store.GetAppsSession(e.ctx, hash("abp_1"))
	mustErr(t, "after sign-out", err, ErrNotFound)

	e.calls.take()
	mustErr(t, "short hash", e.store.PutAppsSession(e.ctx, []byte("short"), AppsSession{User: user, ExpiresAt: exp}), ErrInvalidHash)
	mustErr(t, "no user", e.store.PutAppsSession(e.ctx, hash("abp_2"), AppsSession{ExpiresAt: exp}), ErrInvalid)
	mustErr(t, "no expiry", e.store.PutAppsSession(e.ctx, hash("abp_2"), AppsSession{User: user}), ErrInvalid)
	e.expectCalls("refused arguments", map[string]int{})
}

// The person's revocation of an app is kept per person and client, the latest one wins, and
// it is forgotten after its expiry.
func TestAppRevokedAt(t *testing.T) {
	e := newEnv(t)
	now := e.clock.now()
	at, err := e.store.AppRevokedAt(e.ctx, "user_ada", "abc_1")
	mustOK(t, "none yet", err)
	if !at.IsZero() {
		t.Fatalf("no revocation yet, got %v", at)
	}
	mustOK(t, "put", e.store.PutAppRevoked(e.ctx, "user_ada", "abc_1", now, now.Add(time.Hour)))
	mustOK(t, "put later", e.store.PutAppRevoked(e.ctx, "user_ada", "abc_1", now.Add(time.Minute), now.Add(time.Hour)))
	e.calls.take()
	at, err = e.store.AppRevokedAt(e.ctx, "user_ada", "abc_1")
	mustOK(t, "get", err)
	if !at.Equal(now.Add(time.Minute)) {
		t.Fatalf("revoked at %v, want the latest %v", at, now.Add(time.Minute))
	}
	e.expectCalls("get", map[string]int{"GetItem": 1})
	for _, other := range [][2]string{{"user_grace", "abc_1"}, {"user_ada", "abc_2"}} {
		if at, _ := e.store.AppRevokedAt(e.ctx, other[0], other[1]); !at.IsZero() {
			t.Errorf("%v: another person's or app's revocation leaked: %v", other, at)
		}
	}
	e.clock.advance(time.Hour)
	if at, _ := e.store.AppRevokedAt(e.ctx, "user_ada", "abc_1"); !at.IsZero() {
		t.Fatalf("an expired revocation must be forgotten, got %v", at)
	}
	if err := e.store.PutAppRevoked(e.ctx, "", "abc_1", now, now.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty user: %v", err)
	}
}
