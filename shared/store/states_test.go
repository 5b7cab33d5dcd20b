package store

import (
	"reflect"
	"testing"
	"time"
)

func TestUpstreamState(t *testing.T) {
	e := newEnv(t)
	h := hash("workos-state")
	st := UpstreamState{Request: testRequest, SealedVerifier: []byte("sealed\x00verifier\xff"),
		BrowserHash: hash("browser"), ExpiresAt: e.clock.now().Add(10 * time.Minute)}
	mustOK(t, "put", e.store.PutUpstreamState(e.ctx, h, st))
	e.expectCalls("PutUpstreamState", map[string]int{"PutItem": 1})
	mustErr(t, "put again", e.store.PutUpstreamState(e.ctx, h, st), ErrExists)
	e.calls.take()

	got, err := e.store.ConsumeUpstreamState(e.ctx, h)
	mustOK(t, "consume", err)
	e.expectCalls("ConsumeUpstreamState", map[string]int{"DeleteItem": 1})
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
	_, err = e.store.ConsumeUpstreamState(e.ctx, h)
	mustErr(t, "consume twice", err, ErrNotFound)
	if e.raw(hashKey(prefixState, h)) != nil {
		t.Error("consumed state still stored")
	}
	_, err = e.store.ConsumeUpstreamState(e.ctx, hash("never stored"))
	mustErr(t, "consume missing", err, ErrNotFound)

	// Without a browser binding.
	h2 := hash("state-2")
	mustOK(t, "put unbound", e.store.PutUpstreamState(e.ctx, h2, UpstreamState{Request: testRequest, ExpiresAt: e.clock.now().Add(time.Minute)}))
	got, err = e.store.ConsumeUpstreamState(e.ctx, h2)
	mustOK(t, "consume unbound", err)
	if got.BrowserHash != nil || got.SealedVerifier != nil || got.Request != testRequest {
		t.Errorf("unbound state %+v", got)
	}
}

func TestUpstreamStateExpiry(t *testing.T) {
	e := newEnv(t)
	h := hash("workos-state")
	exp := e.clock.now().Add(10 * time.Minute)
	mustOK(t, "put", e.store.PutUpstreamState(e.ctx, h, UpstreamState{Request: testRequest, ExpiresAt: exp}))
	before := e.raw(hashKey(prefixState, h))
	e.clock.set(exp.Add(time.Second))
	_, err := e.store.ConsumeUpstreamState(e.ctx, h)
	mustErr(t, "consume expired", err, ErrNotFound)
	if after := e.raw(hashKey(prefixState, h)); after == nil || !reflect.DeepEqual(before, after) {
		t.Errorf("expired state modified: %v", after)
	}
	// Going back in time shows the item really was left alone (and was only refused for expiry).
	e.clock.set(exp.Add(-time.Second))
	_, err = e.store.ConsumeUpstreamState(e.ctx, h)
	mustOK(t, "consume before expiry", err)
}
