package authserver

import (
	"bytes"
	"testing"

	"github.com/authbridge/authbridge/shared/oauth"
)

// The successor kept on a rotated refresh token opens only with that token's plaintext and
// family id (docs/decisions.md "Refresh reuse"): another token, another family, a changed
// byte or a missing value give nothing, and the sealed bytes do not contain the successor.
func TestRefreshSuccessorSealedForThePredecessorOnly(t *testing.T) {
	old, successor := oauth.NewOpaque(oauth.PrefixRefreshToken), oauth.NewOpaque(oauth.PrefixRefreshToken)
	sealed := sealSuccessor(old, "fam-1", successor)
	if bytes.Contains(sealed, []byte(successor)) || bytes.Contains(sealed, []byte(successor[len(oauth.PrefixRefreshToken):][:16])) {
		t.Fatal("the sealed successor contains the successor in the clear")
	}
	if got, ok := openSuccessor(old, "fam-1", sealed); !ok || got != successor {
		t.Fatalf("open with the old token: %v", ok)
	}
	if bytes.Equal(sealed, sealSuccessor(old, "fam-1", successor)) {
		t.Fatal("two seals of the same successor are identical: the nonce is not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, try := range map[string]func() (string, bool){
		"another token":  func() (string, bool) { return openSuccessor(successor, "fam-1", sealed) },
		"another family": func() (string, bool) { return openSuccessor(old, "fam-2", sealed) },
		"a changed byte": func() (string, bool) { return openSuccessor(old, "fam-1", tampered) },
		"nothing sealed": func() (string, bool) { return openSuccessor(old, "fam-1", nil) },
		"only a nonce":   func() (string, bool) { return openSuccessor(old, "fam-1", sealed[:12]) },
		"plain bytes":    func() (string, bool) { return openSuccessor(old, "fam-1", []byte(successor)) },
	} {
		if got, ok := try(); ok || got != "" {
			t.Errorf("%s: opened (%v), want nothing", name, ok)
		}
	}
}
