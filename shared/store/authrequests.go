package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ConsentRequest is an authorization request waiting for the person's consent (about 10
// minutes), keyed by the hash of the request id carried by the consent page.
type ConsentRequest struct {
	Request     AuthRequest
	CSRFHash    []byte // SHA-256 of the consent form's CSRF token (32 bytes, required)
	BrowserHash []byte // SHA-256 of the browser cookie (32 bytes, required)
	// Remembered is the consent on record for this browser, client and resource (zero when
	// none): the page shows what it already granted, and approval adds to it.
	Remembered Consent
	// RedirectApproved: a signed-in person approved this client with this redirect URI
	// before, so a denial may be sent back to it (RFC 9700 §4.11.2).
	RedirectApproved bool
	// SignedIn is the person WorkOS verified, for a consent asked after sign-in (another
	// person than the remembered one); zero for a consent asked before sign-in.
	SignedIn User
	// SealedUpstream is SignedIn's WorkOS refresh token, encrypted by the caller under a key
	// derived from the request id's plaintext; empty for a consent asked before sign-in.
	SealedUpstream []byte
	ExpiresAt      time.Time
}

// PutConsentRequest stores a new consent request; ErrExists if the id is taken.
func (s *Store) PutConsentRequest(ctx context.Context, idHash []byte, r ConsentRequest) error {
	if err := checkHash(idHash); err != nil {
		return err
	}
	if err := checkHash(r.CSRFHash); err != nil {
		return err
	}
	if err := checkHash(r.BrowserHash); err != nil {
		return err
	}
	if err := checkExpiry(r.ExpiresAt); err != nil {
		return err
	}
	it := keyOf(hashKey(prefixAuthReq, idHash))
	putRequest(it, r.Request)
	putB(it, "csrf_hash", r.CSRFHash)
	putB(it, "browser_hash", r.BrowserHash)
	putRemembered(it, r.Remembered)
	if r.RedirectApproved {
		it["redirect_approved"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	putUser(it, r.SignedIn)
	putB(it, attrSealedUpstream, r.SealedUpstream)
	putTime(it, attrExpiresAt, r.ExpiresAt)
	return s.create(ctx, it)
}

// GetConsentRequest returns the request; ErrNotFound if missing or expired.
func (s *Store) GetConsentRequest(ctx context.Context, idHash []byte) (ConsentRequest, error) {
	if err := checkHash(idHash); err != nil {
		return ConsentRequest{}, err
	}
	it, err := s.get(ctx, hashKey(prefixAuthReq, idHash))
	if err != nil {
		return ConsentRequest{}, err
	}
	if !live(it, s.now(), false) || consumed(it) {
		return ConsentRequest{}, ErrNotFound
	}
	return consentRequestOf(it), nil
}

// DeleteConsentRequest spends the request when it exists, has not expired and was not spent
// (single use; the item stays, marked, until its expiry); ErrNotFound otherwise, and an
// expired request is left untouched.
func (s *Store) DeleteConsentRequest(ctx context.Context, idHash []byte) error {
	if err := checkHash(idHash); err != nil {
		return err
	}
	_, err := s.consume(ctx, hashKey(prefixAuthReq, idHash))
	return err
}

func consentRequestOf(it item) ConsentRequest {
	return ConsentRequest{
		Request:          getRequest(it),
		CSRFHash:         getB(it, "csrf_hash"),
		BrowserHash:      getB(it, "browser_hash"),
		Remembered:       getRemembered(it),
		RedirectApproved: getBool(it, "redirect_approved"),
		SignedIn:         getUser(it),
		SealedUpstream:   getB(it, attrSealedUpstream),
		ExpiresAt:        getTime(it, attrExpiresAt),
	}
}
