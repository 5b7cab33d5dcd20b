package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
)

const issuer = "https://auth.example.com"

// env returns a getenv over vars, with ISSUER set unless vars overrides it.
func env(vars map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "ISSUER" {
			return issuer
		}
		return ""
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse(env(map[string]string{"SIGNING_KEY_ID": "alias/authbridge", "TABLE_NAME": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"RFC 8414 §2 issuer kept byte for byte", c.Issuer, issuer},
		{"RFC 9728 §2 default resource {ISSUER}/mcp", c.Resources, oauth.Resources{issuer + "/mcp"}},
		{"RFC 9728 §2 resource_name default", c.ResourceName, "Authbridge MCP"},
		{"RFC 8414 §2 scopes_supported default", c.Scopes, oauth.Scope{"mcp:tools", "orgs:read"}},
		{"RFC 6749 §3.3 default scope = supported", c.DefaultScope, oauth.Scope{"mcp:tools", "orgs:read"}},
		{"table name", c.TableName, "t"},
		{"ACCEPTED_KEY_IDS defaults to SIGNING_KEY_ID", c.AcceptedKeyIDs, []string{"alias/authbridge"}},
		{"MCP: short-lived access tokens, 15m", c.AccessTokenTTL, 15 * time.Minute},
		{"OAuth 2.1 §4.3 refresh family 720h", c.RefreshTokenTTL, 720 * time.Hour},
		{"refresh reuse grace 30s", c.RefreshReuseGrace, 30 * time.Second},
		{"RFC 6749 §4.1.2 code lifetime 5m", c.CodeTTL, 5 * time.Minute},
		{"MCP consent remembered 720h", c.ConsentTTL, 720 * time.Hour},
		{"unused registration 24h", c.UnusedClientTTL, 24 * time.Hour},
		{"WorkOS endpoint", c.WorkOSEndpoint, "https://api.workos.com"},
		{"issuer path at host root", c.IssuerPath(), ""},
		{"endpoint URL", c.Endpoint("/token"), issuer + "/token"},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s: got %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	p := c.Policy()
	if !slices.Equal(p.Resources, c.Resources) || !slices.Equal(p.Supported, c.Scopes) || !slices.Equal(p.DefaultScope, c.DefaultScope) {
		t.Errorf("Policy() = %+v does not carry the configuration", p)
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case oauth.Resources:
		return slices.Equal(a, b.(oauth.Resources))
	case oauth.Scope:
		return slices.Equal(a, b.(oauth.Scope))
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return a == b
}

func TestParseIssuer(t *testing.T) {
	tests := []struct {
		name, issuer string
		ok           bool
		path         string
	}{
		{"RFC 8414 §2 https host", "https://auth.example.com", true, ""},
		{"RFC 8414 §2 https with a path (API Gateway stage)", "https://abc.execute-api.us-east-1.amazonaws.com/Prod", true, "/Prod"},
		{"RFC 8414 §2 http for local development", "http://localhost:3000", true, ""},
		{"MCP: no trailing slash (issuer byte-identical)", "https://auth.example.com/", false, ""},
		{"MCP: no trailing slash after a path", "https://auth.example.com/Prod/", false, ""},
		{"RFC 8414 §2 no query", "https://auth.example.com?x=1", false, ""},
		{"RFC 8414 §2 no empty query either", "https://auth.example.com?", false, ""},
		{"RFC 8414 §2 no fragment", "https://auth.example.com#x", false, ""},
		{"RFC 8414 §2 no empty fragment either", "https://auth.example.com#", false, ""},
		{"RFC 8414 §2 required", "", false, ""},
		{"RFC 8414 §2 not relative", "/auth", false, ""},
		{"RFC 8414 §2 no host", "https:///auth", false, ""},
		{"RFC 8414 §2 http(s) only", "ftp://auth.example.com", false, ""},
		{"RFC 8414 §2 not a URL", "auth.example.com", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(env(map[string]string{"ISSUER": tt.issuer}))
			if (err == nil) != tt.ok {
				t.Fatalf("ISSUER=%q: err = %v, want ok=%v", tt.issuer, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "ISSUER") {
				t.Fatalf("error does not name ISSUER: %v", err)
			}
			if tt.ok && (c.Issuer != tt.issuer || c.IssuerPath() != tt.path) {
				t.Fatalf("issuer %q path %q", c.Issuer, c.IssuerPath())
			}
		})
	}
}

func TestParseProtectedResources(t *testing.T) {
	tests := []struct {
		name, raw string
		want      oauth.Resources
		ok        bool
	}{
		{"RFC 8707 §2 canonicalized (case, default port, trailing slash)", "HTTPS://MCP.Example.com:443/mcp/", oauth.Resources{"https://mcp.example.com/mcp"}, true},
		{"RFC 8707 §2 comma-separated, spaces trimmed, empty entries skipped", " https://a.example/mcp , ,http://localhost:8080/mcp/ ", oauth.Resources{"https://a.example/mcp", "http://localhost:8080/mcp"}, true},
		{"RFC 8707 §2 fragment refused", "https://a.example/mcp#x", nil, false},
		{"RFC 8707 §2 relative refused", "/mcp", nil, false},
		{"RFC 8707 §2 one bad entry refuses the list", "https://a.example/mcp,urn:x", nil, false},
		{"RFC 8707 §2 only separators: empty", " , ", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(env(map[string]string{"PROTECTED_RESOURCES": tt.raw}))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "PROTECTED_RESOURCES") {
				t.Fatalf("error does not name PROTECTED_RESOURCES: %v", err)
			}
			if tt.ok && !slices.Equal(c.Resources, tt.want) {
				t.Fatalf("resources %q, want %q", c.Resources, tt.want)
			}
		})
	}
	// MCP authorization: resources are HTTPS, http only on a loopback host (local development).
	for raw, ok := range map[string]bool{
		"https://crm.example.com/mcp":     true,
		"http://127.0.0.1:5310/mcp":       true,
		"http://localhost:5310/mcp":       true,
		"http://[::1]:5310/mcp":           true,
		"http://crm.example.com/mcp":      false,
		"http://127.0.0.1.nip.io/mcp":     false,
		"http://localhost.evil.com/mcp":   false,
		"http://10.0.0.1/mcp":             false,
		"https://a.example/mcp,http://b/": false, // one bad entry refuses the list
	} {
		_, err := Parse(env(map[string]string{"PROTECTED_RESOURCES": raw}))
		if (err == nil) != ok {
			t.Errorf("MCP: PROTECTED_RESOURCES=%q: err = %v, want ok=%v", raw, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "PROTECTED_RESOURCES") {
			t.Errorf("error does not name PROTECTED_RESOURCES: %v", err)
		}
	}
	// RFC 9728 §3.1: resources whose metadata would be served at one URL are refused (the
	// metadata of a resource on another host is at {ISSUER}/.well-known/oauth-protected-resource/<host><path>).
	for _, raw := range []string{
		"https://crm.example.com/mcp,http://crm.example.com/mcp", // refused anyway (http), and colliding
		"http://127.0.0.1:5310/mcp,https://127.0.0.1:5310/mcp",
		issuer + "/crm.example.com/mcp,https://crm.example.com/mcp",
	} {
		if _, err := Parse(env(map[string]string{"PROTECTED_RESOURCES": raw})); err == nil {
			t.Errorf("RFC 9728 §3.1: PROTECTED_RESOURCES=%q shares a metadata URL, want an error", raw)
		}
	}
	// Companion mode: the issuer's own /mcp and another host's /mcp coexist; a resource listed
	// twice is one resource.
	c, err := Parse(env(map[string]string{"PROTECTED_RESOURCES": issuer + "/mcp,https://crm.example.com/mcp," + issuer + "/mcp/"}))
	if err != nil || !slices.Equal(c.Resources, oauth.Resources{issuer + "/mcp", "https://crm.example.com/mcp", issuer + "/mcp"}) {
		t.Fatalf("companion resources: %q, %v", c.Resources, err)
	}

	// The default follows the issuer, path included.
	c, err = Parse(env(map[string]string{"ISSUER": "https://X.example.com/Prod"}))
	if err != nil || !slices.Equal(c.Resources, oauth.Resources{"https://x.example.com/Prod/mcp"}) {
		t.Fatalf("RFC 9728 §3: default resource %q, %v", c.Resources, err)
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name, supported, def string
		wantSupported        oauth.Scope
		wantDefault          oauth.Scope
		ok                   bool
	}{
		// (mcp:tools stays in the custom lists: REQUIRED_SCOPES defaults to it.)
		{"RFC 6749 §3.3 custom list, default = all", "mcp:tools b c", "", oauth.Scope{"mcp:tools", "b", "c"}, oauth.Scope{"mcp:tools", "b", "c"}, true},
		{"RFC 6749 §3.3 DEFAULT_SCOPES subset", "mcp:tools b c", "c mcp:tools", oauth.Scope{"mcp:tools", "b", "c"}, oauth.Scope{"c", "mcp:tools"}, true},
		{"RFC 6749 §3.3 DEFAULT_SCOPES outside SCOPES_SUPPORTED", "mcp:tools b", "b z", nil, nil, false},
		{"RFC 6749 §3.3 DEFAULT_SCOPES outside the default list", "", "admin", nil, nil, false},
		{"RFC 6749 §3.3 DEFAULT_SCOPES malformed", "mcp:tools b", "mcp:tools \"b", nil, nil, false},
		{"RFC 6749 §3.3 SCOPES_SUPPORTED malformed", "a\\b", "", nil, nil, false},
		{"RFC 6749 §3.3 SCOPES_SUPPORTED only spaces", "   ", "", nil, nil, false},
		{"MCP 2026-07-28 SEP-2207 offline_access not listed", "mcp:tools offline_access", "", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(env(map[string]string{"SCOPES_SUPPORTED": tt.supported, "DEFAULT_SCOPES": tt.def}))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (!slices.Equal(c.Scopes, tt.wantSupported) || !slices.Equal(c.DefaultScope, tt.wantDefault)) {
				t.Fatalf("scopes %q default %q", c.Scopes, c.DefaultScope)
			}
		})
	}
}

func TestParseDurations(t *testing.T) {
	tests := []struct {
		name, key, val string
		want           time.Duration
		ok             bool
	}{
		{"RFC 6749 §4.1.2 CODE_TTL 1m", "CODE_TTL", "1m", time.Minute, true},
		{"RFC 6749 §4.1.2 CODE_TTL 5m (the maximum)", "CODE_TTL", "5m", 5 * time.Minute, true},
		{"RFC 6749 §4.1.2 CODE_TTL over 5m refused", "CODE_TTL", "5m1s", 0, false},
		{"RFC 6749 §4.1.2 CODE_TTL 10m refused", "CODE_TTL", "10m", 0, false},
		{"CODE_TTL zero refused", "CODE_TTL", "0s", 0, false},
		{"CODE_TTL negative refused", "CODE_TTL", "-1m", 0, false},
		{"CODE_TTL without unit refused", "CODE_TTL", "300", 0, false},
		{"CODE_TTL not a duration", "CODE_TTL", "five minutes", 0, false},
		{"ACCESS_TOKEN_TTL 1h", "ACCESS_TOKEN_TTL", "1h", time.Hour, true},
		{"ACCESS_TOKEN_TTL 1s (the minimum)", "ACCESS_TOKEN_TTL", "1s", time.Second, true},
		{"ACCESS_TOKEN_TTL below 1s refused (15ms typo for 15m)", "ACCESS_TOKEN_TTL", "15ms", 0, false},
		{"ACCESS_TOKEN_TTL 24h (the maximum)", "ACCESS_TOKEN_TTL", "24h", 24 * time.Hour, true},
		{"ACCESS_TOKEN_TTL over 24h refused", "ACCESS_TOKEN_TTL", "25h", 0, false},
		{"REFRESH_TOKEN_TTL 8760h (the maximum)", "REFRESH_TOKEN_TTL", "8760h", 8760 * time.Hour, true},
		{"REFRESH_TOKEN_TTL over a year refused", "REFRESH_TOKEN_TTL", "8761h", 0, false},
		{"REFRESH_REUSE_GRACE may be zero (no grace)", "REFRESH_REUSE_GRACE", "0s", 0, true},
		{"REFRESH_REUSE_GRACE 1m (the maximum)", "REFRESH_REUSE_GRACE", "1m", time.Minute, true},
		{"REFRESH_REUSE_GRACE over 1m refused", "REFRESH_REUSE_GRACE", "61s", 0, false},
		{"REFRESH_REUSE_GRACE negative refused", "REFRESH_REUSE_GRACE", "-1s", 0, false},
		{"CONSENT_TTL over a year refused", "CONSENT_TTL", "8761h", 0, false},
		{"CONSENT_TTL 1h", "CONSENT_TTL", "1h", time.Hour, true},
		{"UNUSED_CLIENT_TTL 48h", "UNUSED_CLIENT_TTL", "48h", 48 * time.Hour, true},
		{"UNUSED_CLIENT_TTL zero refused", "UNUSED_CLIENT_TTL", "0", 0, false},
	}
	get := func(c Config, key string) time.Duration {
		return map[string]time.Duration{
			"CODE_TTL": c.CodeTTL, "ACCESS_TOKEN_TTL": c.AccessTokenTTL, "REFRESH_TOKEN_TTL": c.RefreshTokenTTL,
			"REFRESH_REUSE_GRACE": c.RefreshReuseGrace, "CONSENT_TTL": c.ConsentTTL, "UNUSED_CLIENT_TTL": c.UnusedClientTTL,
		}[key]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(env(map[string]string{tt.key: tt.val}))
			if (err == nil) != tt.ok {
				t.Fatalf("%s=%q: err = %v, want ok=%v", tt.key, tt.val, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("error does not name %s: %v", tt.key, err)
			}
			if tt.ok && get(c, tt.key) != tt.want {
				t.Fatalf("%s = %v, want %v", tt.key, get(c, tt.key), tt.want)
			}
		})
	}
}

