package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func TestClientRoundTrip(t *testing.T) {
	e := newEnv(t)
	issued := e.clock.now().Add(-time.Minute)
	c := Client{
		ID: "client-1", SecretHash: hash("secret"), Name: "Claude",
		RedirectURIs:            []string{"https://claude.ai/api/mcp/auth_callback", "http://127.0.0.1/cb"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: "client_secret_post", Scope: "openid email",
		ClientURI: "https://claude.ai", LogoURI: "https://claude.ai/logo.png",
		IssuedAt: issued, ExpiresAt: e.clock.now().Add(24 * time.Hour),
	}
	mustOK(t, "PutClient", e.store.PutClient(e.ctx, c))
	e.expectCalls("PutClient", map[string]int{"PutItem": 1})
	got, err := e.store.GetClient(e.ctx, c.ID)
	mustOK(t, "GetClient", err)
	e.expectCalls("GetClient", map[string]int{"GetItem": 1})
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	// The secret is stored only as its hash.
	if it := e.raw(clientKey(c.ID)); !bytes.Equal(getB(it, "secret_hash"), hash("secret")) {
		t.Errorf("stored secret_hash %x", getB(it, "secret_hash"))
	}

	// A public client without expiry: nil hash, zero ExpiresAt, IssuedAt filled in.
	pub := Client{ID: "public", Name: "Inspector", RedirectURIs: []string{"http://localhost:6274/oauth/callback"}, TokenEndpointAuthMethod: "none"}
	mustOK(t, "PutClient public", e.store.PutClient(e.ctx, pub))
	got, err = e.store.GetClient(e.ctx, "public")
	mustOK(t, "GetClient public", err)
	if got.SecretHash != nil || !got.ExpiresAt.IsZero() || !got.IssuedAt.Equal(e.clock.now()) || got.Name != "Inspector" {
		t.Errorf("public client %+v", got)
	}
	if _, ok := e.raw(clientKey("public"))["expires_at"]; ok {
		t.Error("client without expiry has expires_at")
	}
	e.clock.advance(10 * 365 * 24 * time.Hour)
	_, err = e.store.GetClient(e.ctx, "public")
	mustOK(t, "client without expiry, years later", err)

	_, err = e.store.GetClient(e.ctx, "nobody")
	mustErr(t, "GetClient missing", err, ErrNotFound)
}

func TestPutClientTwice(t *testing.T) {
	e := newEnv(t)
	mustOK(t, "first", e.store.PutClient(e.ctx, Client{ID: "dup", Name: "first"}))
	mustErr(t, "second", e.store.PutClient(e.ctx, Client{ID: "dup", Name: "second"}), ErrExists)
	got, err := e.store.GetClient(e.ctx, "dup")
	mustOK(t, "get", err)
	if got.Name != "first" {
		t.Errorf("collision overwrote the client: %+v", got)
	}
}

func TestClientExpiryAndMarkUsed(t *testing.T) {
	e := newEnv(t)
	start := e.clock.now()
	mustOK(t, "put a", e.store.PutClient(e.ctx, Client{ID: "a", ExpiresAt: start.Add(time.Hour)}))
	mustOK(t, "put b", e.store.PutClient(e.ctx, Client{ID: "b", ExpiresAt: start.Add(time.Hour)}))

	_, err := e.store.GetClient(e.ctx, "a")
	mustOK(t, "a before expiry", err)
	e.calls.take()
	mustOK(t, "MarkClientUsed a", e.store.MarkClientUsed(e.ctx, "a"))
	e.expectCalls("MarkClientUsed", map[string]int{"UpdateItem": 1})
	if _, ok := e.raw(clientKey("a"))["expires_at"]; ok {
		t.Fatal("MarkClientUsed left expires_at")
	}
	mustOK(t, "MarkClientUsed a again (idempotent)", e.store.MarkClientUsed(e.ctx, "a"))
	e.expectCalls("MarkClientUsed again", map[string]int{"UpdateItem": 1})

	// Exactly at expires_at the registration is gone.
	e.clock.set(start.Add(time.Hour))
	got, err := e.store.GetClient(e.ctx, "a")
	mustOK(t, "used client after the old expiry", err)
	if !got.ExpiresAt.IsZero() {
		t.Errorf("used client still expires at %v", got.ExpiresAt)
	}
	_, err = e.store.GetClient(e.ctx, "b")
	mustErr(t, "unused client after expiry", err, ErrNotFound)

	// An expired registration is not revived by MarkClientUsed, and is left as it was.
	before := e.raw(clientKey("b"))
	mustErr(t, "MarkClientUsed expired", e.store.MarkClientUsed(e.ctx, "b"), ErrNotFound)
	if after := e.raw(clientKey("b")); !reflect.DeepEqual(before, after) {
		t.Errorf("expired client modified:\n%v\n%v", before, after)
	}
	_, err = e.store.GetClient(e.ctx, "b")
	mustErr(t, "expired client after MarkClientUsed", err, ErrNotFound)

	mustErr(t, "MarkClientUsed missing", e.store.MarkClientUsed(e.ctx, "nobody"), ErrNotFound)
	if e.raw(clientKey("nobody")) != nil {
		t.Error("MarkClientUsed created an item")
	}
}

// RFC 9700 §4.11.2: the redirect URIs a person approved are a set on the client item, read
// with the client; approving is idempotent and never creates or revives a client.
func TestApproveRedirectURI(t *testing.T) {
	e := newEnv(t)
	start := e.clock.now()
	mustOK(t, "put", e.store.PutClient(e.ctx, Client{ID: "a", RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"}, ExpiresAt: start.Add(time.Hour)}))
	e.calls.take()
	mustOK(t, "approve", e.store.ApproveRedirectURI(e.ctx, "a", "https://app.example/cb"))
	e.expectCalls("ApproveRedirectURI", map[string]int{"UpdateItem": 1})
	mustOK(t, "approve again", e.store.ApproveRedirectURI(e.ctx, "a", "https://app.example/cb"))
	mustOK(t, "approve another", e.store.ApproveRedirectURI(e.ctx, "a", "http://127.0.0.1/cb"))
	got, err := e.store.GetClient(e.ctx, "a")
	mustOK(t, "get", err)
	if want := []string{"http://127.0.0.1/cb", "https://app.example/cb"}; !reflect.DeepEqual(got.ApprovedRedirectURIs, want) {
		t.Fatalf("approved %v, want %v", got.ApprovedRedirectURIs, want)
	}
	if !got.ExpiresAt.Equal(start.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("approving changed the expiry: %v", got.ExpiresAt)
	}

	mustErr(t, "approve for a missing client", e.store.ApproveRedirectURI(e.ctx, "nobody", "https://app.example/cb"), ErrNotFound)
	if e.raw(clientKey("nobody")) != nil {
		t.Fatal("ApproveRedirectURI created a client")
	}
	e.clock.set(start.Add(time.Hour))
	before := e.raw(clientKey("a"))
	mustErr(t, "approve for an expired client", e.store.ApproveRedirectURI(e.ctx, "a", "https://other.example/cb"), ErrNotFound)
	if after := e.raw(clientKey("a")); !reflect.DeepEqual(before, after) {
		t.Fatalf("expired client modified: %v", after)
	}
}
