package tokens

import (
	"bytes"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"math/big"
)

// p256N is the order of the P-256 group; valid ECDSA r and s lie in [1, n-1].
var p256N = elliptic.P256().Params().N

// derToRaw converts an ASN.1 DER ECDSA signature, as KMS returns it
// (SEQUENCE { r INTEGER, s INTEGER }), into the fixed 64-byte R‖S form JWS uses for ES256
// (RFC 7518 §3.4), left-padding each integer to 32 bytes. encoding/asn1 enforces DER
// (minimal lengths, minimal integer encodings) and the input must re-encode to itself, so
// trailing bytes or extra elements are rejected; so are zero, negative and ≥ n values.
func derToRaw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, errors.New("ecdsa signature: invalid DER: " + err.Error())
	}
	if len(rest) != 0 {
		return nil, errors.New("ecdsa signature: trailing data after DER sequence")
	}
	// encoding/asn1 tolerates extra elements at the end of a SEQUENCE; DER is canonical, so
	// re-encoding must give back the input exactly.
	if again, err := asn1.Marshal(sig); err != nil || !bytes.Equal(again, der) {
		return nil, errors.New("ecdsa signature: not a canonical DER SEQUENCE of two INTEGERs")
	}
	out := make([]byte, 64)
	for i, v := range []*big.Int{sig.R, sig.S} {
		if v.Sign() <= 0 || v.Cmp(p256N) >= 0 {
			return nil, errors.New("ecdsa signature: integer out of range for P-256")
		}
		v.FillBytes(out[i*32 : (i+1)*32])
	}
	return out, nil
}

// rawToDER is the inverse of derToRaw: it encodes the 64-byte R‖S of a JWS ES256 signature
// (RFC 7518 §3.4) as the DER SEQUENCE { r INTEGER, s INTEGER } that ecdsa.VerifyASN1 reads,
// appending to dst (72 bytes of capacity avoid any allocation). Integers are minimal: leading
// zero bytes dropped, one 0x00 added when the top bit is set (X.690 §8.3). Range checks
// (1 ≤ r, s < n) are left to the verifier.
func rawToDER(dst, raw []byte) []byte {
	dst = append(dst, 0x30, 0) // SEQUENCE, length set below (at most 70: short form)
	for _, v := range [][]byte{raw[:32], raw[32:64]} {
		for len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		if v[0]&0x80 != 0 {
			dst = append(dst, 0x02, byte(len(v)+1), 0)
		} else {
			dst = append(dst, 0x02, byte(len(v)))
		}
		dst = append(dst, v...)
	}
	dst[1] = byte(len(dst) - 2)
	return dst
}
