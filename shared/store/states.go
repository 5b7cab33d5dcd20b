package store

import (
	"context"
	"time"
)

// UpstreamState is a pending WorkOS sign-in, keyed by the hash of the state sent to
// WorkOS (about 10 minutes, single use).
type UpstreamState struct {
	Request        AuthRequest
	SealedVerifier []byte // the PKCE verifier toward WorkOS, sealed by the caller
	BrowserHash    []byte // SHA-256 of the browser cookie (32 bytes), or nil
	ExpiresAt      time.Time
}

// PutUpstreamState stores a new state; ErrExists if the hash is taken.
func (s *Store) PutUpstreamState(ctx context.Context, stateHash []byte, st UpstreamState) error {
	if err := checkHash(stateHash); err != nil {
		return err
	}
	if err := checkOptionalHash(st.BrowserHash); err != nil {
		return err
	}
	if err := checkExpiry(st.ExpiresAt); err != nil {
		return err
	}
	it := keyOf(hashKey(prefixState, stateHash))
	putRequest(it, st.Request)
	putB(it, "sealed_verifier", st.SealedVerifier)
	putB(it, "browser_hash", st.BrowserHash)
	putTime(it, attrExpiresAt, st.ExpiresAt)
	return s.create(ctx, it)
}

// ConsumeUpstreamState deletes the state and returns it (one conditional DeleteItem with
// ReturnValues ALL_OLD); ErrNotFound if it is missing, expired (left untouched) or used.
func (s *Store) ConsumeUpstreamState(ctx context.Context, stateHash []byte) (UpstreamState, error) {
	if err := checkHash(stateHash); err != nil {
		return UpstreamState{}, err
	}
	it, err := s.consume(ctx, hashKey(prefixState, stateHash))
	if err != nil {
		return UpstreamState{}, err
	}
	return UpstreamState{
		Request:        getRequest(it),
		SealedVerifier: getB(it, "sealed_verifier"),
		BrowserHash:    getB(it, "browser_hash"),
		ExpiresAt:      getTime(it, attrExpiresAt),
	}, nil
}
