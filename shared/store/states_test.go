package store

import (
	"reflect"
	"testing"
	"time"
)

func TestUpstreamState(t *testing.T) {
	e := newEnv(t)
	h := hash("workos-state")
	browser := hash("browser")
	st := UpstreamState{Request: testRequest, SealedVerifier: []byte("sealed\x00verifier\xff"),
		BrowserHash: browser, ConsentApproved: true, RedirectApproved: true,
		Remembered: Consent{UserID: "user_ada", Scope: "mcp:tools", ExpiresAt: e.clock.now().Add(time.Hour).Truncate(time.Second)},
		ExpiresAt:  e.clock.now().Add(10 * time.Minute).Truncate(time.Second)}
	mustOK(t, "put", e.store.PutUpstreamState(e.ctx, h, st))
	e.expectCalls("PutUpstreamState", map[string]int{"PutItem": 1})
	// The SDK repeating the same call after a lost answer finds its own item: a success.
	mustOK(t, "the same put repeated", e.store.PutUpstreamState(e.ctx, h, st))
	mustErr(t, "another item under the key", e.store.PutUpstreamState(e.ctx, h, func() UpstreamState { o := st; o.ConsentApproved = !o.ConsentApproved; return o }()), ErrExists)
	e.calls.take()

	// RFC 6749 §10.12: another browser (or none) is refused and changes nothing.
	before := e.raw(hashKey(prefixState, h))
	_, err := e.store.ConsumeUpstreamState(e.ctx, h, hash("other-browser"))
	mustErr(t, "consume from another browser", err, ErrOtherBrowser)
	e.expectCalls("ConsumeUpstreamState refused", map[string]int{"UpdateItem": 1})
	if after := e.raw(hashKey(prefixState, h)); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused consumption changed the state: %v", after)
	}

	got, err := e.store.ConsumeUpstreamState(e.ctx, h, browser)
	mustOK(t, "consume", err)
	e.expectCalls("ConsumeUpstreamState", map[string]int{"UpdateItem": 1})
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
	_, err = e.store.ConsumeUpstreamState(e.ctx, h, browser)
	mustErr(t, "consume twice", err, ErrNotFound)
	// Spent, it stays marked until its expiry (TTL): a callback replayed in another browser
	// after it is refused as spent, not as another browser's.
	if raw := e.raw(hashKey(prefixState, h)); raw == nil || raw[attrConsumed] == nil {
		t.Errorf("consumed state not marked: %v", raw)
	}
	_, err = e.store.ConsumeUpstreamState(e.ctx, h, hash("other-browser"))
	mustErr(t, "consume a spent state from another browser", err, ErrNotFound)
	_, err = e.store.ConsumeUpstreamState(e.ctx, hash("never stored"), browser)
	mustErr(t, "consume missing", err, ErrNotFound)

	// A state is always bound to a browser.
	e.calls.take()
	mustErr(t, "put unbound", e.store.PutUpstreamState(e.ctx, hash("state-2"), UpstreamState{Request: testRequest, ExpiresAt: e.clock.now().Add(time.Minute)}), ErrInvalidHash)
	e.expectCalls("unbound state", map[string]int{})
}

func TestUpstreamStateExpiry(t *testing.T) {
	e := newEnv(t)
	h := hash("workos-state")
	exp := e.clock.now().Add(10 * time.Minute)
	browser := hash("browser")
	mustOK(t, "put", e.store.PutUpstreamState(e.ctx, h, UpstreamState{Request: testRequest, BrowserHash: browser, ExpiresAt: exp}))
	before := e.raw(hashKey(prefixState, h))
	e.clock.set(exp.Add(time.Second))
	_, err := e.store.ConsumeUpstreamState(e.ctx, h, browser)
	mustErr(t, "consume expired", err, ErrNotFound)
	_, err = e.store.ConsumeUpstreamState(e.ctx, h, hash("other-browser"))
	mustErr(t, "consume expired from another browser", err, ErrNotFound)
	if after := e.raw(hashKey(prefixState, h)); after == nil || !reflect.DeepEqual(before, after) {
		t.Errorf("expired state modified: %v", after)
	}
	// Going back in time shows the item really was left alone (and was only refused for expiry).
	e.clock.set(exp.Add(-time.Second))
	_, err = e.store.ConsumeUpstreamState(e.ctx, h, browser)
	mustOK(t, "consume before expiry", err)
}
