package guard

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/oauth"
)

// The fresh-token path's allocation-light helpers must answer exactly as the general
// functions they stand for: parseScope as oauth.ParseScope (an invalid scope read as none)
// and Scope.String, bearerToken as BearerToken(AuthorizationValues(…)).

var scopeCases = []string{
	"", " ", "  ", "a", "a b", "mcp:tools orgs:read", " a", "a ", "a  b", "a b a", "a a", "b a b c a",
	"a\tb", "a\"b", "a\\b", "é", "a\x7f", "a\x00", "!#[]~", "a b\n", "x y z x y z", "a \x21 \x7e",
}

func checkScope(t *testing.T, raw string) {
	t.Helper()
	want, ok := oauth.ParseScope(raw)
	if !ok {
		want = nil
	}
	got, str := parseScope(raw)
	if !slices.Equal(got, want) || (got == nil) != (want == nil) || str != want.String() {
		t.Fatalf("parseScope(%q) = %q, %q; oauth.ParseScope gives %q (%v), %q", raw, got, str, want, ok, want.String())
	}
}

func TestParseScopeLikeOAuth(t *testing.T) {
	for _, raw := range scopeCases {
		checkScope(t, raw)
	}
	if n := testing.AllocsPerRun(100, func() { parseScope("mcp:tools orgs:read") }); n != 1 {
		t.Errorf("parseScope: %v allocations, want 1", n)
	}
}

func FuzzParseScope(f *testing.F) {
	for _, raw := range scopeCases {
		f.Add(raw)
	}
	f.Fuzz(checkScope)
}

func TestBearerTokenLikeBearerToken(t *testing.T) {
	for _, c := range []struct {
		headers map[string]string
		multi   map[string][]string
	}{
		{nil, nil},
		{map[string]string{"Authorization": "Bearer abc"}, nil},
		{map[string]string{"authorization": "Bearer abc", "Host": "x"}, nil},
		{map[string]string{"Authorization": "Bearer abc", "AUTHORIZATION": "Bearer def"}, nil},
		{map[string]string{"Authorization": "Basic abc"}, nil},
		{map[string]string{"Authorization": "Bearer abc"}, map[string][]string{"Host": {"x"}}},
		{nil, map[string][]string{"Authorization": {"Bearer abc"}}},
		{nil, map[string][]string{"Authorization": {}}},
		{nil, map[string][]string{"Authorization": {"Bearer abc", "Bearer abc"}}},
		{nil, map[string][]string{"Authorization": {"Bearer abc"}, "authorization": {"Bearer def"}}},
		{nil, map[string][]string{"Authorization": {"Bearer a b"}}},
		{map[string]string{"Authorization": "Bearer abc"}, map[string][]string{"Authorization": {"Bearer def"}}},
	} {
		want, wantErr := BearerToken(AuthorizationValues(c.headers, c.multi))
		got, err := authorizerBearer(c.headers, c.multi)
		if got != want || !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
			t.Errorf("authorizerBearer(%v, %v) = %q, %v; want %q, %v", c.headers, c.multi, got, err, want, wantErr)
		}
	}
	multi := map[string][]string{"Authorization": {"Bearer abc"}, "Host": {"x"}, "Accept": {"*/*"}}
	if n := testing.AllocsPerRun(100, func() { _, _ = authorizerBearer(nil, multi) }); n != 0 {
		t.Errorf("authorizerBearer: %v allocations, want 0", n)
	}
}

// authorizerBearer is how Handle reads a request's token: scanHeaders, then the token's
// b64token check (made on a cache miss; a cache hit is a token that passed it).
func authorizerBearer(headers map[string]string, multi map[string][]string) (string, error) {
	token, _, err := scanHeaders(headers, multi, nil)
	if err == nil && !oauth.IsB64Token(token) {
		return "", ErrMalformedCredential
	}
	return token, err
}

var bearerCases = []string{
	"", " ", "\t", "Bearer", "Bearer ", "Bearer  ", "bearer abc", "BEARER abc", "Bearer abc", " Bearer abc \t", "Bearer  abc",
	"Bearer\tabc", "BearerX abc", "Basic abc", "Bearer a.b.c", "Bearer a-b_c~d+e/f", "Bearer abc=", "Bearer abc==", "Bearer =",
	"Bearer abc=d", "Bearer a b", "Bearer a,b", "Bearer é", "Bearer a\x00", "Bearer abc\t", "Bearer abc ", "Bear", "Bearer\x00abc",
	"Bearer " + strings.Repeat("A", 900) + ".x",
}

func checkBearer(t *testing.T, v string) {
	t.Helper()
	want, wantErr := oauth.BearerToken([]string{v})
	got, err := authorizerBearer(nil, map[string][]string{"Authorization": {v}})
	if got != want || err != wantErr {
		t.Fatalf("authorizerBearer(%q) = %q, %v; oauth.BearerToken gives %q, %v", v, got, err, want, wantErr)
	}
}

func TestBearerValueLikeOAuth(t *testing.T) {
	for _, v := range bearerCases {
		checkBearer(t, v)
	}
	for c := range 256 {
		checkBearer(t, "Bearer a"+string(rune(c)))
		checkBearer(t, "Bearer a"+string([]byte{byte(c)}))
		checkBearer(t, "Bearer "+string([]byte{byte(c)})+"=")
	}
}

func FuzzBearerValue(f *testing.F) {
	for _, v := range bearerCases {
		f.Add(v)
	}
	f.Fuzz(checkBearer)
}
