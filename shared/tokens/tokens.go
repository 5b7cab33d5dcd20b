// Package tokens mints and verifies Authbridge access tokens: RFC 9068 JWT access tokens
// signed with ES256 by an asymmetric AWS KMS key (ECC_NIST_P256), and the JWKS document
// that publishes the matching public keys.
//
// Minting (token endpoint) calls kms:Sign once per token (twice after a cold start or a key
// rotation when the key is named by an alias, see Minter.Mint). Verification (the Lambda
// authorizer, or any JWKS consumer) never calls KMS: LoadKeySet fetches the public keys once
// per cold start and Verifier checks tokens locally.
package tokens

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// SignAPI is the part of the KMS client the Minter uses. *kms.Client satisfies it.
type SignAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

// PublicKeyAPI is the part of the KMS client LoadKeySet uses. *kms.Client satisfies it.
type PublicKeyAPI interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// AccessClaims are the claims of an Authbridge access token (RFC 9068 §2.2).
type AccessClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"` // WorkOS user id
	Audience  string `json:"aud"` // the RFC 8707 resource; on parse a string or an array is accepted
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"` // space-separated
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	JTI       string `json:"jti"`
	Email     string `json:"email,omitempty"`
	OrgID     string `json:"org_id,omitempty"`
	SessionID string `json:"sid,omitempty"`
	// FamilyID (private claim "fam", RFC 7519 §4.3) is the grant the token was issued under:
	// the refresh-token family of the authorization code. Introspection (RFC 7662) reads it to
	// answer inactive once that grant is revoked, without a write per issued token.
	FamilyID string `json:"fam,omitempty"`
}

// Verification errors. Verify always returns an error wrapping exactly one of these, with a
// short detail for logs; compare with errors.Is. None of them should be shown to the client
// beyond "invalid_token".
var (
	ErrMalformed   = errors.New("tokens: malformed token")
	ErrAlgorithm   = errors.New("tokens: algorithm not allowed")
	ErrType        = errors.New("tokens: wrong token type")
	ErrUnknownKey  = errors.New("tokens: unknown signing key")
	ErrSignature   = errors.New("tokens: invalid signature")
	ErrExpired     = errors.New("tokens: token expired")
	ErrNotYetValid = errors.New("tokens: token not yet valid")
	ErrIssuer      = errors.New("tokens: wrong issuer")
	ErrAudience    = errors.New("tokens: wrong audience")
)

const (
	// Algorithm is the only JWS algorithm Authbridge signs with and accepts.
	Algorithm = "ES256"
	// TokenType is the JOSE "typ" header of an access token (RFC 9068 §2.1).
	TokenType = "at+jwt"
	// MaxTokenSize bounds the compact serialization Verify accepts, in bytes.
	MaxTokenSize = 8 << 10
	// MaxLeeway caps the clock skew tolerated on exp, nbf and iat.
	MaxLeeway = 60 * time.Second
	// DefaultTTL is the access-token lifetime used when NewMinter gets a ttl ≤ 0.
	DefaultTTL = 15 * time.Minute
)
