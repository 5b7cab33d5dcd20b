package store

import (
	"errors"
	"testing"
	"time"
)

// The token endpoint's read: the client and the code (or refresh token) in one BatchGetItem;
// each missing item reported on its own, and a call refused before any request for an id no
// client can have.
func TestReadForTokenIsOneRequest(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.now().Add(time.Hour)
	mustOK(t, "client", e.store.PutClient(e.ctx, Client{ID: "abc_reader", Name: "Reader", TokenEndpointAuthMethod: "none", ExpiresAt: exp}))
	mustOK(t, "code", e.store.PutCode(e.ctx, hash("code"), Code{Request: testRequest, User: testUser, ExpiresAt: e.clock.now().Add(5 * time.Minute)}))
	mustOK(t, "family", e.store.IssueFamily(e.ctx, Family{ID: "fam-r", ClientID: "abc_reader", ExpiresAt: exp}, hash("refresh"), RefreshToken{User: testUser, ExpiresAt: exp}))
	e.calls.take()

	read, err := e.store.ReadForToken(e.ctx, "abc_reader", hash("code"), nil)
	mustOK(t, "read", err)
	e.expectCalls("client and code", map[string]int{"BatchGetItem": 1})
	if read.ClientErr != nil || read.Client.Name != "Reader" || !read.CodeRead || read.CodeErr != nil || read.Code.Request != testRequest || read.RefreshRead {
		t.Fatalf("read %+v", read)
	}
	read, err = e.store.ReadForToken(e.ctx, "abc_reader", nil, hash("refresh"))
	mustOK(t, "read", err)
	e.expectCalls("client and refresh token", map[string]int{"BatchGetItem": 1})
	if read.RefreshErr != nil || read.Refresh.FamilyID != "fam-r" || read.CodeRead {
		t.Fatalf("read %+v", read)
	}
	read, err = e.store.ReadForToken(e.ctx, "abc_nobody", hash("no code"), nil)
	mustOK(t, "read of missing items", err)
	if !errors.Is(read.ClientErr, ErrNotFound) || !errors.Is(read.CodeErr, ErrNotFound) {
		t.Fatalf("missing items: %+v", read)
	}
	e.clock.advance(6 * time.Minute) // the code has expired, the client not
	read, _ = e.store.ReadForToken(e.ctx, "abc_reader", hash("code"), nil)
	if read.ClientErr != nil || !errors.Is(read.CodeErr, ErrNotFound) {
		t.Fatalf("an expired code: %+v", read)
	}
	e.calls.take()
	read, err = e.store.ReadForToken(e.ctx, "", nil, nil)
	mustOK(t, "nothing to read", err)
	if !errors.Is(read.ClientErr, ErrInvalid) {
		t.Fatalf("empty client id: %+v", read)
	}
	e.expectCalls("nothing to read", map[string]int{})
}

// A client's first token: the code spent and the registration kept in one transaction; a
// client deleted since it was read cancels both (ErrClientGone, nothing written).
func TestRedeemCodeFirstUse(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.now().Add(time.Hour)
	mustOK(t, "client", e.store.PutClient(e.ctx, Client{ID: "abc_first", TokenEndpointAuthMethod: "none", ExpiresAt: exp}))
	mustOK(t, "code", e.store.PutCode(e.ctx, hash("code"), Code{Request: testRequest, User: testUser, ExpiresAt: e.clock.now().Add(5 * time.Minute)}))
	e.calls.take()
	_, err := e.store.RedeemCodeFirstUse(e.ctx, hash("code"), "abc_first")
	mustOK(t, "first use", err)
	e.expectCalls("first use", map[string]int{"TransactWriteItems": 1})
	c, err := e.store.GetClient(e.ctx, "abc_first")
	mustOK(t, "client after", err)
	if !c.ExpiresAt.IsZero() {
		t.Fatalf("the client still expires at %v", c.ExpiresAt)
	}
	_, err = e.store.RedeemCodeFirstUse(e.ctx, hash("code"), "abc_first")
	mustErr(t, "the code again", err, ErrConsumed)

	mustOK(t, "code 2", e.store.PutCode(e.ctx, hash("code-2"), Code{Request: testRequest, User: testUser, FamilyID: "fam-2", ExpiresAt: e.clock.now().Add(5 * time.Minute)}))
	deleted, err := e.store.DeleteClient(e.ctx, "abc_first")
	if err != nil || !deleted {
		t.Fatalf("delete client: %v %v", deleted, err)
	}
	before := e.raw(hashKey(prefixCode, hash("code-2")))
	_, err = e.store.RedeemCodeIssuingFamily(e.ctx, hash("code-2"), Family{ID: "fam-2", ClientID: "abc_first", ExpiresAt: exp},
		hash("refresh-2"), RefreshToken{User: testUser, ExpiresAt: exp}, "abc_first")
	mustErr(t, "a deleted client's first token", err, ErrClientGone)
	if after := e.raw(hashKey(prefixCode, hash("code-2"))); after["used_at"] != nil || len(after) != len(before) {
		t.Fatalf("the code was spent for a deleted client: %v", after)
	}
	if e.raw(familyKey("fam-2")) != nil {
		t.Fatal("a family was written for a deleted client")
	}
}
