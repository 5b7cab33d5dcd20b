package tokens

import (
	"strings"
	"testing"
)

// TestParseClaimsRules pins the decoder's decisions that differ from, or go beyond,
// encoding/json, including those the old hand-written scanner made differently.
func TestParseClaimsRules(t *testing.T) {
	nest := func(open, inner, close string, n int) string {
		return `{"x":` + strings.Repeat(open, n) + inner + strings.Repeat(close, n) + `}`
	}
	for in, accept := range map[string]bool{
		`{"sub":"u","x":{"a":1,"a":2}}`:     false, // RFC 7493 §2.3: duplicates at any depth
		`{"aud":"x","a\u0075d":"y"}`:        false, // duplicate after unescaping
		`{"sub":"\ud800x"}`:                 false, // RFC 7493 §2.1: unpaired surrogate
		`{"sub":"\ud83d\ude00"}`:            true,
		nest("[", "1", "]", maxDepth):       true,
		nest("[", "1", "]", maxDepth+1):     false,
		nest("[", "", "]", maxDepth+1):      true, // as the old scanner: the empty array at depth 32 holds no value
		nest(`{"a":`, "1", "}", maxDepth+1): false,
		`{"exp":999999999999999999}`:        true,
		`{"exp":1000000000000000000}`:       false,
		`{"exp":0}`:                         true,
		`{"exp":-0}`:                        false,
		`{"exp":1.0}`:                       false,
		`{"exp":1E3}`:                       false,
		`{"exp":"1"}`:                       false,
		`{"exp":null}`:                      false,
		`{"email":null}`:                    false,
		`{"aud":[]}`:                        true,
		`{"aud":["a",null]}`:                false,
		`{"aud":null}`:                      false,
		`{"SUB":"x","Exp":"not a date"}`:    true, // case-sensitive: unknown members
		`{"sub":"x"}{}`:                     false,
		`{"sub":"x"}` + " \t\r\n":           true,
		`{"sub":"x"}` + "\v":                false,
		"{\"sub\":\"x\xff\"}":               false,
		`{"x":[1,]}`:                        false,
		`null`:                              false,
		``:                                  false,
	} {
		_, err := parseClaims([]byte(in))
		if (err == nil) != accept {
			t.Errorf("parseClaims(%q) error %v, want accepted %v", in, err, accept)
		}
	}
	p, err := parseClaims([]byte(`{"SUB":"admin","sub":"u","aud":"x","exp":5}`))
	if err != nil || p.Subject != "u" || len(p.audiences()) != 1 || p.audiences()[0] != "x" || p.ExpiresAt != 5 || p.has != hasSub|hasExp {
		t.Errorf("got %+v, %v", p, err)
	}
}

func TestParseHeaderRules(t *testing.T) {
	for in, accept := range map[string]bool{
		`{"alg":"ES256","typ":"at+jwt","kid":"k"}`:    true,
		`{"alg":"ES256","crit":[]}`:                   false, // RFC 7515 §4.1.11
		`{"alg":"ES256","crit":null}`:                 false,
		`{"alg":"ES256","x":{"crit":["b64"]}}`:        true, // only the header's own crit
		`{"alg":"ES256","alg":"none"}`:                false,
		`{"alg":null}`:                                false,
		`{"ALG":"none","alg":"ES256","Kid":1,"x":[]}`: true,
		`["ES256"]`: false,
	} {
		_, err := parseHeader([]byte(in))
		if (err == nil) != accept {
			t.Errorf("parseHeader(%q) error %v, want accepted %v", in, err, accept)
		}
	}
}

// TestParseErrorsOmitContent: errors name a kind and an offset, never a member name or value.
func TestParseErrorsOmitContent(t *testing.T) {
	for _, in := range []string{
		`{"secret1":1,"secret1":2}`, `{"sub":"secret1"} {"secret1":0}`, `{"exp":"secret1"}`,
		`{"exp":1e99999}`, `{"sub":"secret1\x`, `{"secret1":tru}`, `{"aud":["secret1",7]}`,
		`{"secret1":` + strings.Repeat("[", 40) + `0` + strings.Repeat("]", 40) + `}`,
	} {
		_, err := parseClaims([]byte(in))
		if err == nil || strings.Contains(err.Error(), "secret1") || strings.Contains(err.Error(), "99999") {
			t.Errorf("parseClaims(%q) = %v", in, err)
		}
	}
}
