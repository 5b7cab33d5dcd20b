package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/testenv"
)

// RFC 7515 §4.1.4 / RFC 9068 §4 (and README "Rotate the signing key"): the kid names the key
// that signed, and a token is valid until its exp. Tokens are minted continuously from
// several goroutines through the alias while it is moved twice (A → B → C), each new key
// published in the accepted set before the switch. Afterwards every token verifies with
// that set right up to its exp, its signature verifies under the key its kid names and under
// no other, and its key is never older than the one the alias named when the Mint began.
func TestRotationTwiceUnderLoadKeepsEveryTokenVerifiable(t *testing.T) {
	ctx := context.Background()
	const (
		workers  = 4
		perPhase = 40 // tokens minted under each alias target before the next move
	)
	a := newKMSKey(t)
	keys := []string{a.id, testenv.NewSigningKey(t, a.client), testenv.NewSigningKey(t, a.client)}
	index := map[string]int{keys[0]: 0, keys[1]: 1, keys[2]: 2}
	alias := "alias/" + testenv.UniqueName("authbridge-rotation-load")
	if _, err := a.client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keys[0])}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	// Publish before switching: the accepted set lists B and C before the alias names them.
	accepted, err := LoadKeySet(ctx, a.client, keys)
	if err != nil {
		t.Fatalf("LoadKeySet: %v", err)
	}
	if ids := accepted.KeyIDs(); len(ids) != 3 {
		t.Fatalf("accepted key set %v, want three keys", ids)
	}
	signer := &countingSigner{SignAPI: a.client}
	m := NewMinter(signer, alias, testIssuer, 5*time.Minute)

	type minted struct {
		token  string
		claims AccessClaims
		err    error
		target int // the alias's target (index in keys) when the Mint began
	}
	var (
		wg      sync.WaitGroup
		target  atomic.Int32 // set once UpdateAlias has returned
		stop    atomic.Bool
		count   atomic.Int64
		results = make([][]minted, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for !stop.Load() {
				began := int(target.Load())
				tok, c, err := m.Mint(ctx, request())
				results[w] = append(results[w], minted{tok, c, err, began})
				count.Add(1)
				if err != nil {
					return
				}
			}
		})
	}
	// waitFor waits until n more tokens were minted (or a generous deadline passed: a
	// stalled minter then shows up as a phase without tokens below).
	waitFor := func(n int64) {
		goal, deadline := count.Load()+n, time.Now().Add(10*time.Second)
		for count.Load() < goal && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor(perPhase)
	for next := 1; next < len(keys); next++ {
		if _, err := a.client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keys[next])}); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatalf("UpdateAlias to key %d: %v", next, err)
		}
		target.Store(int32(next))
		waitFor(perPhase)
	}
	stop.Store(true)
	wg.Wait()

	perKey := make([]int, len(keys))
	total := 0
	for w, tokens := range results {
		last := 0
		for i, r := range tokens {
			if r.err != nil {
				t.Fatalf("worker %d, token %d: Mint: %v", w, i, r.err)
			}
			total++
			kid := tokenKid(t, r.token)
			k, ok := index[kid]
			if !ok {
				t.Fatalf("worker %d, token %d: kid %q is none of the three keys", w, i, kid)
			}
			// The kid names the key that really signed: its signature verifies under that
			// key and under no other key of the set.
			for j, id := range keys {
				if got := signedBy(t, r.token, accepted.key(id)); got != (j == k) {
					t.Fatalf("worker %d, token %d: kid %s, but the signature verifies under key %d (%s): %v", w, i, kid, j, id, got)
				}
			}
			// Never an older key than the alias named when the Mint began, nor older than the
			// worker's previous token (local-kms moves the alias at once).
			if k < r.target || k < last {
				t.Fatalf("worker %d, token %d: signed by key %d after the alias moved to key %d (previous token: key %d)", w, i, k, r.target, last)
			}
			last = k
			perKey[k]++
			// Valid with the published set until the last second before its exp.
			exp := time.Unix(r.claims.ExpiresAt, 0)
			got, err := NewVerifier(accepted, testIssuer, 0).WithClock(clock(exp.Add(-time.Second))).Verify(r.token, testAudience)
			if err != nil {
				t.Fatalf("worker %d, token %d (kid %s): unverifiable one second before its exp: %v", w, i, kid, err)
			}
			if got != r.claims {
				t.Fatalf("worker %d, token %d: verified claims %+v, minted %+v", w, i, got, r.claims)
			}
		}
	}
	t.Logf("%d tokens from %d goroutines: %d signed by A, %d by B, %d by C; %d kms:Sign calls (%d re-signs)",
		total, workers, perKey[0], perKey[1], perKey[2], signer.calls.Load(), signer.calls.Load()-int64(total))
	for k, n := range perKey {
		if n == 0 {
			t.Fatalf("no token was signed by key %d: the rotation did not happen under load (%v)", k, perKey)
		}
	}
	// The cold start and each move cost at least one second signature.
	if extra := signer.calls.Load() - int64(total); extra < int64(len(keys)) {
		t.Fatalf("%d re-signs for a cold start and two moves, want at least %d", extra, len(keys))
	}
}

// tokenKid is the kid of a compact token's JOSE header.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal([]byte(decodeHeader(t, token)), &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	return h.Kid
}

// signedBy reports whether the token's ES256 signature verifies under pub, whatever its kid.
func signedBy(t *testing.T, token string, pub *ecdsa.PublicKey) bool {
	t.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) != 64 || pub == nil {
		t.Fatalf("signature: %d bytes, %v (key %v)", len(sig), err, pub != nil)
	}
	digest := sha256.Sum256([]byte(token[:i]))
	return ecdsa.VerifyASN1(pub, digest[:], rawToDER(nil, sig))
}
