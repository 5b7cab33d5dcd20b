package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// RFC 7662 §2.1: a resource server's credentials round-trip with one call each, keep only the
// secret's hash, live under their own key prefix (never a client), and can be withdrawn.
func TestResourceServerRoundTrip(t *testing.T) {
	e := newEnv(t)
	rs := ResourceServer{ID: "abrs_one", SecretHash: hash("abrss_secret"), Resource: "https://crm.example.com/mcp",
		CreatedAt: e.clock.now().Add(-time.Minute).Truncate(time.Second)}
	mustOK(t, "PutResourceServer", e.store.PutResourceServer(e.ctx, rs))
	e.expectCalls("PutResourceServer", map[string]int{"PutItem": 1})
	got, err := e.store.GetResourceServer(e.ctx, rs.ID)
	mustOK(t, "GetResourceServer", err)
	e.expectCalls("GetResourceServer", map[string]int{"GetItem": 1})
	if !reflect.DeepEqual(got, rs) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rs)
	}
	if it := e.raw(prefixResourceServer + rs.ID); it == nil || it["secret"] != nil {
		t.Fatalf("stored item %v", it)
	}
	// Its own key space: an MCP client of the same id does not exist, nor the reverse.
	mustErr(t, "GetClient of a resource server id", func() error { _, err := e.store.GetClient(e.ctx, rs.ID); return err }(), ErrNotFound)
	mustOK(t, "PutClient same id", e.store.PutClient(e.ctx, Client{ID: "abc_client"}))
	mustErr(t, "GetResourceServer of a client id", func() error { _, err := e.store.GetResourceServer(e.ctx, "abc_client"); return err }(), ErrNotFound)
	e.expectCalls("lookups", map[string]int{"GetItem": 2, "PutItem": 1})

	mustErr(t, "another resource server under the id", e.store.PutResourceServer(e.ctx, func() ResourceServer { o := rs; o.Resource += "/other"; return o }()), ErrExists)
	mustOK(t, "DeleteResourceServer", e.store.DeleteResourceServer(e.ctx, rs.ID))
	mustErr(t, "GetResourceServer deleted", func() error { _, err := e.store.GetResourceServer(e.ctx, rs.ID); return err }(), ErrNotFound)
	mustErr(t, "DeleteResourceServer twice", e.store.DeleteResourceServer(e.ctx, rs.ID), ErrNotFound)
	e.expectCalls("put, delete, get, delete", map[string]int{"PutItem": 1, "DeleteItem": 2, "GetItem": 1})

	// Arguments are checked before any call.
	for what, bad := range map[string]ResourceServer{
		"no id":     {SecretHash: hash("s"), Resource: "https://r"},
		"no hash":   {ID: "x", Resource: "https://r"},
		"short":     {ID: "x", SecretHash: []byte("short"), Resource: "https://r"},
		"no target": {ID: "x", SecretHash: hash("s")},
	} {
		if err := e.store.PutResourceServer(e.ctx, bad); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInvalidHash) {
			t.Errorf("%s: %v, want ErrInvalid or ErrInvalidHash", what, err)
		}
	}
	e.expectCalls("invalid arguments", map[string]int{})
}

// RFC 7662 §2.2: GrantRevoked is true only for a family marked revoked (expired or not), and
// false for one that is live or does not exist (a client without refresh tokens has none).
func TestGrantRevoked(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.now().Add(time.Hour)
	mustOK(t, "IssueFamily", e.store.IssueFamily(e.ctx, Family{ID: "fam-live", ClientID: "c", ExpiresAt: exp}, hash("rt"), RefreshToken{ExpiresAt: exp}))
	e.expectCalls("setup", map[string]int{"TransactWriteItems": 1})
	for id, want := range map[string]bool{"fam-live": false, "fam-missing": false} {
		got, err := e.store.GrantRevoked(e.ctx, id)
		mustOK(t, "GrantRevoked", err)
		if got != want {
			t.Errorf("GrantRevoked(%s) = %v, want %v", id, got, want)
		}
	}
	e.expectCalls("GrantRevoked", map[string]int{"GetItem": 2})
	mustOK(t, "RevokeFamily", e.store.RevokeFamily(e.ctx, "fam-live"))
	mustOK(t, "RevokeFamily tombstone", e.store.RevokeFamily(e.ctx, "fam-missing"))
	e.clock.advance(2 * time.Hour) // the family's own expiry has passed; the mark still counts
	for _, id := range []string{"fam-live", "fam-missing"} {
		if got, err := e.store.GrantRevoked(e.ctx, id); err != nil || !got {
			t.Errorf("GrantRevoked(%s) after revocation = %v, %v", id, got, err)
		}
	}
	if _, err := e.store.GrantRevoked(e.ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
}
