package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyFixture is one KMS key, a token minted at fixedNow and a Verifier one minute later.
type verifyFixture struct {
	k      kmsKey
	keys   *KeySet
	v      *Verifier
	token  string
	claims AccessClaims
}

func newVerifyFixture(t *testing.T) verifyFixture {
	t.Helper()
	k := newKMSKey(t)
	tok, c, err := NewMinter(k.client, k.id, testIssuer, 15*time.Minute).WithClock(clock(fixedNow)).
		Mint(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	ks := k.keySet(t)
	return verifyFixture{k: k, keys: ks, token: tok, claims: c,
		v: NewVerifier(ks, testIssuer, 60*time.Second).WithClock(clock(fixedNow.Add(time.Minute)))}
}

func wantErr(t *testing.T, v *Verifier, token, aud string, want error) {
	t.Helper()
	c, err := v.Verify(token, aud)
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %+v, %v; want %v", c, err, want)
	}
	for _, other := range []error{ErrMalformed, ErrAlgorithm, ErrType, ErrUnknownKey, ErrSignature,
		ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience} {
		if other != want && errors.Is(err, other) {
			t.Fatalf("error %v also matches %v", err, other)
		}
	}
	if c != (AccessClaims{}) {
		t.Fatalf("claims returned with an error: %+v", c)
	}
}

