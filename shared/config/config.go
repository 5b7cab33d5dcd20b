// Package config reads Authbridge's configuration from the environment that template.yaml
// (or the local stack) gives each function. Every value is listed in the README.
package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
)

// Config is the whole configuration; each function uses the part it needs.
type Config struct {
	Issuer       string          // ISSUER: the authorization server's identifier, no trailing slash
	Resources    oauth.Resources // PROTECTED_RESOURCES: comma-separated; default {ISSUER}/mcp
	ResourceName string          // RESOURCE_NAME: shown by clients (RFC 9728 resource_name)
	Scopes       oauth.Scope     // SCOPES_SUPPORTED: space-separated
	DefaultScope oauth.Scope     // DEFAULT_SCOPES: granted when a client asks for none

	// RequiredScopes (REQUIRED_SCOPES, default "mcp:tools") must all be in a token's scope for
	// any request to a protected MCP route; tools may require more. One list for every route,
	// because the gateway's 403 challenge that names them is a static per-stack value.
	RequiredScopes oauth.Scope
	// AllowedOrigins (ALLOWED_ORIGINS, comma-separated scheme://host[:port]) are the browser
	// origins allowed to call the MCP endpoint besides the issuer's own (MCP transport:
	// Origin validation against DNS rebinding). Requests without Origin are not affected.
	AllowedOrigins []string
	// FrontDoors (FRONT_DOOR_N_RESOURCE, _UPSTREAM, _SCOPES, _TOOL_SCOPES for N = 1..3) are the
	// existing MCP servers API Gateway proxies to behind the authorizer (docs/front-door.md).
	FrontDoors []FrontDoor

	TableName      string   // TABLE_NAME
	SigningKeyID   string   // SIGNING_KEY_ID: KMS key id, ARN or alias the token function signs with
	AcceptedKeyIDs []string // ACCEPTED_KEY_IDS: comma-separated KMS keys whose tokens are accepted (rotation)

	AccessTokenTTL    time.Duration // ACCESS_TOKEN_TTL, default 15m
	RefreshTokenTTL   time.Duration // REFRESH_TOKEN_TTL, default 720h (30 days, absolute per family)
	RefreshReuseGrace time.Duration // REFRESH_REUSE_GRACE, default 30s
	CodeTTL           time.Duration // CODE_TTL, default 5m (at most 5m)
	ConsentTTL        time.Duration // CONSENT_TTL, default 720h
	UnusedClientTTL   time.Duration // UNUSED_CLIENT_TTL, default 24h
	// RegistrationOff (DYNAMIC_REGISTRATION=off; default on) turns RFC 7591 registration
	// off, which MCP 2026-07-28 deprecates in favour of Client ID Metadata Documents: the
	// metadata names no registration_endpoint and the endpoint answers 404.
	RegistrationOff    bool
	AuthorizerCacheTTL time.Duration // not read here: the gateway's cache is a template parameter
	ClockLeeway        time.Duration // CLOCK_LEEWAY, default 30s, at most 60s: skew tolerated on exp/nbf

	WorkOSEndpoint        string // WORKOS_ENDPOINT, default https://api.workos.com
	WorkOSClientID        string // WORKOS_CLIENT_ID
	WorkOSAPIKey          string // WORKOS_API_KEY: local development only
	WorkOSAPIKeySecretARN string // WORKOS_API_KEY_SECRET_ARN: Secrets Manager secret holding the key (AWS)

	// The WorkOS webhook signing secret (the webhook function); both empty: webhooks are off.
	WorkOSWebhookSecret          string // WORKOS_WEBHOOK_SECRET: local development only
	WorkOSWebhookSecretSecretARN string // WORKOS_WEBHOOK_SECRET_ARN: Secrets Manager secret holding it (AWS)
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Parse(os.Getenv) }

