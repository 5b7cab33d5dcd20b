package workosemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
)

// SigningKeyFile is the name of the PEM file (PKCS #8) that holds the token signing key inside
// the state directory.
const SigningKeyFile = "signing-key.pem"

// loadOrCreateKey reads <dir>/signing-key.pem, or creates it (RSA 2048, mode 0600) when absent.
// Creation goes through a temporary file and a hard link, so two processes starting at once
// agree on one key.
func loadOrCreateKey(dir string) (*rsa.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("workosemu: state dir: %w", err)
	}
	path := filepath.Join(dir, SigningKeyFile)
	data, err := os.ReadFile(path)
	if err == nil {
		return parseKey(path, data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("workosemu: read signing key: %w", err)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("workosemu: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("workosemu: encode signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("workosemu: write signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("workosemu: write signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("workosemu: write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("workosemu: write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("workosemu: write signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process won the race: use its key.
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("workosemu: read signing key: %w", err)
			}
			return parseKey(path, data)
		}
		return nil, fmt.Errorf("workosemu: write signing key: %w", err)
	}
	return key, nil
}

func parseKey(path string, data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("workosemu: %s: no PEM block", path)
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("workosemu: %s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("workosemu: %s: not an RSA key", path)
		}
		key = rk
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("workosemu: %s: %w", path, err)
		}
		key = k
	default:
		return nil, fmt.Errorf("workosemu: %s: unexpected PEM block %q", path, block.Type)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("workosemu: %s: RSA key shorter than 2048 bits", path)
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("workosemu: %s: %w", path, err)
	}
	return key, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA public key.
func thumbprint(pub *rsa.PublicKey) string {
	e := b64(big.NewInt(int64(pub.E)).Bytes())
	n := b64(pub.N.Bytes())
	// Members in lexicographic order, no whitespace, as RFC 7638 §3 requires.
	canon := `{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func jwksDocument(pub *rsa.PublicKey, kid string) []byte {
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{{
		Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes()),
	}}}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // plain strings cannot fail to marshal
	}
	return b
}

// signJWT returns a compact RS256 JWS over claims.
func signJWT(key *rsa.PrivateKey, kid string, claims any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}