func TestVerifyAccepts(t *testing.T) {
	f := newVerifyFixture(t)
	hdr := func(typ string) string { return headerJSON("ES256", typ, f.k.id) }
	t.Run("minted token", func(t *testing.T) {
		if _, err := f.v.Verify(f.token, testAudience); err != nil {
			t.Fatal(err)
		}
	})
	// RFC 9068 §4: typ is compared case-insensitively, with or without "application/".
	for _, typ := range []string{"application/at+jwt", "AT+JWT", "Application/At+Jwt"} {
		t.Run("typ "+typ, func(t *testing.T) {
			if _, err := f.v.Verify(kmsSignCompact(t, f.k, hdr(typ), claimsJSON(validClaims(fixedNow))), testAudience); err != nil {
				t.Fatal(err)
			}
		})
	}
	// RFC 7519 §4.1.3: aud may be an array; it must contain ours.
	t.Run("aud array", func(t *testing.T) {
		c := validClaims(fixedNow)
		p := strings.Replace(claimsJSON(c), `"aud":"`+testAudience+`"`, `"aud":["https://other.test","`+testAudience+`"]`, 1)
		got, err := f.v.Verify(kmsSignCompact(t, f.k, hdr("at+jwt"), p), testAudience)
		if err != nil || got.Audience != testAudience {
			t.Fatalf("%+v, %v", got, err)
		}
	})
	// RFC 7515 §4: unknown header parameters and RFC 7519 §4: unknown claims are ignored.
	t.Run("extra members", func(t *testing.T) {
		h := `{"alg":"ES256","typ":"at+jwt","kid":"` + f.k.id + `","x-extra":{"a":[1,2]}}`
		p := strings.TrimSuffix(claimsJSON(validClaims(fixedNow)), "}") + `,"extra":[{"n":null}],"cnf":{"x5t#S256":"abc"}}`
		if _, err := f.v.Verify(kmsSignCompact(t, f.k, h, p), testAudience); err != nil {
			t.Fatal(err)
		}
	})
	// nbf is optional in RFC 9068.
	t.Run("no nbf", func(t *testing.T) {
		p := claimsJSON(struct {
			AccessClaims
			NotBefore *int64 `json:"nbf,omitempty"`
		}{AccessClaims: validClaims(fixedNow)})
		if _, err := f.v.Verify(kmsSignCompact(t, f.k, hdr("at+jwt"), p), testAudience); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	f := newVerifyFixture(t)
	kid := f.k.id
	good := claimsJSON(validClaims(fixedNow))
	es256 := headerJSON("ES256", "at+jwt", kid)
	h64, p64, _ := strings.Cut(f.token, ".")
	p64, s64, _ := strings.Cut(p64, ".")

	// RFC 8725 §3.1 / §2.1: "none" must never be accepted.
	t.Run("alg none", func(t *testing.T) {
		wantErr(t, f.v, b64(headerJSON("none", "at+jwt", kid))+"."+b64(good)+".", testAudience, ErrAlgorithm)
		// Also with the original signature kept.
		wantErr(t, f.v, b64(headerJSON("none", "at+jwt", kid))+"."+p64+"."+s64, testAudience, ErrAlgorithm)
	})
	// RFC 8725 §2.1 / §3.1: key confusion, the public key used as an HMAC secret.
	t.Run("HS256 with public key as secret", func(t *testing.T) {
		jwks, err := f.keys.JWKS()
		if err != nil {
			t.Fatal(err)
		}
		spki, err := x509.MarshalPKIXPublicKey(f.keys.key(kid))
		if err != nil {
			t.Fatal(err)
		}
		for name, secret := range map[string][]byte{"JWKS": jwks, "DER": spki} {
			t.Run(name, func(t *testing.T) {
				input := b64(headerJSON("HS256", "at+jwt", kid)) + "." + b64(good)
				mac := hmac.New(sha256.New, secret)
				mac.Write([]byte(input))
				wantErr(t, f.v, input+"."+base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), testAudience, ErrAlgorithm)
			})
		}
	})
	// RFC 7518 §3.1: alg is case-sensitive; other algorithms are not allowed either.
	t.Run("other alg values", func(t *testing.T) {
		for _, alg := range []string{"es256", "ES384", "ES512", "RS256", "PS256", "EdDSA", "ES256K", ""} {
			wantErr(t, f.v, kmsSignCompact(t, f.k, headerJSON(alg, "at+jwt", kid), good), testAudience, ErrAlgorithm)
		}
	})
	// RFC 7515 §5.2 step 8: ES256 signed by a key that is not the one the kid names.
	t.Run("ES256 by another key under a known kid", func(t *testing.T) {
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, f.v, localSignCompact(t, other, es256, good), testAudience, ErrSignature)
	})
	// RFC 7515 §4.1.4: the kid must name one of our keys.
	t.Run("unknown kid", func(t *testing.T) {
		wantErr(t, f.v, kmsSignCompact(t, f.k, headerJSON("ES256", "at+jwt", "00000000-0000-0000-0000-000000000000"), good), testAudience, ErrUnknownKey)
		wantErr(t, f.v, kmsSignCompact(t, f.k, headerJSON("ES256", "at+jwt", ""), good), testAudience, ErrUnknownKey)
	})
	// RFC 7519 §4.1.4.
	t.Run("expired", func(t *testing.T) {
		v := NewVerifier(f.keys, testIssuer, 60*time.Second).WithClock(clock(fixedNow.Add(time.Hour)))
		wantErr(t, v, f.token, testAudience, ErrExpired)
	})
	// RFC 7519 §4.1.5 (and §4.1.6 for iat).
	t.Run("not yet valid", func(t *testing.T) {
		v := NewVerifier(f.keys, testIssuer, 60*time.Second).WithClock(clock(fixedNow.Add(-10 * time.Minute)))
		wantErr(t, v, f.token, testAudience, ErrNotYetValid)
		c := validClaims(fixedNow)
		c.NotBefore = fixedNow.Add(5 * time.Minute).Unix()
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, claimsJSON(c)), testAudience, ErrNotYetValid)
		c = validClaims(fixedNow.Add(5 * time.Minute)) // iat in the future
		c.NotBefore = fixedNow.Unix()
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, claimsJSON(c)), testAudience, ErrNotYetValid)
	})
	// RFC 7519 §4.1.4-5 leeway, capped at 60 s: 59 s past exp passes, 61 s does not.
	t.Run("leeway edge", func(t *testing.T) {
		exp := time.Unix(f.claims.ExpiresAt, 0)
		nbf := time.Unix(f.claims.NotBefore, 0)
		at := func(tm time.Time, leeway time.Duration) *Verifier {
			return NewVerifier(f.keys, testIssuer, leeway).WithClock(clock(tm))
		}
		if _, err := at(exp.Add(59*time.Second), 60*time.Second).Verify(f.token, testAudience); err != nil {
			t.Errorf("exp+59s: %v", err)
		}
		wantErr(t, at(exp.Add(61*time.Second), 60*time.Second), f.token, testAudience, ErrExpired)
		wantErr(t, at(exp.Add(61*time.Second), time.Hour), f.token, testAudience, ErrExpired) // cap
		wantErr(t, at(exp, 0), f.token, testAudience, ErrExpired)                             // at exp
		if _, err := at(exp.Add(-time.Second), 0).Verify(f.token, testAudience); err != nil {
			t.Errorf("exp-1s without leeway: %v", err)
		}
		if _, err := at(nbf.Add(-59*time.Second), 60*time.Second).Verify(f.token, testAudience); err != nil {
			t.Errorf("nbf-59s: %v", err)
		}
		wantErr(t, at(nbf.Add(-61*time.Second), 60*time.Second), f.token, testAudience, ErrNotYetValid)
		wantErr(t, at(nbf.Add(-61*time.Second), time.Hour), f.token, testAudience, ErrNotYetValid) // cap
	})
	// RFC 7519 §4.1.1, RFC 8725 §3.8: byte-equal issuer.
	t.Run("wrong iss", func(t *testing.T) {
		for _, iss := range []string{"https://evil.example", testIssuer + "/", strings.ToUpper(testIssuer), ""} {
			v := NewVerifier(f.keys, iss, 0).WithClock(clock(fixedNow))
			wantErr(t, v, f.token, testAudience, ErrIssuer)
		}
		c := validClaims(fixedNow)
		c.Issuer = testIssuer + "/"
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, claimsJSON(c)), testAudience, ErrIssuer)
		// A claim named "ISS" is not "iss" (encoding/json would match it case-insensitively).
		p := strings.Replace(good, `"iss":`, `"ISS":`, 1)
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrIssuer)
	})
	// RFC 7519 §4.1.3, RFC 8725 §3.9, RFC 9068 §4.
	t.Run("wrong aud", func(t *testing.T) {
		for _, aud := range []string{"https://other.example/mcp", testAudience + "/", ""} {
			wantErr(t, f.v, f.token, aud, ErrAudience)
		}
		p := strings.Replace(good, `"aud":"`+testAudience+`"`, `"aud":["https://other.test"]`, 1)
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrAudience)
		p = strings.Replace(good, `"aud":"`+testAudience+`"`, `"aud":[]`, 1)
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrAudience)
	})
	// RFC 9068 §4, RFC 8725 §3.11: explicit typing is required.
	t.Run("missing typ", func(t *testing.T) {
		wantErr(t, f.v, kmsSignCompact(t, f.k, headerJSON("ES256", "", kid), good), testAudience, ErrType)
		for _, typ := range []string{"JWT", "jwt", "at+jwt ", "application/jwt", "dpop+jwt"} {
			wantErr(t, f.v, kmsSignCompact(t, f.k, headerJSON("ES256", typ, kid), good), testAudience, ErrType)
		}
	})
	// RFC 7515 §5.2 step 8: any change to the signed bytes breaks the signature.
	t.Run("tampered payload", func(t *testing.T) {
		c := f.claims
		c.Subject = "user_admin"
		wantErr(t, f.v, h64+"."+b64(claimsJSON(c))+"."+s64, testAudience, ErrSignature)
		c = f.claims
		c.Scope += " admin"
		wantErr(t, f.v, h64+"."+b64(claimsJSON(c))+"."+s64, testAudience, ErrSignature)
		// Header swapped for an equivalent one.
		wantErr(t, f.v, b64(headerJSON("ES256", "at+jwt", kid))+"."+p64+"."+s64, testAudience, ErrSignature)
		// Signature bits flipped.
		sig, _ := base64.RawURLEncoding.DecodeString(s64)
		sig[10] ^= 1
		wantErr(t, f.v, h64+"."+p64+"."+base64.RawURLEncoding.EncodeToString(sig), testAudience, ErrSignature)
		// r‖s with s = 0 (or r = 0) must not pass.
		zero := make([]byte, 64)
		copy(zero, sig[:32])
		wantErr(t, f.v, h64+"."+p64+"."+base64.RawURLEncoding.EncodeToString(zero), testAudience, ErrSignature)
	})
	// RFC 7518 §3.4 (64-byte signature) and RFC 7515 §7.1 (three parts).
	t.Run("truncated token", func(t *testing.T) {
		wantErr(t, f.v, f.token[:len(f.token)-2], testAudience, ErrSignature)        // 63-byte signature
		wantErr(t, f.v, f.token[:len(f.token)-len(s64)], testAudience, ErrSignature) // empty signature
		wantErr(t, f.v, h64+"."+p64, testAudience, ErrMalformed)                     // two parts
		wantErr(t, f.v, h64, testAudience, ErrMalformed)
		// Every prefix is rejected.
		for i := 0; i < len(f.token); i++ {
			if _, err := f.v.Verify(f.token[:i], testAudience); err == nil {
				t.Fatalf("prefix of length %d accepted", i)
			}
		}
		// A signature padded to more than 64 bytes is rejected too.
		wantErr(t, f.v, f.token+"AAAA", testAudience, ErrSignature)
	})
	// Size bound: RFC 8725 §2.9-style denial of service; tokens are ≤ 8 KiB.
	t.Run("10 KB of junk", func(t *testing.T) {
		junk := make([]byte, 10<<10)
		_, _ = rand.Read(junk)
		wantErr(t, f.v, string(junk), testAudience, ErrMalformed)
		wantErr(t, f.v, h64+"."+p64+strings.Repeat("A", 10<<10)+"."+s64, testAudience, ErrMalformed)
	})
	t.Run("empty string", func(t *testing.T) {
		wantErr(t, f.v, "", testAudience, ErrMalformed)
		wantErr(t, f.v, "..", testAudience, ErrMalformed)
	})
	// RFC 7515 §2: base64url without padding, nothing else (RFC 8725 §2.6: one encoding only).
	t.Run("non-base64", func(t *testing.T) {
		for name, tok := range map[string]string{
			"bang in header":     "a!b." + p64 + "." + s64,
			"standard alphabet":  strings.NewReplacer("-", "+", "_", "/").Replace(h64) + "+/." + p64 + "." + s64,
			"padding":            h64 + "=." + p64 + "." + s64,
			"newline in payload": h64 + "." + p64[:10] + "\n" + p64[10:] + "." + s64,
			"space in signature": h64 + "." + p64 + "." + s64[:5] + " " + s64[5:],
			"bad length":         h64 + "A." + p64 + "." + s64, // 4n+1 characters
			"non-ASCII":          "é." + p64 + "." + s64,
			"junk signature":     h64 + "." + p64 + ".***",
			"four parts":         f.token + ".x",
			"JWE (five parts)":   h64 + ".a.b.c." + s64,
		} {
			t.Run(name, func(t *testing.T) { wantErr(t, f.v, tok, testAudience, ErrMalformed) })
		}
		// Non-zero trailing bits: a second encoding of the same signature bytes.
		// (86 characters carry 516 bits for 512: the low 4 bits of the last one must be 0.)
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		alt := alphabet[strings.IndexByte(alphabet, s64[len(s64)-1])^1]
		wantErr(t, f.v, h64+"."+p64+"."+s64[:len(s64)-1]+string(alt), testAudience, ErrMalformed)
	})
	// RFC 7519 §4 / RFC 7515 §5.2 step 4: duplicate names are rejected, not resolved.
	t.Run("duplicate claim", func(t *testing.T) {
		p := strings.TrimSuffix(good, "}") + `,"sub":"user_admin"}`
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrMalformed)
		p = strings.TrimSuffix(good, "}") + `,"a\u0075d":"x"}` // same name after unescaping
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrMalformed)
		h := `{"alg":"ES256","typ":"at+jwt","kid":"` + kid + `","alg":"none"}`
		wantErr(t, f.v, kmsSignCompact(t, f.k, h, good), testAudience, ErrMalformed)
	})
	// RFC 7519 §2 (NumericDate, StringOrURI) and §4: wrong JSON types are rejected.
	t.Run("wrongly typed claim", func(t *testing.T) {
		for from, to := range map[string]string{
			`"exp":` + itoa(f.claims.ExpiresAt):       `"exp":"` + itoa(f.claims.ExpiresAt) + `"`,
			`"exp":` + itoa(f.claims.ExpiresAt) + `,`: `"exp":` + itoa(f.claims.ExpiresAt) + `.5,`,
			`"iat":` + itoa(fixedNow.Unix()):          `"iat":1e9`,
			`"sub":"user_01HXYZ"`:                     `"sub":123`,
			`"client_id":"client-123"`:                `"client_id":null`,
			`"scope":"mcp:tools"`:                     `"scope":["mcp:tools"]`,
			`"aud":"` + testAudience + `"`:            `"aud":{"x":"` + testAudience + `"}`,
			`"jti":"jti-0123456789abcdef"`:            `"jti":true`,
		} {
			p := strings.Replace(good, from, to, 1)
			if p == good {
				t.Fatalf("replacement %s not applied to %s", from, good)
			}
			wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrMalformed)
		}
		for _, h := range []string{
			`{"alg":"ES256","typ":"at+jwt","kid":123}`,
			`{"alg":["ES256"],"typ":"at+jwt","kid":"` + kid + `"}`,
			`{"alg":"ES256","typ":"at+jwt","kid":"` + kid + `","crit":["exp"]}`, // RFC 7515 §4.1.11
			`["ES256"]`, `{"alg":"ES256","typ":"at+jwt","kid":"` + kid + `"} {}`, `{"alg":"ES256",}`,
		} {
			wantErr(t, f.v, kmsSignCompact(t, f.k, h, good), testAudience, ErrMalformed)
		}
		for _, p := range []string{`null`, `[]`, `"x"`, good + `{}`, good[:len(good)-1], "{\"sub\":\"\xff\"}"} {
			wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrMalformed)
		}
	})
	// RFC 9068 §2.2: sub, exp, iat, jti and client_id are required.
	t.Run("missing required claim", func(t *testing.T) {
		for _, name := range []string{"sub", "exp", "iat", "jti", "client_id"} {
			t.Run(name, func(t *testing.T) {
				p := removeMember(t, good, name)
				wantErr(t, f.v, kmsSignCompact(t, f.k, es256, p), testAudience, ErrMalformed)
			})
		}
		c := validClaims(fixedNow)
		c.Subject = ""
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, claimsJSON(c)), testAudience, ErrMalformed)
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, removeMember(t, good, "iss")), testAudience, ErrIssuer)
		wantErr(t, f.v, kmsSignCompact(t, f.k, es256, removeMember(t, good, "aud")), testAudience, ErrAudience)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// removeMember drops the member name from a flat JSON object produced by claimsJSON.
func removeMember(t *testing.T, obj, name string) string {
	t.Helper()
	i := strings.Index(obj, `"`+name+`":`)
	if i < 0 {
		t.Fatalf("%s not in %s", name, obj)
	}
	j := i + strings.IndexAny(obj[i:], ",}")
	if obj[j] == ',' {
		return obj[:i] + obj[j+1:]
	}
	return strings.TrimSuffix(obj[:i], ",") + obj[j:]
}
