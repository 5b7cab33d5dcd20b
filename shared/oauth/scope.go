package oauth

import (
	"slices"
	"strings"
)

// Scope is a set of scope tokens in a stable order (RFC 6749 §3.3).
type Scope []string

// ParseScope splits a space-delimited scope string, dropping duplicates and empty tokens.
// It returns false when a token has characters outside RFC 6749 §3.3's scope-token alphabet.
func ParseScope(raw string) (Scope, bool) {
	var out Scope
	for _, tok := range strings.Split(raw, " ") {
		if tok == "" {
			continue
		}
		for _, r := range tok {
			// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
			if r < 0x21 || r == 0x22 || r == 0x5C || r > 0x7E {
				return nil, false
			}
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, true
}

func (s Scope) String() string { return strings.Join(s, " ") }

// SubsetOf reports whether every token of s is in other.
func (s Scope) SubsetOf(other Scope) bool {
	for _, tok := range s {
		if !slices.Contains(other, tok) {
			return false
		}
	}
	return true
}

// Contains reports whether tok is in s.
func (s Scope) Contains(tok string) bool { return slices.Contains(s, tok) }
