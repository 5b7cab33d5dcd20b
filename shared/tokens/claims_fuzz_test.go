package tokens

import (
	"encoding/json"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzParseClaims checks parseClaims against encoding/json: whatever it accepts is one valid
// JSON object (RFC 8259) without duplicate names at any depth or invalid UTF-8 (RFC 7493
// §2.1, §2.3), and the claims it reads are the values encoding/json reads, with the JSON
// type each claim must have.
func FuzzParseClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"https://a","sub":"u","aud":["x","y"],"exp":1,"iat":2,"nbf":3,"jti":"j","client_id":"c","scope":"a b"}`,
		`{"sub":"\u00e9\ud83d\ude00\ud800x\\\"\/\b\f\n\r\t","extra":{"a":[1,-2.5e+3,true,false,null,{}]},"email":"a@b"}`,
		`{"a":1,"a":2}`, `{"exp":1e3}`, `{"exp":-0}`, ` { } `, `{"x":[}`, `{"sub":"a"} x`, `{"\u0073ub":"v"}`,
		`{"x":{"a":1,"a":2}}`, `{"sub":null}`, `{"aud":"x"}`, `{"exp":999999999999999999}`, `{"exp":1000000000000000000}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseClaims(data)
		if err != nil {
			return
		}
		if !json.Valid(data) || !jsontext.Value(data).IsValid() {
			t.Fatalf("accepted invalid or non-strict JSON %q", data)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted a non-object %q: %v", data, err)
		}
		for name, got := range map[string]string{"iss": p.Issuer, "sub": p.Subject, "client_id": p.ClientID, "scope": p.Scope,
			"jti": p.JTI, "email": p.Email, "org_id": p.OrgID, "sid": p.SessionID, "fam": p.FamilyID} {
			raw, ok := m[name]
			if !ok {
				continue
			}
			var want *string
			if err := json.Unmarshal(raw, &want); err != nil || want == nil || *want != got {
				t.Fatalf("%s = %q, encoding/json reads %q (%v) in %q", name, got, raw, err, data)
			}
		}
		for name, got := range map[string]int64{"exp": p.ExpiresAt, "iat": p.IssuedAt, "nbf": p.NotBefore} {
			raw, ok := m[name]
			if !ok {
				continue
			}
			var want uint64
			if err := json.Unmarshal(raw, &want); err != nil || want != uint64(got) || want >= 1e18 {
				t.Fatalf("%s = %d, encoding/json reads %s (%v) in %q", name, got, raw, err, data)
			}
		}
		if raw, ok := m["aud"]; ok {
			var one string
			var many []string
			if json.Unmarshal(raw, &one) == nil && raw[0] == '"' {
				many = []string{one}
			} else if err := json.Unmarshal(raw, &many); err != nil || many == nil {
				t.Fatalf("aud = %q, encoding/json reads %s (%v) in %q", p.audiences(), raw, err, data)
			}
			if len(many) != len(p.audiences()) {
				t.Fatalf("aud = %q, encoding/json reads %q in %q", p.audiences(), many, data)
			}
			for i := range many {
				if many[i] != p.audiences()[i] {
					t.Fatalf("aud = %q, encoding/json reads %q in %q", p.audiences(), many, data)
				}
			}
		}
	})
}

// FuzzParseHeader checks parseHeader the same way: what it accepts is strict JSON without a
// crit member (RFC 7515 §4.1.11), and alg, typ and kid are the strings encoding/json reads.
func FuzzParseHeader(f *testing.F) {
	for _, seed := range []string{
		`{"alg":"ES256","typ":"at+jwt","kid":"k"}`, `{"alg":"ES256","crit":["b64"]}`, `{"crit":null}`,
		`{"alg":"ES256","typ":"at+jwt","kid":"k","alg":"none"}`, `{"ALG":"none"}`, `{"kid":123}`, `null`, `["ES256"]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseHeader(data)
		if err != nil {
			return
		}
		if !json.Valid(data) || !jsontext.Value(data).IsValid() {
			t.Fatalf("accepted invalid or non-strict JSON %q", data)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted a non-object %q: %v", data, err)
		}
		if _, ok := m["crit"]; ok {
			t.Fatalf("accepted crit in %q", data)
		}
		for name, got := range map[string]string{"alg": h.alg, "typ": h.typ, "kid": h.kid} {
			raw, ok := m[name]
			if !ok {
				continue
			}
			var want *string
			if err := json.Unmarshal(raw, &want); err != nil || want == nil || *want != got {
				t.Fatalf("%s = %q, encoding/json reads %s (%v) in %q", name, got, raw, err, data)
			}
		}
	})
}
