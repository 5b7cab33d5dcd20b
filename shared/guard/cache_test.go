package guard

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

func TestTokenCacheBoundAndExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newTokenCache(4)
	key := func(i int) [32]byte { return sha256.Sum256([]byte(strconv.Itoa(i))) }
	for i := range 10 {
		c.put(key(i), &cacheEntry{expires: now.Unix() + 60})
		if c.len() > 4 {
			t.Fatalf("cache holds %d entries, bound is 4", c.len())
		}
	}
	for i := range 6 {
		if c.get(key(i), now) != nil {
			t.Errorf("entry %d should have been evicted (oldest first)", i)
		}
	}
	for i := 6; i < 10; i++ {
		if c.get(key(i), now) == nil {
			t.Errorf("entry %d missing", i)
		}
	}
	// RFC 7519 §4.1.4: an entry is never used at or after its token's exp.
	if c.get(key(9), now.Add(59*time.Second)) == nil || c.get(key(9), now.Add(60*time.Second)) != nil {
		t.Error("entry used at exp")
	}
	if c.len() != 3 {
		t.Errorf("expired entry not dropped: %d", c.len())
	}
	// Re-adding a key that expired and was dropped keeps the bound.
	for range 20 {
		c.put(key(9), &cacheEntry{expires: now.Unix() + 60})
		c.get(key(9), now.Add(time.Hour))
	}
	if c.len() > 4 {
		t.Fatalf("cache holds %d entries", c.len())
	}
	off := newTokenCache(0)
	off.put(key(1), &cacheEntry{expires: now.Unix() + 60})
	if off.get(key(1), now) != nil {
		t.Error("a zero-size cache returned an entry")
	}
}
