package tokens

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fuzz targets of the token verifier. Their seeds run with go test; a longer run:
// go test -run '^$' -fuzz '^FuzzVerify$' -fuzztime 30s ./shared/tokens
// (infra/fuzz/targets.txt lists every target). No KMS: the Verifier is built over a P-256 key
// generated in the process, which signs the tokens KMS would.

const fuzzKid = "5c6d7e8f-0a1b-2c3d-4e5f-60718293a4b5"

var (
	fuzzKeyOnce sync.Once
	fuzzPriv    *ecdsa.PrivateKey
)

// fuzzVerifier is a Verifier over the process's key, at fixedNow.
func fuzzVerifier(t testing.TB) (*Verifier, *ecdsa.PrivateKey) {
	fuzzKeyOnce.Do(func() {
		var err error
		if fuzzPriv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	ks := &KeySet{ids: []string{fuzzKid}, keys: map[string]*ecdsa.PublicKey{fuzzKid: &fuzzPriv.PublicKey}}
	return NewVerifier(ks, testIssuer, 30*time.Second).WithClock(clock(fixedNow)), fuzzPriv
}

// sentinels are the errors Verify wraps, exactly one at a time.
var sentinels = []error{ErrMalformed, ErrAlgorithm, ErrType, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience}

func checkVerifyError(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d sentinels, want exactly one", err, n)
	}
}

// isB64URL reports whether s is unpadded base64url text (RFC 7515 §2).
func isB64URL(s string) bool {
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && !strings.ContainsAny(s, "\r\n")
}

// FuzzVerifyCompact feeds any string to Verify as a token. None carries a signature of the
// process's key, so none is accepted.
func FuzzVerifyCompact(f *testing.F) {
	v, priv := fuzzVerifier(f)
	good := localSignCompact(f, priv, headerJSON("ES256", "at+jwt", fuzzKid), claimsJSON(validClaims(fixedNow)))
	h64, rest, _ := strings.Cut(good, ".")
	p64, s64, _ := strings.Cut(rest, ".")
	for _, s := range []string{
		good[:len(good)-2] + "AA",               // another signature
		h64 + "." + p64 + "." + s64 + "=",       // padded
		h64 + "." + p64 + ".\n" + s64,           // a newline the std decoder skips
		h64 + "." + p64 + "." + s64 + "." + s64, // four parts
		h64 + "." + p64 + "." + s64 + ".x.y",    // JWE shape
		h64 + "." + p64 + ".",                   // no signature
		b64(`{"alg":"none","typ":"at+jwt"}`) + "." + p64 + ".",
		b64(`{"alg":"HS256","typ":"at+jwt","kid":"`+fuzzKid+`"}`) + "." + p64 + "." + s64,
		b64(`{"alg":"ES256","typ":"JWT","kid":"`+fuzzKid+`"}`) + "." + p64 + "." + s64,
		b64(`{"alg":"ES256","typ":"at+jwt","kid":"`+fuzzKid+`","crit":["exp"]}`) + "." + p64 + "." + s64,
		b64(`{"alg":"ES256","alg":"none"}`) + "." + p64 + "." + s64,
		b64(`{"alg":"ES256","typ":"at+jwt","kid":"`+fuzzKid+`"}`) + "." + p64 + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)),
		b64(strings.Repeat(`{"a":`, 40)+"1"+strings.Repeat("}", 40)) + "." + p64 + "." + s64,
		"..", ".", "", "\x00.\x00.\x00", "eyJ.eyJ.sig", "ｅｙＪ.ｅｙＪ.ｓｉｇ",
	} {
		f.Add(s, uint16(0))
	}
	f.Add(good[:len(good)-1], uint16(MaxTokenSize-len(good)+1))
	f.Add(good, uint16(MaxTokenSize-len(good)+1))
	// pad appends that many "A": tokens around MaxTokenSize stay reachable from small inputs.
	f.Fuzz(func(t *testing.T, token string, pad uint16) {
		token += strings.Repeat("A", int(pad))
		c, err := v.Verify(token, testAudience)
		if err == nil {
			t.Fatalf("accepted %q: %+v", token, c)
		}
		if c != (AccessClaims{}) {
			t.Fatalf("claims %+v returned with %v", c, err)
		}
		checkVerifyError(t, err)
		// RFC 7515 §7.1: compact serialization is three base64url parts; anything else is
		// malformed before the header is even read.
		parts := strings.Split(token, ".")
		if len(token) > MaxTokenSize || len(parts) != 3 || !isB64URL(parts[0]) || !isB64URL(parts[1]) || !isB64URL(parts[2]) ||
			parts[0] == "" || parts[1] == "" {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q refused with %v, want ErrMalformed", token, err)
			}
		}
	})
}

