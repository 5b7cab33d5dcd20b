package oauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewOpaque(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{PrefixRefreshToken, PrefixCode, PrefixClientSecret, PrefixClientID} {
		for range 500 {
			v := NewOpaque(prefix)
			body, ok := strings.CutPrefix(v, prefix)
			if !ok {
				t.Fatalf("%q lacks prefix %q", v, prefix)
			}
			// RFC 6749 §10.10: at least 128 bits of entropy; here 256 bits, base64url without padding.
			raw, err := base64.RawURLEncoding.DecodeString(body)
			if err != nil || len(raw) != 32 || len(body) != 43 {
				t.Fatalf("%q: not 32 random bytes in base64url (%v)", v, err)
			}
			if seen[body] {
				t.Fatalf("RFC 6749 §10.10: repeated value %q", v)
			}
			seen[body] = true
		}
	}
	// The prefixes tell value kinds apart (no prefix is a prefix of another).
	ps := []string{PrefixRefreshToken, PrefixCode, PrefixClientSecret, PrefixClientID}
	for i, a := range ps {
		for j, b := range ps {
			if i != j && strings.HasPrefix(a, b) {
				t.Errorf("prefix %q starts with %q", a, b)
			}
		}
	}
}