// Parse reads the configuration through getenv, applying defaults and checking values.
func Parse(getenv func(string) string) (Config, error) {
	c := Config{
		ResourceName:          or(getenv("RESOURCE_NAME"), "Authbridge MCP"),
		TableName:             getenv("TABLE_NAME"),
		SigningKeyID:          getenv("SIGNING_KEY_ID"),
		WorkOSEndpoint:        strings.TrimRight(or(getenv("WORKOS_ENDPOINT"), "https://api.workos.com"), "/"),
		WorkOSClientID:        getenv("WORKOS_CLIENT_ID"),
		WorkOSAPIKey:          getenv("WORKOS_API_KEY"),
		WorkOSAPIKeySecretARN: getenv("WORKOS_API_KEY_SECRET_ARN"),

		WorkOSWebhookSecret:          getenv("WORKOS_WEBHOOK_SECRET"),
		WorkOSWebhookSecretSecretARN: getenv("WORKOS_WEBHOOK_SECRET_ARN"),
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	c.Issuer = getenv("ISSUER")
	if u, err := url.Parse(c.Issuer); c.Issuer == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") ||
		strings.ContainsAny(c.Issuer, "?#") || strings.HasSuffix(c.Issuer, "/") { // "?" and "#" alone too
		// RFC 8414 §2: an https URL with no query or fragment; no trailing slash so the
		// issuer is byte-identical everywhere it appears.
		fail("ISSUER must be an absolute http(s) URL without query, fragment or trailing slash, got %q", c.Issuer)
	}

	for _, raw := range splitList(or(getenv("PROTECTED_RESOURCES"), c.Issuer+"/mcp"), ",") {
		res, ok := oauth.CanonicalResource(raw)
		if !ok {
			fail("PROTECTED_RESOURCES: %q is not an absolute http(s) URL", raw)
			continue
		}
		if !oauth.SecureResource(res) { // MCP authorization: HTTPS, or http on loopback only
			fail("PROTECTED_RESOURCES: %q must use https (http only on 127.0.0.1, ::1 or localhost)", raw)
			continue
		}
		c.Resources = append(c.Resources, res)
	}
	// RFC 9728 §3.1: each resource's metadata has its own URL; two resources that would share
	// one (http and https of one host, a path spelling another host) cannot both be served.
	seen := map[string]string{}
	for _, res := range c.Resources {
		p := oauth.ResourceMetadataPath(c.Issuer, res)
		if other, dup := seen[p]; dup && other != res {
			fail("PROTECTED_RESOURCES: %q and %q would share the metadata URL {ISSUER}%s", other, res, p)
		}
		seen[p] = res
	}
	if len(c.Resources) == 0 {
		fail("PROTECTED_RESOURCES is empty")
	}

	var ok bool
	if c.Scopes, ok = oauth.ParseScope(or(getenv("SCOPES_SUPPORTED"), "mcp:tools orgs:read")); !ok || len(c.Scopes) == 0 {
		fail("SCOPES_SUPPORTED must be a space-separated list of scope tokens")
	}
	switch or(getenv("DYNAMIC_REGISTRATION"), "on") {
	case "on":
	case "off":
		c.RegistrationOff = true
	default:
		fail("DYNAMIC_REGISTRATION must be on or off")
	}
	// MCP authorization 2026-07-28 (SEP-2207): offline_access SHOULD NOT be in the resource
	// metadata or a challenge; refresh tokens go to clients that register the refresh_token
	// grant, so Authbridge does not list it at all (docs/decisions.md "Scopes in challenges").
	if c.Scopes.Contains("offline_access") {
		fail("SCOPES_SUPPORTED must not list offline_access: refresh tokens go to clients that register the refresh_token grant")
	}
	if c.DefaultScope, ok = oauth.ParseScope(or(getenv("DEFAULT_SCOPES"), c.Scopes.String())); !ok || !c.DefaultScope.SubsetOf(c.Scopes) {
		fail("DEFAULT_SCOPES must be a subset of SCOPES_SUPPORTED")
	}

	if c.RequiredScopes, ok = oauth.ParseScope(or(getenv("REQUIRED_SCOPES"), "mcp:tools")); !ok || len(c.RequiredScopes) == 0 || !c.RequiredScopes.SubsetOf(c.Scopes) {
		fail("REQUIRED_SCOPES must be a non-empty subset of SCOPES_SUPPORTED")
	}
	for _, raw := range splitList(getenv("ALLOWED_ORIGINS"), ",") {
		origin, ok := CanonicalOrigin(raw)
		if !ok {
			fail("ALLOWED_ORIGINS: %q is not an origin (scheme://host[:port])", raw)
			continue
		}
		c.AllowedOrigins = append(c.AllowedOrigins, origin)
	}

	c.parseFrontDoors(getenv, fail)

	c.AcceptedKeyIDs = splitList(getenv("ACCEPTED_KEY_IDS"), ",")
	if len(c.AcceptedKeyIDs) == 0 && c.SigningKeyID != "" {
		c.AcceptedKeyIDs = []string{c.SigningKeyID}
	}

	durations := []struct {
		name     string
		dst      *time.Duration
		def, max time.Duration
	}{
		{"ACCESS_TOKEN_TTL", &c.AccessTokenTTL, 15 * time.Minute, 24 * time.Hour},
		{"REFRESH_TOKEN_TTL", &c.RefreshTokenTTL, 720 * time.Hour, 8760 * time.Hour},
		{"REFRESH_REUSE_GRACE", &c.RefreshReuseGrace, 30 * time.Second, time.Minute},
		{"CODE_TTL", &c.CodeTTL, 5 * time.Minute, 5 * time.Minute}, // ≤ 5 minutes: docs/decisions.md
		{"CONSENT_TTL", &c.ConsentTTL, 720 * time.Hour, 8760 * time.Hour},
		{"UNUSED_CLIENT_TTL", &c.UnusedClientTTL, 24 * time.Hour, 8760 * time.Hour},
		{"CLOCK_LEEWAY", &c.ClockLeeway, 30 * time.Second, time.Minute}, // ≤ 60 s: docs/decisions.md
	}
	for _, d := range durations {
		*d.dst = d.def
		raw := getenv(d.name)
		if raw == "" {
			continue
		}
		v, err := time.ParseDuration(raw)
		if err != nil || v < 0 || v > d.max || (v < time.Second && !(v == 0 && (d.name == "REFRESH_REUSE_GRACE" || d.name == "CLOCK_LEEWAY"))) {
			fail("%s must be a duration between 1s and %s, got %q", d.name, d.max, raw)
			continue
		}
		*d.dst = v
	}

	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// Policy is the part of the configuration that authorization and token requests are checked against.
func (c Config) Policy() oauth.Policy {
	return oauth.Policy{Resources: c.Resources, Supported: c.Scopes, DefaultScope: c.DefaultScope}
}

// IssuerPath is the path part of the issuer ("/Prod" for a stage URL, "" at a host root).
func (c Config) IssuerPath() string {
	u, _ := url.Parse(c.Issuer)
	return u.Path
}

// Endpoint returns the absolute URL of a path served by this API (path starts with "/").
func (c Config) Endpoint(path string) string { return c.Issuer + path }

// IssuerOrigin is the origin (RFC 6454 §6.2) of the issuer: scheme://host[:port].
func (c Config) IssuerOrigin() string {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return ""
	}
	return serializeOrigin(u)
}

// CanonicalOrigin returns the RFC 6454 §6.2 serialization of an http(s) origin given as
// scheme://host[:port] (a trailing "/" is tolerated): scheme and host lower-cased, default
// port removed. Anything else (a path, a query, user info, "null") is not an origin.
func CanonicalOrigin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", false
	}
	o := serializeOrigin(u)
	return o, o != ""
}

func serializeOrigin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "https" && scheme != "http") || u.Hostname() == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		host += ":" + port
	}
	return scheme + "://" + host
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
