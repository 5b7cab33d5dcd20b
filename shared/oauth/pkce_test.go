package oauth

import (
	"strings"
	"testing"
)

func TestS256AppendixB(t *testing.T) {
	// RFC 7636 Appendix B: the worked example.
	if got := S256Challenge(appendixBVerifier); got != appendixBChallenge {
		t.Fatalf("S256Challenge = %q, want %q", got, appendixBChallenge)
	}
	if !ValidCodeVerifier(appendixBVerifier) || !ValidCodeChallenge(appendixBChallenge) {
		t.Fatal("RFC 7636 Appendix B values must be valid")
	}
	if !VerifyS256(appendixBVerifier, appendixBChallenge) {
		t.Fatal("RFC 7636 §4.6: Appendix B verifier must verify")
	}
}

func TestValidCodeVerifier(t *testing.T) {
	tests := []struct {
		name, v string
		want    bool
	}{
		{"RFC 7636 §4.1 43 characters (minimum)", strings.Repeat("a", 43), true},
		{"RFC 7636 §4.1 128 characters (maximum)", strings.Repeat("Z", 128), true},
		{"RFC 7636 §4.1 every unreserved character", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", true},
		{"RFC 7636 §4.1 42 characters", strings.Repeat("a", 42), false},
		{"RFC 7636 §4.1 129 characters", strings.Repeat("a", 129), false},
		{"RFC 7636 §4.1 empty", "", false},
		{"RFC 7636 §4.1 '+' not unreserved", strings.Repeat("a", 42) + "+", false},
		{"RFC 7636 §4.1 '/' not unreserved", strings.Repeat("a", 42) + "/", false},
		{"RFC 7636 §4.1 '=' not unreserved", strings.Repeat("a", 42) + "=", false},
		{"RFC 7636 §4.1 '%' not unreserved", strings.Repeat("a", 42) + "%", false},
		{"RFC 7636 §4.1 space", strings.Repeat("a", 42) + " ", false},
		{"RFC 7636 §4.1 newline", strings.Repeat("a", 42) + "\n", false},
		{"RFC 7636 §4.1 NUL", strings.Repeat("a", 42) + "\x00", false},
		{"RFC 7636 §4.1 non-ASCII (43 bytes)", strings.Repeat("a", 41) + "é", false},
	}
	for _, tt := range tests {
		if got := ValidCodeVerifier(tt.v); got != tt.want {
			t.Errorf("%s: ValidCodeVerifier(%q) = %v, want %v", tt.name, tt.v, got, tt.want)
		}
	}
}

func TestValidCodeChallenge(t *testing.T) {
	tests := []struct {
		name, c string
		want    bool
	}{
		{"RFC 7636 §4.2 Appendix B challenge", appendixBChallenge, true},
		{"RFC 7636 §4.2 base64url alphabet", strings.Repeat("-", 21) + strings.Repeat("_", 21) + "A", true},
		{"RFC 7636 §4.2 42 characters", appendixBChallenge[:42], false},
		{"RFC 7636 §4.2 44 characters", appendixBChallenge + "A", false},
		{"RFC 7636 §4.2 with padding", appendixBChallenge[:42] + "=", false},
		{"RFC 7636 §4.2 '+' (standard base64)", "+" + appendixBChallenge[1:], false},
		{"RFC 7636 §4.2 '/' (standard base64)", "/" + appendixBChallenge[1:], false},
		{"RFC 7636 §4.2 '.' is a verifier character, not base64url", "." + appendixBChallenge[1:], false},
		{"RFC 7636 §4.2 '~' is a verifier character, not base64url", "~" + appendixBChallenge[1:], false},
		{"RFC 7636 §4.2 trailing LF", appendixBChallenge[:42] + "\n", false},
		{"RFC 7636 §4.2 embedded CR", appendixBChallenge[:10] + "\r" + appendixBChallenge[11:], false},
		{"RFC 7636 §4.2 empty", "", false},
	}
	for _, tt := range tests {
		if got := ValidCodeChallenge(tt.c); got != tt.want {
			t.Errorf("%s: ValidCodeChallenge(%q) = %v, want %v", tt.name, tt.c, got, tt.want)
		}
	}
}

func TestVerifyS256(t *testing.T) {
	short := strings.Repeat("a", 42)
	other := strings.Repeat("b", 43)
	flipped := []byte(appendixBChallenge)
	flipped[0] = 'e' // case change
	tests := []struct {
		name, verifier, challenge string
		want                      bool
	}{
		{"RFC 7636 §4.6 matching pair", appendixBVerifier, appendixBChallenge, true},
		{"RFC 7636 §4.6 another verifier", other, appendixBChallenge, false},
		{"RFC 7636 §4.6 matching pair of another verifier", other, S256Challenge(other), true},
		{"RFC 7636 §4.6 verifier one character off", appendixBVerifier[:42] + "l", appendixBChallenge, false},
		{"RFC 7636 §4.6 challenge case changed", appendixBVerifier, string(flipped), false},
		{"RFC 7636 §4.6 plain: verifier equal to challenge", appendixBVerifier, appendixBVerifier, false},
		{"RFC 7636 §4.1 verifier too short even if the challenge matches it", short, S256Challenge(short), false},
		{"RFC 7636 §4.6 empty challenge", appendixBVerifier, "", false},
		{"RFC 7636 §4.6 empty verifier", "", S256Challenge(""), false},
		{"RFC 7636 §4.6 challenge with trailing newline", appendixBVerifier, appendixBChallenge + "\n", false},
	}
	for _, tt := range tests {
		if got := VerifyS256(tt.verifier, tt.challenge); got != tt.want {
			t.Errorf("%s: VerifyS256(%q, %q) = %v, want %v", tt.name, tt.verifier, tt.challenge, got, tt.want)
		}
	}
}
