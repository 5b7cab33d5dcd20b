package store

import (
	"reflect"
	"testing"
	"time"
)

func TestConsentRequest(t *testing.T) {
	e := newEnv(t)
	id := hash("request-id")
	r := ConsentRequest{Request: testRequest, CSRFHash: hash("csrf"), BrowserHash: hash("browser"),
		Remembered:       Consent{UserID: "user_ada", Scope: "mcp:tools", ExpiresAt: e.clock.now().Add(time.Hour).Truncate(time.Second)},
		RedirectApproved: true,
		SignedIn:         User{ID: "user_grace", Email: "grace@example.com", FirstName: "Grace", SessionID: "session_1"},
		ExpiresAt:        e.clock.now().Add(10 * time.Minute).Truncate(time.Second)}
	mustOK(t, "put", e.store.PutConsentRequest(e.ctx, id, r))
	e.expectCalls("PutConsentRequest", map[string]int{"PutItem": 1})
	// The SDK repeating the same call after a lost answer finds its own item: a success.
	mustOK(t, "the same put repeated", e.store.PutConsentRequest(e.ctx, id, r))
	mustErr(t, "another item under the key", e.store.PutConsentRequest(e.ctx, id, func() ConsentRequest { o := r; o.ExpiresAt = o.ExpiresAt.Add(time.Minute); return o }()), ErrExists)
	e.calls.take()

	got, err := e.store.GetConsentRequest(e.ctx, id)
	mustOK(t, "get", err)
	e.expectCalls("GetConsentRequest", map[string]int{"GetItem": 1})
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
	// Reading does not consume.
	_, err = e.store.GetConsentRequest(e.ctx, id)
	mustOK(t, "get twice", err)
	e.calls.take()

	mustOK(t, "delete", e.store.DeleteConsentRequest(e.ctx, id))
	e.expectCalls("DeleteConsentRequest", map[string]int{"UpdateItem": 1})
	mustErr(t, "delete twice", e.store.DeleteConsentRequest(e.ctx, id), ErrNotFound)
	_, err = e.store.GetConsentRequest(e.ctx, id)
	mustErr(t, "get after delete", err, ErrNotFound)
	_, err = e.store.GetConsentRequest(e.ctx, hash("other"))
	mustErr(t, "get missing", err, ErrNotFound)
}

func TestConsentRequestExpiry(t *testing.T) {
	e := newEnv(t)
	id := hash("request-id")
	exp := e.clock.now().Add(10 * time.Minute)
	mustOK(t, "put", e.store.PutConsentRequest(e.ctx, id,
		ConsentRequest{Request: testRequest, CSRFHash: hash("csrf"), BrowserHash: hash("b"), ExpiresAt: exp}))
	e.clock.set(exp.Add(-time.Second))
	_, err := e.store.GetConsentRequest(e.ctx, id)
	mustOK(t, "one second before expiry", err)

	e.clock.set(exp)
	before := e.raw(hashKey(prefixAuthReq, id))
	_, err = e.store.GetConsentRequest(e.ctx, id)
	mustErr(t, "get at expiry", err, ErrNotFound)
	mustErr(t, "delete expired", e.store.DeleteConsentRequest(e.ctx, id), ErrNotFound)
	if after := e.raw(hashKey(prefixAuthReq, id)); after == nil || !reflect.DeepEqual(before, after) {
		t.Errorf("expired request modified by the failed delete: %v", after)
	}
}
