package tokens

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// VerifyDigested (the Lambda authorizer's path: the cache key's digest reused for the
// signature) decides exactly as Verify, whatever the token's shape.
func TestVerifyDigestedLikeVerify(t *testing.T) {
	f := newVerifyFixture(t)
	dot := strings.LastIndexByte(f.token, '.')
	for _, tok := range []string{
		f.token, "", "abc", "a.b", f.token[:dot], f.token[:dot+1], f.token + ".", f.token + ".x",
		"." + f.token, f.token[:dot] + "." + f.token[:dot], strings.Replace(f.token, ".", "..", 1),
		f.token[:dot+1] + strings.Repeat("A", 86),
	} {
		d := Digest(tok)
		want, wantErr := f.v.Verify(tok, testAudience)
		got, err := f.v.VerifyDigested(&d, testAudience)
		if got != want || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%.40q…: VerifyDigested = %v, %v; Verify = %v, %v", tok, got, err, want, wantErr)
		}
		if d.Split() != strings.Contains(tok, ".") {
			t.Errorf("%.40q: Split %v", tok, d.Split())
		}
		if i := strings.LastIndexByte(tok, '.'); i >= 0 &&
			(d.Input() != sha256.Sum256([]byte(tok[:i])) || d.Signature() != sha256.Sum256([]byte(tok[i+1:]))) {
			t.Errorf("%.40q: wrong digests", tok)
		}
	}
	if _, err := f.v.Verify(f.token, testAudience); err != nil {
		t.Fatal(err)
	}
	// The digest is of its own token only: another token's Digests verify that token.
	d := Digest(f.token[:dot+1] + strings.Repeat("A", 86))
	if _, err := f.v.VerifyDigested(&d, testAudience); !errors.Is(err, ErrSignature) {
		t.Errorf("a forged signature: %v", err)
	}
}
