package tokens

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// checkRaw asserts that raw is the 64-byte R‖S of the DER signature der and verifies.
func checkRaw(t *testing.T, pub *ecdsa.PublicKey, digest, der []byte) (shortR, shortS bool) {
	t.Helper()
	raw, err := derToRaw(der)
	if err != nil {
		t.Fatalf("derToRaw(%x): %v", der, err)
	}
	var want struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &want); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 64 {
		t.Fatalf("len = %d", len(raw))
	}
	r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
	if r.Cmp(want.R) != 0 || s.Cmp(want.S) != 0 {
		t.Fatalf("R‖S mismatch for %x", der)
	}
	if !ecdsa.Verify(pub, digest, r, s) {
		t.Fatalf("converted signature does not verify: %x", der)
	}
	return len(want.R.Bytes()) < 32, len(want.S.Bytes()) < 32
}

// TestDERToRawLocal converts many local signatures until both R and S have been seen with
// leading zero bytes (each happens with probability 1/256) and with the DER 0x00 sign byte.
func TestDERToRawLocal(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var shortR, shortS, padded, total int
	for total = 0; total < 200_000 && (shortR < 8 || shortS < 8 || total < 2000); total++ {
		digest := sha256.Sum256([]byte(strconv.Itoa(total)))
		der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sr, ss := checkRaw(t, &priv.PublicKey, digest[:], der)
		if sr {
			shortR++
		}
		if ss {
			shortS++
		}
		if len(der) > 70 { // a 33-byte INTEGER (0x00 sign byte) on at least one side
			padded++
		}
	}
	t.Logf("%d signatures: %d short R, %d short S, %d with a DER sign byte", total, shortR, shortS, padded)
	if shortR < 8 || shortS < 8 || padded == 0 {
		t.Fatalf("leading-zero cases not covered")
	}
}

// TestDERToRawKMS converts signatures made by local-kms.
func TestDERToRawKMS(t *testing.T) {
	k := newKMSKey(t)
	pub := k.keySet(t).key(k.id)
	for i := range 100 {
		digest := sha256.Sum256([]byte("kms message " + strconv.Itoa(i)))
		out, err := k.client.Sign(context.Background(), &kms.SignInput{
			KeyId: aws.String(k.id), Message: digest[:],
			MessageType: kmstypes.MessageTypeDigest, SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256,
		})
		if err != nil {
			t.Fatal(err)
		}
		checkRaw(t, pub, digest[:], out.Signature)
	}
}

func TestDERToRawEdgeValues(t *testing.T) {
	nMinus1 := new(big.Int).Sub(p256N, big.NewInt(1))
	for _, tc := range []struct{ r, s *big.Int }{
		{big.NewInt(1), big.NewInt(1)},
		{big.NewInt(0x80), nMinus1}, // r needs a sign byte, s is 32 bytes with the high bit set
		{new(big.Int).Lsh(big.NewInt(1), 200), big.NewInt(0x7f)},
	} {
		der, err := asn1.Marshal(struct{ R, S *big.Int }{tc.r, tc.s})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := derToRaw(der)
		if err != nil {
			t.Fatalf("derToRaw(%x): %v", der, err)
		}
		want := make([]byte, 64)
		tc.r.FillBytes(want[:32])
		tc.s.FillBytes(want[32:])
		if !bytes.Equal(raw, want) {
			t.Errorf("derToRaw(%x) = %x, want %x", der, raw, want)
		}
	}
}

func TestDERToRawRejectsMalformed(t *testing.T) {
	for name, h := range map[string]string{
		"empty":                      "",
		"not a sequence":             "0201010201",
		"truncated":                  "3006020101020101"[:12],
		"length too long":            "3007020101020101",
		"trailing garbage":           "300602010102010100",
		"three integers":             "3009020101020101020101",
		"one integer":                "3003020101",
		"octet string instead":       "3006040101020101",
		"non-minimal integer":        "300702020001020101",
		"non-minimal length":         "30810602010102010" + "1",
		"negative r":                 "30060201ff020101",
		"zero r":                     "3006020100020101",
		"zero s":                     "3006020101020100",
		"r equals n":                 derHex(p256N, big.NewInt(1)),
		"s equals n":                 derHex(big.NewInt(1), p256N),
		"integer longer than 32":     derHex(new(big.Int).Lsh(p256N, 8), big.NewInt(1)),
		"negative s (canonical DER)": derHex(big.NewInt(1), big.NewInt(-5)),
		"indefinite length":          "3080020101020101" + "0000",
		"sequence of empty integers": "300402000200",
	} {
		t.Run(name, func(t *testing.T) {
			der, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("bad test vector: %v", err)
			}
			if raw, err := derToRaw(der); err == nil {
				t.Errorf("derToRaw(%s) = %x, want error", h, raw)
			}
		})
	}
}

// derHex encodes a well-formed DER signature with arbitrary (possibly out-of-range) values.
func derHex(r, s *big.Int) string {
	der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(der)
}

// TestRawToDERRoundTrip: rawToDER is the exact inverse of derToRaw for in-range values,
// including integers with leading zero bytes and with the top bit set (X.690 §8.3).
func TestRawToDERRoundTrip(t *testing.T) {
	cases := [][]byte{
		bytes.Repeat([]byte{0x7f}, 64),
		bytes.Repeat([]byte{0x80}, 32),                                         // high bit set: needs a 0x00 prefix
		append(append(make([]byte, 31), 1), bytes.Repeat([]byte{0x01}, 32)...), // r = 1
		append(append([]byte{0, 0, 0x80}, bytes.Repeat([]byte{0x55}, 29)...), bytes.Repeat([]byte{0x22}, 32)...),
	}
	cases[1] = append(cases[1], bytes.Repeat([]byte{0x90}, 32)...)
	for i := 0; i < 200; i++ {
		raw := make([]byte, 64)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		raw[0] &= 0x7f // keep r below n
		raw[32] &= 0x7f
		cases = append(cases, raw)
	}
	for _, raw := range cases {
		der := rawToDER(nil, raw)
		back, err := derToRaw(der)
		if err != nil {
			t.Fatalf("derToRaw(rawToDER(%x)) = %v (DER %x)", raw, err, der)
		}
		if !bytes.Equal(back, raw) {
			t.Fatalf("round trip of %x gave %x", raw, back)
		}
		if len(der) > 72 {
			t.Fatalf("DER of %x is %d bytes, more than the 72 the verifier reserves", raw, len(der))
		}
	}
}
