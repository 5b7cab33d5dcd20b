package tokens

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxJWKSKeys bounds the keys ParseJWKS reads; Authbridge publishes one, two during a rotation.
const MaxJWKSKeys = 32

// ParseJWKS reads an RFC 7517 JWK Set — the document Authbridge serves at
// {issuer}/.well-known/jwks.json, as KeySet.JWKS writes it — into a KeySet, so that a verifier
// outside AWS (package resourceserver) checks tokens with the same Verifier as the authorizer.
//
// Only keys Authbridge can have signed with are kept: kty EC, crv P-256, alg ES256 or absent,
// use sig or absent, and a kid. Other keys are skipped (RFC 7517 §5: a member that is not
// understood is ignored; RFC 8725 §3.1: only ES256). A kept key whose point is malformed or
// not on the curve, a kid given twice, or a set without a single usable key is an error.
func ParseJWKS(doc []byte) (*KeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("tokens: jwks: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`tokens: jwks: no "keys" member`) // RFC 7517 §5: REQUIRED
	}
	if len(set.Keys) > MaxJWKSKeys {
		return nil, fmt.Errorf("tokens: jwks: %d keys, at most %d", len(set.Keys), MaxJWKSKeys)
	}
	ks := &KeySet{keys: map[string]*ecdsa.PublicKey{}}
	for i, raw := range set.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("tokens: jwks: key %d: %w", i, err)
		}
		// RFC 7518 §6.2.1, RFC 7517 §4.2-4.4: an ES256 signing key on P-256.
		if k.Kty != "EC" || k.Crv != "P-256" || (k.Alg != "" && k.Alg != Algorithm) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		// RFC 7515 §4.1.4: tokens name their key by kid; a key without one cannot be chosen.
		if k.Kid == "" {
			continue
		}
		if _, dup := ks.keys[k.Kid]; dup {
			return nil, fmt.Errorf("tokens: jwks: kid %q appears twice", k.Kid)
		}
		pub, err := ecPoint(k.X, k.Y)
		if err != nil {
			return nil, fmt.Errorf("tokens: jwks: kid %q: %w", k.Kid, err)
		}
		ks.ids = append(ks.ids, k.Kid)
		ks.keys[k.Kid] = pub
	}
	if len(ks.ids) == 0 {
		return nil, errors.New("tokens: jwks: no ES256 P-256 signing key")
	}
	return ks, nil
}

// ecPoint decodes the x and y coordinates of a P-256 JWK: base64url without padding, exactly
// 32 bytes each (RFC 7518 §6.2.1.2-3), and a point on the curve.
func ecPoint(x64, y64 string) (*ecdsa.PublicKey, error) {
	x, errX := base64.RawURLEncoding.Strict().DecodeString(x64)
	y, errY := base64.RawURLEncoding.Strict().DecodeString(y64)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32-byte base64url values")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("not a P-256 point: %w", err)
	}
	return pub, nil
}
