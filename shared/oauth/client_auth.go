package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
)

// ClientCredentials is how a client identified itself at the token or revocation endpoint.
type ClientCredentials struct {
	ClientID string
	Secret   string
	Method   string // the method the request used: none, client_secret_basic or client_secret_post
}

// ParseClientCredentials reads client authentication from the Authorization header
// (client_secret_basic, RFC 6749 §2.3.1) or the form body (client_secret_post or none).
func ParseClientCredentials(authorization string, form url.Values) (ClientCredentials, *Error) {
	bodyID, bodySecret := form.Get("client_id"), form.Get("client_secret")
	if authorization != "" {
		scheme, value, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return ClientCredentials{}, ErrInvalidClient("unsupported Authorization scheme")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return ClientCredentials{}, ErrInvalidClient("malformed Basic credentials")
		}
		id, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return ClientCredentials{}, ErrInvalidClient("malformed Basic credentials")
		}
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
		if id, err = url.QueryUnescape(id); err != nil || id == "" {
			return ClientCredentials{}, ErrInvalidClient("malformed Basic credentials")
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return ClientCredentials{}, ErrInvalidClient("malformed Basic credentials")
		}
		// RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
		if bodySecret != "" || (bodyID != "" && bodyID != id) {
			return ClientCredentials{}, ErrInvalidRequest("use one client authentication method")
		}
		return ClientCredentials{ClientID: id, Secret: secret, Method: AuthMethodClientSecretBasic}, nil
	}
	if bodyID == "" {
		return ClientCredentials{}, ErrInvalidClient("client_id is required")
	}
	if bodySecret != "" {
		return ClientCredentials{ClientID: bodyID, Secret: bodySecret, Method: AuthMethodClientSecretPost}, nil
	}
	return ClientCredentials{ClientID: bodyID, Method: AuthMethodNone}, nil
}

// HashSecret is the only form in which client secrets, codes, refresh tokens and other
// bearer values are stored: their SHA-256. The values carry ≥ 256 bits of randomness, so
// a fast hash is enough (no dictionary to attack).
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Authenticate checks credentials against a registered client: the method must be the one
// the client registered (RFC 7591 §2) and the secret is compared in constant time.
func Authenticate(creds ClientCredentials, registeredMethod string, secretHash []byte) *Error {
	if creds.Method != registeredMethod {
		return ErrInvalidClient("client must authenticate with %s", registeredMethod)
	}
	if registeredMethod == AuthMethodNone {
		return nil
	}
	if subtle.ConstantTimeCompare(HashSecret(creds.Secret), secretHash) != 1 {
		return ErrInvalidClient("client authentication failed")
	}
	return nil
}

// IsResourceServerID reports whether id has the shape of a resource server's introspection
// client id (PrefixResourceServerID and 256 bits in base64url): anything else is refused
// before any lookup, and never reaches the logs.
func IsResourceServerID(id string) bool {
	rest, ok := strings.CutPrefix(id, PrefixResourceServerID)
	if !ok || len(rest) != 43 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
