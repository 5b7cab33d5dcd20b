package tokens

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The hand-written reader of claims.go must make exactly the decisions of the reference
// parser (claims_ref_test.go, the strict encoding/json/v2 decoder Verify used before): it
// refuses whatever the reference refuses (duplicate names at any depth and after unescaping,
// wrong types, null, trailing data, invalid UTF-8, unpaired surrogates, deep nesting, …),
// and reads the same claims from what both accept.

// diffCases are inputs on the edges of the grammar, for both header and claims.
var diffCases = []string{
	``, ` `, `{`, `}`, `{}`, ` {} `, "\t{\r\n}\n", `{} {}`, `{}x`, `{},`, `[]`, `null`, `"x"`, `1`, "\ufeff{}", "{}\x00",
	`{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a":1,,"b":2}`, `{'a':1}`, `{a:1}`,
	`{"a":1}`, `{"a":-1}`, `{"a":-}`, `{"a":01}`, `{"a":1.}`, `{"a":.1}`, `{"a":1.5e+10}`, `{"a":1E-0}`, `{"a":1e}`,
	`{"a":1e+}`, `{"a":+1}`, `{"a":-0.0e0}`, `{"a":0x10}`, `{"a":Infinity}`, `{"a":NaN}`, `{"a":1_000}`,
	`{"a":true}`, `{"a":false}`, `{"a":null}`, `{"a":tru}`, `{"a":truee}`, `{"a":True}`, `{"a":nul}`, `{"a":nulll}`,
	`{"a":"\u0000"}`, `{"a":"\u00e9"}`, `{"a":"\uD83D\uDE00"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\ude00"}`,
	`{"a":"\ud83d\u0041"}`, `{"a":"\ud83d\ud83d"}`, `{"a":"\ud83dx"}`, `{"a":"\ud83d\"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`,
	`{"a":"\x"}`, `{"a":"\'"}`, `{"a":"\/\b\f\n\r\t\"\\"}`, "{\"a\":\"\t\"}", "{\"a\":\"\x7f\"}", "{\"a\":\"\xc3\xa9\"}",
	"{\"a\":\"\xc3\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xef\xbf\xbf\"}",
	"{\"\xff\":1}", "{\"a\":\"\\u00e9\xff\"}", `{"a":"`, `{"a":"\`, `{"a":"\u`, `{"a`, `{"a":[`, `{"a":[1`, `{"a":[1,`, `{"a":{`,
	`{"a":[]}`, `{"a":[ ]}`, `{"a":[,]}`, `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":{}}`, `{"a":{"b"}}`, `{"a":{"b":1,}}`,
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"b":1,"b":2}]}`, `{"a":{"b":1},"c":{"b":1}}`,
	`{"a":{"b":{"b":1}}}`, `{"é":1,"\u00e9":2}`, `{"a\"":1,"a\u0022":2}`, `{"":1,"":2}`, `{"":1}`,
	`{"alg":"ES256","typ":"at+jwt","kid":"k"}`, `{"alg":"ES256","alg":"ES256"}`, `{"alg":"ES256","\u0061lg":"none"}`,
	`{"alg":1}`, `{"alg":null}`, `{"alg":["ES256"]}`, `{"kid":{"a":1}}`, `{"crit":["b64"]}`, `{"crit":[]}`, `{"cri\u0074":1}`,
	`{"x":{"crit":1}}`, `{"ALG":"none","alg":"ES256"}`, `{"alg" : "ES256" , "typ":"JWT"}`, `{"alg":"ES\u0032\u00356"}`,
	`{"iss":"i","sub":"s","aud":"a","client_id":"c","scope":"x y","exp":1,"iat":2,"nbf":3,"jti":"j","email":"e","org_id":"o","sid":"d","fam":"f"}`,
	`{"aud":[]}`, `{"aud":["a"]}`, `{"aud":["a","b"]}`, `{"aud":["a",]}`, `{"aud":[,"a"]}`, `{"aud":["a" "b"]}`, `{"aud":["a",1]}`,
	`{"aud":[null]}`, `{"aud":[["a"]]}`, `{"aud":null}`, `{"aud":1}`, `{"aud":{}}`, `{"aud":"a","aud":"b"}`, `{"aud":[ "a" , "b" ]}`,
	`{"aud":["a","a"]}`, `{"aud":"\u0061"}`, `{"aud":[`, `{"aud":["a"`, `{"aud":["a",`,
	`{"exp":0}`, `{"exp":-0}`, `{"exp":-1}`, `{"exp":00}`, `{"exp":01}`, `{"exp":1.0}`, `{"exp":1e3}`, `{"exp":"1"}`, `{"exp":null}`,
	`{"exp":true}`, `{"exp":[1]}`, `{"exp":999999999999999999}`, `{"exp":1000000000000000000}`, `{"exp":123456789012345678901}`,
	`{"exp":1,"exp":1}`, `{"exp":1x}`, `{"exp":-}`, `{"exp": 7 }`, `{"iat":1,"nbf":2,"exp":3}`, `{"sub":"","jti":""}`,
	`{"sub":"u","SUB":"v","Sub":"w"}`, `{"sub":"a\u0000b"}`, `{"email":"a\u003cb\u003e\u0026"}`, `{"scope":"a\/b"}`,
}

func nests() []string {
	var out []string
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1, maxDepth + 2} {
		for _, c := range [][3]string{{"[", "1", "]"}, {"[", "", "]"}, {`{"a":`, "1", "}"}, {`{"a":`, "{}", "}"}, {`{"a":`, "[]", "}"}, {"[", "{}", "]"}, {"[", `{"b":1}`, "]"}} {
			out = append(out, `{"x":`+strings.Repeat(c[0], n)+c[1]+strings.Repeat(c[2], n)+`}`)
		}
	}
	var many strings.Builder // more unknown names than nameSet keeps in a list, then a repeat
	many.WriteString(`{`)
	for i := range 3 * nameSetList {
		fmt.Fprintf(&many, `"n%d":%d,`, i, i)
	}
	out = append(out, many.String()+`"z":0}`, many.String()+`"n3":0}`, many.String()+`"n40":0}`)
	return out
}

func checkHeaderLikeReference(t *testing.T, data []byte) {
	t.Helper()
	got, err := parseHeader(data)
	want, refErr := refParseHeader(data)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("parseHeader(%q): error %v, the reference %v", data, err, refErr)
	}
	if err == nil && got != want {
		t.Fatalf("parseHeader(%q) = %+v, the reference reads %+v", data, got, want)
	}
}

func checkClaimsLikeReference(t *testing.T, data []byte) {
	t.Helper()
	got, err := parseClaims(data)
	want, refErr := refParseClaims(data)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("parseClaims(%q): error %v, the reference %v", data, err, refErr)
	}
	if err != nil {
		return
	}
	if got.AccessClaims != want.AccessClaims || got.has != want.has || !slices.Equal(got.audiences(), want.aud) ||
		(got.audiences() == nil) != (want.aud == nil) || got.missing() != (&parsedClaims{AccessClaims: want.AccessClaims, has: want.has}).missing() {
		t.Fatalf("parseClaims(%q) = %+v (aud %q), the reference reads %+v (aud %q)", data, got, got.audiences(), want, want.aud)
	}
	for _, a := range append(want.aud, "", "other") {
		if got.hasAudience(a) != containsString(want.aud, a) {
			t.Fatalf("parseClaims(%q).hasAudience(%q) = %v", data, a, got.hasAudience(a))
		}
	}
}

func TestParseLikeReference(t *testing.T) {
	for _, in := range append(diffCases, nests()...) {
		for _, v := range []string{in, " " + in + "\n"} {
			checkHeaderLikeReference(t, []byte(v))
			checkClaimsLikeReference(t, []byte(v))
		}
	}
}

// TestParseErrorKinds: the reader's errors keep the reference's format (a kind and a byte
// offset) and the kinds the tests and logs rely on.
func TestParseErrorKinds(t *testing.T) {
	for in, kind := range map[string]string{
		`{"a":1,"a":2}`:            "duplicate member name",
		`{"x":{"a":1,"\u0061":2}}`: "duplicate member name",
		`{"sub":1}`:                "not a string",
		`{"exp":"1"}`:              "not a non-negative integer",
		`{"aud":{}}`:               "not a string or an array of strings",
		`{"a":1} {}`:               "data after the JSON object",
		`[]`:                       "not a JSON object",
		`{"a":tru}`:                "invalid JSON",
		`{"x":` + strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2) + `}`: "nesting too deep",
	} {
		_, err := parseClaims([]byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), "offset ") || !strings.HasSuffix(err.Error(), ": "+kind) {
			t.Errorf("parseClaims(%q) = %v, want offset …: %s", in, err, kind)
		}
	}
	if _, err := parseHeader([]byte(`{"crit":["b64"]}`)); err == nil || !strings.HasSuffix(err.Error(), errCritical.Error()) {
		t.Errorf("crit: %v", err)
	}
}

// TestParseAllocations: a token's own claims and header cost no allocation beyond the text.
func TestParseAllocations(t *testing.T) {
	claims := `{"iss":"https://auth.example.com","sub":"user_01","aud":"https://auth.example.com/mcp","client_id":"c1",` +
		`"scope":"mcp:tools orgs:read","exp":1900000000,"iat":1800000000,"nbf":1800000000,"jti":"abc","email":"a@example.com","org_id":"org_1","sid":"s","fam":"f"}`
	header := `{"alg":"ES256","typ":"at+jwt","kid":"0b5e2c7e-1111-2222-3333-444455556666"}`
	if n := testing.AllocsPerRun(100, func() {
		if p, err := parseClaimsText(claims); err != nil || p.missing() != "" || !p.hasAudience("https://auth.example.com/mcp") {
			t.Fatal(err)
		}
		if _, err := parseHeaderText(header); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func FuzzParseLikeReference(f *testing.F) {
	for _, in := range append(diffCases, nests()...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkHeaderLikeReference(t, data)
		checkClaimsLikeReference(t, data)
	})
}

// TestKnownHeaders: the headers the Verifier recognizes without parsing are exactly the
// Minter's for the keys of its set, and read as the general path reads them.
func TestKnownHeaders(t *testing.T) {
	kids := []string{"0b5e2c7e-1111-2222-3333-444455556666", "k<&>\"\\\u2028", ""}
	ks := &KeySet{ids: kids, keys: map[string]*ecdsa.PublicKey{}}
	v := NewVerifier(ks, testIssuer, 0)
	if len(v.headers) != len(kids) {
		t.Fatalf("%d known headers, want %d", len(v.headers), len(kids))
	}
	for _, kid := range kids {
		b64 := newHeader(kid).b64
		got, ok := v.knownHeader(b64)
		raw, err := base64.RawURLEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		want, err := parseHeader(raw)
		if !ok || err != nil || got != want || got != (joseHeader{alg: Algorithm, typ: TokenType, kid: kid}) {
			t.Errorf("kid %q: known %v %+v, parsed %+v (%v)", kid, ok, got, want, err)
		}
		for _, other := range []string{b64[:len(b64)-1], b64 + "A", strings.ToLower(b64), " " + b64} {
			if _, ok := v.knownHeader(other); ok {
				t.Errorf("kid %q: %q taken as a known header", kid, other)
			}
		}
	}
	if _, ok := NewVerifier(nil, testIssuer, 0).knownHeader(newHeader("").b64); ok {
		t.Error("a nil key set has known headers")
	}
}
