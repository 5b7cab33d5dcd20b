package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// MCP authorization: a remembered consent belongs to one browser, client and resource, and
// names the person and the scopes they approved.
func TestConsent(t *testing.T) {
	e := newEnv(t)
	browser, other := hash("browser"), hash("other-browser")
	const resource, otherResource = "https://as.example/mcp", "https://as.example/other"
	get := func(b []byte, client, res string) (Consent, bool) {
		t.Helper()
		c, err := e.store.GetConsent(e.ctx, b, client, res)
		if errors.Is(err, ErrNotFound) {
			return Consent{}, false
		}
		mustOK(t, "GetConsent", err)
		return c, true
	}
	if _, ok := get(browser, "client-1", resource); ok {
		t.Fatal("consent before any was given")
	}
	e.calls.take()
	start := e.clock.now()
	c := Consent{UserID: "user_ada", Scope: "mcp:tools", ExpiresAt: start.Add(time.Hour).Truncate(time.Second)}
	mustOK(t, "put", e.store.PutConsent(e.ctx, browser, "client-1", resource, c))
	e.expectCalls("PutConsent", map[string]int{"PutItem": 1})
	got, ok := get(browser, "client-1", resource)
	e.expectCalls("GetConsent", map[string]int{"GetItem": 1})
	if !ok || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: got %+v (%v), want %+v", got, ok, c)
	}
	if _, ok := get(browser, "client-2", resource); ok {
		t.Fatal("consent leaked to another client")
	}
	if _, ok := get(browser, "client-1", otherResource); ok {
		t.Fatal("consent leaked to another resource")
	}
	if _, ok := get(other, "client-1", resource); ok {
		t.Fatal("consent leaked to another browser")
	}
	// Overwriting replaces the person and the scopes, and renews it.
	c2 := Consent{UserID: "user_grace", Scope: "mcp:tools orgs:read", ExpiresAt: start.Add(3 * time.Hour).Truncate(time.Second)}
	mustOK(t, "replace", e.store.PutConsent(e.ctx, browser, "client-1", resource, c2))
	e.clock.set(start.Add(2 * time.Hour))
	if got, ok := get(browser, "client-1", resource); !ok || !reflect.DeepEqual(got, c2) {
		t.Fatalf("replaced consent: %+v %v", got, ok)
	}
	e.clock.set(start.Add(3 * time.Hour))
	if _, ok := get(browser, "client-1", resource); ok {
		t.Fatal("expired consent still counted")
	}
	if e.raw(consentKey(browser, "client-1", resource)) == nil {
		t.Fatal("expected the expired item to still be in DynamoDB Local (the check is in code)")
	}
	// A consent names its person and resource.
	e.calls.take()
	mustErr(t, "consent without person", e.store.PutConsent(e.ctx, browser, "c", resource, Consent{ExpiresAt: start.Add(time.Hour)}), ErrInvalid)
	mustErr(t, "consent without resource", e.store.PutConsent(e.ctx, browser, "c", "", c), ErrInvalid)
	e.expectCalls("invalid consents", map[string]int{})
}