// FuzzVerify builds tokens from a header and claims, signed by the process's key when sign
// is set (else with sig as the signature), so that the fuzzer reaches the checks behind the
// signature: RFC 8725 §3.1 alg, RFC 9068 §4 typ, iss, aud, exp, nbf, iat and the claims'
// JSON (RFC 7519 §7.2).
func FuzzVerify(f *testing.F) {
	v, priv := fuzzVerifier(f)
	claims := validClaims(fixedNow)
	for _, s := range []struct {
		header, payload, sig string
		sign                 bool
	}{
		{headerJSON("ES256", "at+jwt", fuzzKid), claimsJSON(claims), "", true},
		{headerJSON("ES256", "application/AT+JWT", fuzzKid), claimsJSON(claims), "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), claimsJSON(claims), "AAAA", false},
		{headerJSON("ES256", "at+jwt", "other"), claimsJSON(claims), "", true},
		{headerJSON("ES384", "at+jwt", fuzzKid), claimsJSON(claims), "", true},
		{`{"alg":"ES256","typ":"at+jwt","kid":"` + fuzzKid + `","kid":"x"}`, claimsJSON(claims), "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"iss":"https://auth.example.test","sub":"u","aud":["x","https://mcp.example.test/mcp"],"client_id":"c","exp":1800000600,"iat":1800000000,"jti":"j"}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"iss":"https://auth.example.test","sub":"u","aud":"https://mcp.example.test/mcp","client_id":"c","exp":1800000600,"iat":1800000000,"jti":"j","exp":1}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"iss":"https://auth.example.test","sub":"u","aud":"https://mcp.example.test/mcp","client_id":"c","exp":1e400,"iat":1800000000,"jti":"j"}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"iss":"https://auth.example.test","sub":"u","aud":"https://mcp.example.test/mcp","client_id":"c","exp":99999999999999999999,"iat":-1,"jti":"j","nbf":1800000029}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"iss":"https://auth.example.test\u0000","sub":"u","aud":"https://mcp.example.test/mcp","client_id":"c","exp":1800000600,"iat":1800000031,"jti":"j"}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"iss":"https://auth.example.test","sub":"u","aud":"https://mcp.example.test/mcp","client_id":"c","exp":1799999970,"iat":1799999000,"jti":"j"}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), `{"sub":"` + strings.Repeat("\\ud83d\\ude00", 100) + `"}`, "", true},
		{headerJSON("ES256", "at+jwt", fuzzKid), strings.Repeat("[", 40), "", true},
	} {
		f.Add([]byte(s.header), []byte(s.payload), s.sig, s.sign)
	}
	f.Fuzz(func(t *testing.T, header, payload []byte, sig string, sign bool) {
		input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
		if sign {
			digest := sha256.Sum256([]byte(input))
			der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			raw, err := derToRaw(der)
			if err != nil {
				t.Fatal(err)
			}
			sig = base64.RawURLEncoding.EncodeToString(raw)
		}
		token := input + "." + sig
		c, err := v.Verify(token, testAudience)
		if err != nil {
			checkVerifyError(t, err)
			if c != (AccessClaims{}) {
				t.Fatalf("claims %+v returned with %v", c, err)
			}
			return
		}
		if !sign {
			t.Fatalf("accepted a token the key never signed: %q", token)
		}
		// What was accepted is what the strict parsers read, and passes every check.
		h, herr := parseHeader(header)
		p, perr := parseClaims(payload)
		if herr != nil || perr != nil || h.alg != Algorithm || h.kid != fuzzKid ||
			!(strings.EqualFold(h.typ, TokenType) || strings.EqualFold(h.typ, "application/"+TokenType)) {
			t.Fatalf("accepted header %q (%v), claims %q (%v)", header, herr, payload, perr)
		}
		want := p.AccessClaims
		want.Audience = testAudience
		if c != want {
			t.Fatalf("claims %+v, the payload says %+v", c, want)
		}
		// RFC 9068 §2.2 required claims; RFC 7519 §4.1.1 iss, §4.1.3 aud, §4.1.4-6 times.
		if c.Issuer != testIssuer || c.Subject == "" || c.ClientID == "" || c.JTI == "" || !containsString(p.audiences(), testAudience) {
			t.Fatalf("accepted claims %+v (aud %q)", c, p.audiences())
		}
		now, leeway := fixedNow.Unix(), int64(30)
		if now >= c.ExpiresAt+leeway || (p.has&hasNbf != 0 && now+leeway < c.NotBefore) || now+leeway < c.IssuedAt {
			t.Fatalf("accepted exp %d nbf %d iat %d at %d", c.ExpiresAt, c.NotBefore, c.IssuedAt, now)
		}
		// RFC 8725 §2.6 / §3.1: the same token for another audience, or re-encoded, is refused.
		if _, err := v.Verify(token, testAudience+"/other"); !errors.Is(err, ErrAudience) && !containsString(p.audiences(), testAudience+"/other") {
			t.Fatalf("accepted for another audience: %v", err)
		}
		if _, err := v.Verify(input+"."+sig+"=", testAudience); !errors.Is(err, ErrMalformed) {
			t.Fatalf("padded signature: %v", err)
		}
	})
}
