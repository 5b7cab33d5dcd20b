package tokens

import (
	"encoding/json"
	"testing"
)

// FuzzParseClaims checks the hand-written scanner against encoding/json: whatever it accepts
// is valid JSON (RFC 8259) with no duplicate top-level member, and the string claims it
// reads are the values encoding/json reads.
func FuzzParseClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"https://a","sub":"u","aud":["x","y"],"exp":1,"iat":2,"nbf":3,"jti":"j","client_id":"c","scope":"a b"}`,
		`{"sub":"\u00e9\ud83d\ude00\ud800x\\\"\/\b\f\n\r\t","extra":{"a":[1,-2.5e+3,true,false,null,{}]},"email":"a@b"}`,
		`{"a":1,"a":2}`, `{"exp":1e3}`, `{"exp":-0}`, ` { } `, `{"x":[}`, `{"sub":"a"} x`, `{"\u0073ub":"v"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseClaims(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted a non-object %q: %v", data, err)
		}
		for name, got := range map[string]string{"iss": p.Issuer, "sub": p.Subject, "client_id": p.ClientID, "scope": p.Scope,
			"jti": p.JTI, "email": p.Email, "org_id": p.OrgID, "sid": p.SessionID} {
			raw, ok := m[name]
			if !ok {
				continue
			}
			var want string
			if err := json.Unmarshal(raw, &want); err != nil || want != got {
				t.Fatalf("%s = %q, encoding/json reads %q (%v) in %q", name, got, want, err, data)
			}
		}
	})
}
