package oauth

import (
	"slices"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		name, raw string
		want      Scope
		ok        bool
	}{
		{"RFC 6749 §3.3 empty", "", nil, true},
		{"RFC 6749 §3.3 only spaces", "   ", nil, true},
		{"RFC 6749 §3.3 space-delimited", "mcp:tools orgs:read", Scope{"mcp:tools", "orgs:read"}, true},
		{"RFC 6749 §3.3 extra spaces dropped", "  mcp:tools   orgs:read ", Scope{"mcp:tools", "orgs:read"}, true},
		{"RFC 6749 §3.3 order kept, duplicates dropped", "b a b a", Scope{"b", "a"}, true},
		{"RFC 6749 §3.3 alphabet boundaries %x21 %x23 %x5B %x5D %x7E", "! # [ ] ~ !#$%&'()*+,-./:;<=>?@[]^_`{|}~", Scope{"!", "#", "[", "]", "~", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"}, true},
		{"RFC 6749 §3.3 tab is not a delimiter", "a\tb", nil, false},
		{"RFC 6749 §3.3 newline", "a\nb", nil, false},
		{"RFC 6749 §3.3 double quote %x22", "a\"b", nil, false},
		{"RFC 6749 §3.3 backslash %x5C", "a\\b", nil, false},
		{"RFC 6749 §3.3 DEL", "a\x7f", nil, false},
		{"RFC 6749 §3.3 non-ASCII", "tööls", nil, false},
		{"RFC 6749 §3.3 non-breaking space", "a\u00a0b", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseScope(tt.raw)
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseScope(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestScopeMethods(t *testing.T) {
	s := Scope{"mcp:tools", "orgs:read"}
	if got := s.String(); got != "mcp:tools orgs:read" { // RFC 6749 §3.3: space-delimited
		t.Errorf("String() = %q", got)
	}
	if got := Scope(nil).String(); got != "" {
		t.Errorf("empty String() = %q", got)
	}
	tests := []struct {
		name  string
		a, b  Scope
		want  bool
		which string
	}{
		{"RFC 6749 §3.3 subset", Scope{"orgs:read"}, s, true, "SubsetOf"},
		{"RFC 6749 §3.3 equal sets in another order", Scope{"orgs:read", "mcp:tools"}, s, true, "SubsetOf"},
		{"RFC 6749 §3.3 empty is a subset", nil, s, true, "SubsetOf"},
		{"RFC 6749 §3.3 extra token", Scope{"orgs:read", "admin"}, s, false, "SubsetOf"},
		{"RFC 6749 §3.3 tokens are case-sensitive", Scope{"MCP:tools"}, s, false, "SubsetOf"},
		{"RFC 6749 §3.3 nothing is a subset of empty", Scope{"a"}, nil, false, "SubsetOf"},
	}
	for _, tt := range tests {
		if got := tt.a.SubsetOf(tt.b); got != tt.want {
			t.Errorf("%s: %q.SubsetOf(%q) = %v", tt.name, tt.a, tt.b, got)
		}
	}
	if !s.Contains("orgs:read") || s.Contains("orgs") || s.Contains("") {
		t.Error("RFC 6749 §3.3: Contains must compare whole tokens")
	}
}
