package authserver

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
)

// browserCookie identifies a browser across the authorize → consent → callback steps and
// remembers which clients it approved. MCP security best practices: __Host- prefix, Secure,
// HttpOnly, SameSite=Lax; the value is random and only its hash is stored.
const browserCookie = "__Host-authbridge-browser"

// browserID returns the browser's id from its cookie, or a new one (and true) to be set.
func browserID(r *http.Request) (id string, fresh bool) {
	if c, err := r.Cookie(browserCookie); err == nil && strings.HasPrefix(c.Value, "abb_") && len(c.Value) == 47 {
		return c.Value, false
	}
	return oauth.NewOpaque("abb_"), true
}

func setBrowserCookie(w http.ResponseWriter, id string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: browserCookie, Value: id, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// clientRedirect builds the authorization response at the client's redirect URI, always
// with iss (RFC 9207 §2) and state passed through verbatim (RFC 6749 §4.1.2).
func clientRedirect(redirectURI string, params url.Values, state, issuer string) string {
	if state != "" {
		params.Set("state", state)
	}
	params.Set("iss", issuer)
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return redirectURI + sep + params.Encode()
}

func errorRedirect(redirectURI string, e *oauth.Error, state, issuer string) string {
	return clientRedirect(redirectURI, url.Values{"error": {e.Code}, "error_description": {e.Description}}, state, issuer)
}

// sealVerifier encrypts the PKCE verifier Authbridge uses toward WorkOS under a key derived
// from the upstream state, so the stored item alone does not reveal it (secrets are never
// stored in the clear) while the callback, which receives the state, can recover it.
func sealVerifier(state, verifier string) []byte {
	aead := stateAEAD(state)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(verifier), nil)
}

func openVerifier(state string, sealed []byte) (string, error) {
	aead := stateAEAD(state)
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed verifier is too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	return string(plain), err
}

func stateAEAD(state string) cipher.AEAD {
	key := sha256.Sum256([]byte("authbridge upstream pkce\x00" + state))
	block, _ := aes.NewCipher(key[:]) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return aead
}

// scopeDescriptions explain the configured scopes on the consent page.
var scopeDescriptions = map[string]string{
	"mcp:tools": "use the MCP tools on your behalf",
	"orgs:read": "see which organizations you belong to",
}

func describeScope(name string) string {
	if d, ok := scopeDescriptions[name]; ok {
		return d
	}
	return "access granted under this scope"
}
