package guard

import (
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultCacheSize bounds the verified tokens a warm authorizer remembers. An entry is a few
// hundred bytes; a Lambda instance serves one request at a time, so a thousand distinct
// live tokens per instance is generous.
const DefaultCacheSize = 1024

// cacheEntry is a verified token's outcome for one route of one stage.
type cacheEntry struct {
	sig     [32]byte // SHA-256 of the token's encoded signature (the key: of its signing input)
	id      Identity
	expires int64 // exp, epoch seconds: the entry is used strictly before it
	stage   string
	route   Route
	allow   events.APIGatewayCustomAuthorizerResponse // shared: never modified once built
}

// tokenCache remembers verified tokens by the SHA-256 of their signing input (the entry holds
// the SHA-256 of the signature: the token itself is not kept), until their exp, with at most max entries evicted oldest-first. Safe for concurrent use.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*cacheEntry
	ring    [][32]byte // insertion order, for eviction
	next    int
}

func newTokenCache(max int) *tokenCache {
	if max < 0 {
		max = 0
	}
	return &tokenCache{max: max, entries: make(map[[32]byte]*cacheEntry, max), ring: make([][32]byte, 0, max)}
}

// get returns the live entry for key, or nil. An expired entry is dropped.
func (c *tokenCache) get(key [32]byte, now time.Time) *cacheEntry {
	if c.max == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e != nil && now.Unix() >= e.expires {
		delete(c.entries, key)
		return nil
	}
	return e
}

// put stores e under key, evicting the oldest entry when full.
func (c *tokenCache) put(key [32]byte, e *cacheEntry) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		c.entries[key] = e // replaced (another route or stage): keeps its place in the ring
		return
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, key)
	} else {
		delete(c.entries, c.ring[c.next]) // may already be gone (expired): harmless
		c.ring[c.next] = key
		c.next = (c.next + 1) % c.max
	}
	c.entries[key] = e
}

// len is the number of entries (tests).
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
