package store

import (
	"testing"
	"time"
)

func TestConsent(t *testing.T) {
	e := newEnv(t)
	browser, other := hash("browser"), hash("other-browser")
	has := func(b []byte, client string) bool {
		t.Helper()
		ok, err := e.store.HasConsent(e.ctx, b, client)
		mustOK(t, "HasConsent", err)
		return ok
	}
	if has(browser, "client-1") {
		t.Fatal("consent before any was given")
	}
	e.calls.take()
	start := e.clock.now()
	mustOK(t, "put", e.store.PutConsent(e.ctx, browser, "client-1", start.Add(time.Hour)))
	e.expectCalls("PutConsent", map[string]int{"PutItem": 1})
	if !has(browser, "client-1") {
		t.Fatal("consent not found")
	}
	e.expectCalls("HasConsent", map[string]int{"GetItem": 1})
	if has(browser, "client-2") || has(other, "client-1") {
		t.Fatal("consent leaked to another client or browser")
	}
	// Overwriting renews it.
	mustOK(t, "renew", e.store.PutConsent(e.ctx, browser, "client-1", start.Add(3*time.Hour)))
	e.clock.set(start.Add(2 * time.Hour))
	if !has(browser, "client-1") {
		t.Fatal("renewed consent expired at the old time")
	}
	e.clock.set(start.Add(3 * time.Hour))
	if has(browser, "client-1") {
		t.Fatal("expired consent still counted")
	}
	if e.raw(consentKey(browser, "client-1")) == nil {
		t.Fatal("expected the expired item to still be in DynamoDB Local (the check is in code)")
	}
}