func TestParseKeysAndWorkOS(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		accepted []string
	}{
		{"rotation: ACCEPTED_KEY_IDS listed, spaces trimmed", map[string]string{"SIGNING_KEY_ID": "k2", "ACCEPTED_KEY_IDS": " k2 , k1,,"}, []string{"k2", "k1"}},
		{"ACCEPTED_KEY_IDS defaults to SIGNING_KEY_ID", map[string]string{"SIGNING_KEY_ID": "arn:aws:kms:eu-west-1:1:key/abc"}, []string{"arn:aws:kms:eu-west-1:1:key/abc"}},
		{"no keys configured", map[string]string{}, nil},
	}
	for _, tt := range tests {
		c, err := Parse(env(tt.vars))
		if err != nil || !slices.Equal(c.AcceptedKeyIDs, tt.accepted) {
			t.Errorf("%s: AcceptedKeyIDs %q, %v; want %q", tt.name, c.AcceptedKeyIDs, err, tt.accepted)
		}
	}
	c, err := Parse(env(map[string]string{"WORKOS_ENDPOINT": "http://localhost:9000//", "RESOURCE_NAME": "Acme MCP",
		"WORKOS_CLIENT_ID": "client_1", "WORKOS_API_KEY": "sk_test", "WORKOS_API_KEY_SECRET_ARN": "arn:secret"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkOSEndpoint != "http://localhost:9000" || c.ResourceName != "Acme MCP" || c.WorkOSClientID != "client_1" ||
		c.WorkOSAPIKey != "sk_test" || c.WorkOSAPIKeySecretARN != "arn:secret" {
		t.Errorf("WorkOS settings not read: %+v", c)
	}
}

// TestParseReportsEveryError: one run names every bad variable, so a deploy is fixed in one go.
func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse(env(map[string]string{"ISSUER": "https://a.example/", "CODE_TTL": "1h", "DEFAULT_SCOPES": "nope"}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"ISSUER", "CODE_TTL", "DEFAULT_SCOPES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("ISSUER", "https://env.example.com")
	t.Setenv("CODE_TTL", "2m")
	c, err := FromEnv()
	if err != nil || c.Issuer != "https://env.example.com" || c.CodeTTL != 2*time.Minute {
		t.Fatalf("FromEnv: %+v, %v", c, err)
	}
}

// DYNAMIC_REGISTRATION: on by default, off turns RFC 7591 registration off, anything else
// stops the cold start.
func TestParseDynamicRegistration(t *testing.T) {
	for value, want := range map[string]bool{"": false, "on": false, "off": true} {
		c, err := Parse(env(map[string]string{"DYNAMIC_REGISTRATION": value}))
		if err != nil || c.RegistrationOff != want {
			t.Errorf("DYNAMIC_REGISTRATION=%q: RegistrationOff %v, err %v; want %v", value, c.RegistrationOff, err, want)
		}
	}
	for _, value := range []string{"Off", "false", "0", "no"} {
		if _, err := Parse(env(map[string]string{"DYNAMIC_REGISTRATION": value})); err == nil {
			t.Errorf("DYNAMIC_REGISTRATION=%q accepted", value)
		}
	}
}
