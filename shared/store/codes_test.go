package store

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestCodeRedeem(t *testing.T) {
	e := newEnv(t)
	h := hash("code")
	c := Code{Request: testRequest, User: testUser, FamilyID: "fam-1", ExpiresAt: e.clock.now().Add(5 * time.Minute)}
	mustOK(t, "put", e.store.PutCode(e.ctx, h, c))
	e.expectCalls("PutCode", map[string]int{"PutItem": 1})
	// The SDK repeating the same call after a lost answer finds its own item: a success.
	mustOK(t, "the same put repeated", e.store.PutCode(e.ctx, h, c))
	mustErr(t, "another item under the key", e.store.PutCode(e.ctx, h, func() Code { o := c; o.FamilyID = "fam-2"; return o }()), ErrExists)
	e.calls.take()

	peek, err := e.store.GetCode(e.ctx, h)
	mustOK(t, "GetCode", err)
	e.expectCalls("GetCode", map[string]int{"GetItem": 1})
	if !reflect.DeepEqual(peek, c) {
		t.Fatalf("GetCode:\n got %+v\nwant %+v", peek, c)
	}

	e.clock.advance(30 * time.Second)
	got, err := e.store.RedeemCode(e.ctx, h)
	mustOK(t, "redeem", err)
	e.expectCalls("RedeemCode", map[string]int{"UpdateItem": 1})
	want := c
	want.UsedAt = e.clock.now()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}

	peek, err = e.store.GetCode(e.ctx, h)
	mustOK(t, "GetCode after redeem", err)
	if !peek.UsedAt.Equal(want.UsedAt) {
		t.Errorf("GetCode UsedAt %v, want %v", peek.UsedAt, want.UsedAt)
	}
	e.calls.take()

	e.clock.advance(time.Second)
	got, err = e.store.RedeemCode(e.ctx, h)
	mustErr(t, "redeem twice", err, ErrConsumed)
	if got.FamilyID != "fam-1" || got.User.ID != testUser.ID || !got.UsedAt.Equal(want.UsedAt) {
		t.Errorf("replayed code should come back with its family and first use: %+v", got)
	}
	e.expectCalls("RedeemCode replay", map[string]int{"UpdateItem": 1})

	// A used code keeps reporting ErrConsumed after it expires (while DynamoDB still has it).
	e.clock.advance(time.Hour)
	got, err = e.store.RedeemCode(e.ctx, h)
	mustErr(t, "redeem used and expired", err, ErrConsumed)
	if got.FamilyID != "fam-1" {
		t.Errorf("family %q", got.FamilyID)
	}

	_, err = e.store.RedeemCode(e.ctx, hash("missing"))
	mustErr(t, "redeem missing", err, ErrNotFound)
	if e.raw(hashKey(prefixCode, hash("missing"))) != nil {
		t.Error("redeeming a missing code created an item")
	}
}

func TestCodeExpiry(t *testing.T) {
	e := newEnv(t)
	h := hash("code")
	exp := e.clock.now().Add(5 * time.Minute)
	mustOK(t, "put", e.store.PutCode(e.ctx, h, Code{Request: testRequest, User: testUser, FamilyID: "f", ExpiresAt: exp}))
	before := e.raw(hashKey(prefixCode, h))
	e.clock.set(exp)
	_, err := e.store.GetCode(e.ctx, h)
	mustErr(t, "GetCode at expiry", err, ErrNotFound)
	_, err = e.store.RedeemCode(e.ctx, h)
	mustErr(t, "redeem at expiry", err, ErrNotFound)
	after := e.raw(hashKey(prefixCode, h))
	if _, used := after["used_at"]; used || !reflect.DeepEqual(before, after) {
		t.Errorf("expired code modified: %v", after)
	}
	e.clock.set(exp.Add(-time.Second))
	_, err = e.store.RedeemCode(e.ctx, h)
	mustOK(t, "redeem one second before expiry", err)
}

func TestCodeConcurrentRedeem(t *testing.T) {
	e := newEnv(t)
	h := hash("code")
	mustOK(t, "put", e.store.PutCode(e.ctx, h, Code{Request: testRequest, User: testUser, FamilyID: "fam-c",
		ExpiresAt: e.clock.now().Add(5 * time.Minute)}))
	const n = 10
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		codes = make([]Code, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], errs[i] = e.store.RedeemCode(e.ctx, h)
		}()
	}
	close(start)
	wg.Wait()
	ok, consumed := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrConsumed):
			consumed++
			if codes[i].FamilyID != "fam-c" {
				t.Errorf("replay %d without family: %+v", i, codes[i])
			}
		default:
			t.Errorf("redeem %d: unexpected error %v", i, err)
		}
	}
	if ok != 1 || consumed != n-1 {
		t.Fatalf("%d successes and %d ErrConsumed, want 1 and %d", ok, consumed, n-1)
	}
}

func BenchmarkRedeemCode(b *testing.B) {
	e := newEnv(b)
	hashes := make([][]byte, b.N)
	for i := range hashes {
		hashes[i] = hash(fmt.Sprint("bench-code-", i))
		if err := e.store.PutCode(e.ctx, hashes[i], Code{Request: testRequest, User: testUser, FamilyID: "f",
			ExpiresAt: e.clock.now().Add(5 * time.Minute)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range hashes {
		if _, err := e.store.RedeemCode(e.ctx, hashes[i]); err != nil {
			b.Fatal(err)
		}
	}
}
