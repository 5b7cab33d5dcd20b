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

// The WorkOS refresh token kept on a code or a refresh token opens only with that secret and
// family (docs/decisions.md "Refresh follows the WorkOS session"), and under its own key: a
// value sealed as a successor does not open as a WorkOS token, nor the reverse.
func TestWorkOSRefreshTokenSealedForItsHolderOnly(t *testing.T) {
	holder, workos := oauth.NewOpaque(oauth.PrefixRefreshToken), "wos_rt_0123456789abcdefghij"
	sealed := sealUpstream(holder, "fam-1", workos)
	if bytes.Contains(sealed, []byte(workos)) {
		t.Fatal("the sealed WorkOS token contains it in the clear")
	}
	if got, ok := openUpstream(holder, "fam-1", sealed); !ok || got != workos {
		t.Fatalf("open with the holder: %v", ok)
	}
	if sealUpstream(holder, "fam-1", "") != nil {
		t.Fatal("nothing to seal must give nothing")
	}
	for name, try := range map[string]func() (string, bool){
		"another holder":      func() (string, bool) { return openUpstream(oauth.NewOpaque(oauth.PrefixRefreshToken), "fam-1", sealed) },
		"another family":      func() (string, bool) { return openUpstream(holder, "fam-2", sealed) },
		"opened as successor": func() (string, bool) { return openSuccessor(holder, "fam-1", sealed) },
		"successor as WorkOS": func() (string, bool) { return openUpstream(holder, "fam-1", sealSuccessor(holder, "fam-1", workos)) },
		"nothing sealed":      func() (string, bool) { return openUpstream(holder, "fam-1", nil) },
	} {
		if got, ok := try(); ok || got != "" {
			t.Errorf("%s: opened (%v), want nothing", name, ok)
		}
	}
}
