package config_test

import (
	"slices"
	"testing"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/oauth"
)

func parseMCP(vars map[string]string) (config.Config, error) {
	return config.Parse(func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "ISSUER" {
			return "https://auth.example.com/Prod"
		}
		return ""
	})
}

// REQUIRED_SCOPES and ALLOWED_ORIGINS (the authorizer and the MCP function).
func TestRequiredScopesAndOrigins(t *testing.T) {
	c, err := parseMCP(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.RequiredScopes, oauth.Scope{"mcp:tools"}) || c.AllowedOrigins != nil || c.IssuerOrigin() != "https://auth.example.com" {
		t.Fatalf("defaults: %v %v %q", c.RequiredScopes, c.AllowedOrigins, c.IssuerOrigin())
	}
	c, err = parseMCP(map[string]string{"REQUIRED_SCOPES": "mcp:tools orgs:read", "ALLOWED_ORIGINS": "http://localhost:6274, HTTPS://App.Example.com:443/"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AllowedOrigins, []string{"http://localhost:6274", "https://app.example.com"}) || len(c.RequiredScopes) != 2 {
		t.Fatalf("%v %v", c.AllowedOrigins, c.RequiredScopes)
	}
	for name, vars := range map[string]map[string]string{
		"scope not supported": {"REQUIRED_SCOPES": "admin"},
		"bad scope token":     {"REQUIRED_SCOPES": `mcp"tools`},
		"origin with a path":  {"ALLOWED_ORIGINS": "https://app.example.com/x"},
		"null origin":         {"ALLOWED_ORIGINS": "null"},
		"not http(s)":         {"ALLOWED_ORIGINS": "chrome-extension://abc"},
		"wildcard":            {"ALLOWED_ORIGINS": "*"},
	} {
		if _, err := parseMCP(vars); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestCanonicalOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.example": "https://a.example", "https://A.example:443": "https://a.example", "http://a.example:80/": "http://a.example",
		"http://127.0.0.1:3000": "http://127.0.0.1:3000", "http://[::1]:8080": "http://[::1]:8080",
		"null": "", "https://a.example/p": "", "https://u@a.example": "", "https://a.example?q": "", "ftp://a.example": "", "": "",
	} {
		got, ok := config.CanonicalOrigin(in)
		if got != want || ok != (want != "") {
			t.Errorf("CanonicalOrigin(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}
