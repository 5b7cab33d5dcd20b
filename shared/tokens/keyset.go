package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KeySet maps kid (the KMS key id) to the P-256 public key of that KMS key. It is immutable
// once loaded and safe for concurrent use. Several keys may be valid at once (rotation).
type KeySet struct {
	ids  []string // in load order, for a stable JWKS
	keys map[string]*ecdsa.PublicKey
}

// LoadKeySet calls kms:GetPublicKey once per entry of keyIDs (key id, key ARN, alias name or
// alias ARN) and returns the keys, each under its kid: the UUID of the key KMS reports, so an
// alias is resolved to the key it currently targets. Entries that resolve to the same key are
// kept once. Every key must be an ECC_NIST_P256 SIGN_VERIFY key offering ECDSA_SHA_256.
// Call it once per cold start; Verify never calls KMS.
func LoadKeySet(ctx context.Context, api PublicKeyAPI, keyIDs []string) (*KeySet, error) {
	if len(keyIDs) == 0 {
		return nil, errors.New("tokens: no signing key ids configured")
	}
	ks := &KeySet{keys: make(map[string]*ecdsa.PublicKey, len(keyIDs))}
	for _, ref := range keyIDs {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			return nil, errors.New("tokens: empty signing key id")
		}
		out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(ref)})
		if err != nil {
			return nil, fmt.Errorf("tokens: kms GetPublicKey %s: %w", ref, err)
		}
		kid, ok := keyIDFromRef(aws.ToString(out.KeyId))
		if !ok {
			if kid, ok = keyIDFromRef(ref); !ok {
				return nil, fmt.Errorf("tokens: kms GetPublicKey %s: no key id in response", ref)
			}
		}
		if err := checkKeyMetadata(out); err != nil {
			return nil, fmt.Errorf("tokens: key %s: %w", ref, err)
		}
		pub, err := parsePublicKey(out.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("tokens: key %s: %w", ref, err)
		}
		if _, dup := ks.keys[kid]; dup {
			continue
		}
		ks.ids = append(ks.ids, kid)
		ks.keys[kid] = pub
	}
	return ks, nil
}

// checkKeyMetadata rejects keys that are not P-256 signing keys, when KMS says so.
func checkKeyMetadata(out *kms.GetPublicKeyOutput) error {
	if out.KeySpec != "" && out.KeySpec != kmstypes.KeySpecEccNistP256 {
		return fmt.Errorf("key spec %s, want %s", out.KeySpec, kmstypes.KeySpecEccNistP256)
	}
	if out.KeyUsage != "" && out.KeyUsage != kmstypes.KeyUsageTypeSignVerify {
		return fmt.Errorf("key usage %s, want %s", out.KeyUsage, kmstypes.KeyUsageTypeSignVerify)
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, kmstypes.SigningAlgorithmSpecEcdsaSha256) {
		return fmt.Errorf("key does not offer %s", kmstypes.SigningAlgorithmSpecEcdsaSha256)
	}
	return nil
}

// parsePublicKey parses a DER SubjectPublicKeyInfo (what kms:GetPublicKey returns) and
// requires an ECDSA key on P-256.
func parsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	if len(der) == 0 {
		return nil, errors.New("empty public key")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want ECDSA P-256", k)
	}
	if pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("public key curve %s, want P-256", pub.Curve.Params().Name)
	}
	return pub, nil
}

// KeyIDs returns the kids of the set, in load order.
func (k *KeySet) KeyIDs() []string {
	if k == nil {
		return nil
	}
	return slices.Clone(k.ids)
}

// key returns the public key for kid, or nil.
func (k *KeySet) key(kid string) *ecdsa.PublicKey {
	if k == nil {
		return nil
	}
	return k.keys[kid]
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS returns the RFC 7517 JWK Set document of the keys:
// {"keys":[{"kty":"EC","crv":"P-256","x":…,"y":…,"kid":…,"use":"sig","alg":"ES256"}]}.
// Coordinates are the fixed 32-byte big-endian values, base64url without padding
// (RFC 7518 §6.2.1.2-3).
func (k *KeySet) JWKS() ([]byte, error) {
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	if k != nil {
		for _, kid := range k.ids {
			pt, err := k.keys[kid].Bytes() // 0x04 ‖ X ‖ Y
			if err != nil || len(pt) != 65 {
				return nil, fmt.Errorf("tokens: encode public key %s: %v", kid, err)
			}
			doc.Keys = append(doc.Keys, jwk{
				Kty: "EC", Crv: "P-256",
				X:   base64.RawURLEncoding.EncodeToString(pt[1:33]),
				Y:   base64.RawURLEncoding.EncodeToString(pt[33:65]),
				Kid: kid, Use: "sig", Alg: Algorithm,
			})
		}
	}
	return json.Marshal(doc)
}

// keyIDFromRef returns the key id (UUID) named by a KMS key reference: a bare key id or a key
// ARN (arn:aws:kms:<region>:<account>:key/<id>). Aliases (alias/<name> or an alias ARN) do not
// name a key by themselves: ok is false.
func keyIDFromRef(ref string) (string, bool) {
	switch {
	case ref == "", strings.HasPrefix(ref, "alias/"):
		return "", false
	case strings.HasPrefix(ref, "arn:"):
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 {
			return "", false
		}
		id, ok := strings.CutPrefix(parts[5], "key/")
		if !ok || id == "" || strings.ContainsAny(id, "/:") {
			return "", false
		}
		return id, true
	case strings.ContainsAny(ref, "/:"):
		return "", false
	default:
		return ref, true
	}
}
