package guard

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/tokens"
)

// Front doors (docs/front-door.md): API Gateway proxies MCP requests, through this
// authorizer, to existing MCP servers ("upstreams") that know nothing of OAuth. Each front
// door is a REST API of its own whose stage variable frontDoor names its slot; its authorizer
// caching is off, so every request's headers reach Handle.
const (
	// StageVariableFrontDoor is the stage variable that makes an event a front door's.
	StageVariableFrontDoor = "frontDoor"
	// CtxUpstreamAuthorization is the Allow context key the gateway maps onto the upstream
	// request's Authorization header: "Bearer <assertion>".
	CtxUpstreamAuthorization = "upstream_authorization"
	// CtxRequiredScope is the Deny context key naming the scopes the call needs
	// (space-separated), which the gateway's 403 shows.
	CtxRequiredScope = "required_scope"
)

// MCP 2026-07-28 Streamable HTTP: the mirrored request headers.
const (
	headerProtocolVersion = "MCP-Protocol-Version"
	headerMethod          = "Mcp-Method"
	headerName            = "Mcp-Name"
	// firstValidatingVersion is the first revision whose servers MUST reject a request whose
	// Mcp-Method or Mcp-Name disagrees with its body.
	firstValidatingVersion = "2026-07-28"
)

// AssertionMinter signs the upstream assertions: *tokens.Minter over the stack's KMS key.
type AssertionMinter interface {
	MintUntil(ctx context.Context, c tokens.AccessClaims, exp time.Time) (string, tokens.AccessClaims, error)
}

// errAssertion makes API Gateway answer 500: the token is good but no assertion could be signed.
var errAssertion = errors.New("authorizer: the upstream assertion could not be signed")

// FrontDoor is one configured front door with its scope rules precomputed, so that a request
// costs no allocation to decide.
type FrontDoor struct {
	Slot     string
	Resource string // the audience the client's token must have
	Upstream string // the audience of the assertion
	route    Route
	base     oauth.Scope            // FRONT_DOOR_N_SCOPES
	perTool  map[string]oauth.Scope // base plus the tool's scopes
	allTools oauth.Scope            // base plus every tool's scopes
}

// NewFrontDoor precomputes the scope rules of a configured front door.
func NewFrontDoor(c config.FrontDoor) *FrontDoor {
	d := &FrontDoor{
		Slot: c.Slot, Resource: c.Resource, Upstream: c.Upstream,
		route: Route{Path: "/", Resource: c.Resource}, base: c.Scopes, allTools: slices.Clone(c.Scopes),
	}
	tools := make([]string, 0, len(c.ToolScopes))
	for t := range c.ToolScopes {
		tools = append(tools, t)
	}
	sort.Strings(tools) // a stable required_scope
	for _, t := range tools {
		if d.perTool == nil {
			d.perTool = map[string]oauth.Scope{}
		}
		d.perTool[t] = union(c.Scopes, c.ToolScopes[t])
		d.allTools = union(d.allTools, c.ToolScopes[t])
	}
	return d
}

func union(a, b oauth.Scope) oauth.Scope {
	out := slices.Clone(a)
	for _, s := range b {
		if !out.Contains(s) {
			out = append(out, s)
		}
	}
	return out
}

// RequiredScopes returns the scopes a request through the front door needs, from its
// headers (API Gateway's two views of them; names are matched case-insensitively).
func (d *FrontDoor) RequiredScopes(headers map[string]string, multi map[string][]string) oauth.Scope {
	s, _ := d.required(headers, multi)
	return s
}

// required returns the scopes and the rule that chose them (logged on a Deny).
func (d *FrontDoor) required(headers map[string]string, multi map[string][]string) (oauth.Scope, string) {
	if len(d.perTool) == 0 {
		return d.base, "path"
	}
	// MCP 2026-07-28 transports, mirrored headers: an intermediary that enforces policy on them
	// SHOULD check that MCP-Protocol-Version requires header–body validation, and otherwise not
	// trust them. Untrusted headers are ignored: the call needs every tool scope of the front
	// door, so no tool is reachable with less than it needs (docs/front-door.md).
	if v, n := headerValue(headers, multi, headerProtocolVersion); n != 1 || !validatesHeaders(v) {
		return d.allTools, "all_tools_unvalidated_headers"
	}
	// MCP 2026-07-28: Mcp-Method is required on every request; values may be "=?base64?…?=".
	method, ok := mirroredHeader(headers, multi, headerMethod)
	if !ok {
		return d.allTools, "all_tools_bad_mcp_method"
	}
	if method != "tools/call" { // header values are case-sensitive
		return d.base, "path"
	}
	// MCP 2026-07-28: Mcp-Name (params.name) is required on tools/call; a server MUST reject the
	// request without it, and the authorizer cannot answer 400: it applies the all-tools rule.
	name, ok := mirroredHeader(headers, multi, headerName)
	if !ok {
		return d.allTools, "all_tools_bad_mcp_name"
	}
	if s, ok := d.perTool[name]; ok {
		return s, "tool"
	}
	return d.base, "path"
}

// validatesHeaders reports whether v is a protocol revision (YYYY-MM-DD) of 2026-07-28 or
// later, whose servers MUST reject mirrored headers that disagree with the body.
func validatesHeaders(v string) bool {
	if len(v) != len(firstValidatingVersion) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i == 4 || i == 7 {
			if v[i] != '-' {
				return false
			}
		} else if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v >= firstValidatingVersion
}

// mirroredHeader returns the one non-empty value of a mirrored header, decoded when it is
// "=?base64?…?=" (MCP 2026-07-28: intermediaries that inspect the values MUST decode them).
// Missing, repeated, empty or undecodable: not usable.
func mirroredHeader(headers map[string]string, multi map[string][]string, name string) (string, bool) {
	v, n := headerValue(headers, multi, name)
	if n != 1 || v == "" {
		return "", false
	}
	if enc, ok := strings.CutPrefix(v, "=?base64?"); ok {
		enc, ok = strings.CutSuffix(enc, "?=")
		b, err := base64.StdEncoding.DecodeString(enc)
		if !ok || err != nil || len(b) == 0 {
			return "", false
		}
		return string(b), true
	}
	return v, true
}

// headerValue returns a value of header name and how many values were sent under any
// spelling of the name (RFC 9110 §5.1: field names are case-insensitive): from multiValueHeaders
// when API Gateway sent them, else from headers.
func headerValue(headers map[string]string, multi map[string][]string, name string) (string, int) {
	var v string
	n := 0
	if len(multi) > 0 {
		for k, vs := range multi {
			if strings.EqualFold(k, name) && len(vs) > 0 {
				v, n = vs[0], n+len(vs)
			}
		}
		return v, n
	}
	for k, x := range headers {
		if strings.EqualFold(k, name) {
			v, n = x, n+1
		}
	}
	return v, n
}

// handleFrontDoor authorizes a request to the front door named by the stage variable slot:
// the client's token must be issued for the front door's resource and carry the scopes the
// call needs; the Allow carries the upstream assertion.
func (a *Authorizer) handleFrontDoor(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest, arn MethodARN, slot string) (events.APIGatewayCustomAuthorizerResponse, error) {
	d := a.doors[slot]
	if d == nil || a.minter == nil {
		reason := "unknown_front_door"
		if d != nil {
			reason = "no_assertion_minter"
		}
		a.log.ErrorContext(ctx, "front door event refused", "outcome", "error", "reason", reason,
			"front_door", truncate(slot, 16), "method", arn.Method, "route", arn.Path)
		return events.APIGatewayCustomAuthorizerResponse{}, errMisconfigured
	}
	// RFC 6750 §2.1: one Authorization header with the Bearer scheme, nothing else.
	token, err := BearerToken(AuthorizationValues(ev.Headers, ev.MultiValueHeaders))
	if err != nil {
		return a.unauthorized(ctx, arn, d.route, credentialReason(err), err)
	}
	digests := tokens.Digest(token)
	e := a.lookup(&digests, a.now())
	if e == nil || e.stage != arn.Stage || e.route != d.route {
		// RFC 9068 §4: aud must be this front door's public resource (MCP: tokens issued for
		// the server they are presented to), checked as on the built-in route.
		claims, err := a.verifier.VerifyDigested(&digests, d.Resource)
		if err != nil {
			return a.unauthorized(ctx, arn, d.route, tokenReason(err), err)
		}
		e = &cacheEntry{id: identityFromClaims(claims), expires: claims.ExpiresAt, stage: arn.Stage, route: d.route}
		a.store(&digests, e)
	}

	// MCP authorization (scope challenge): 403 insufficient_scope naming the scopes this call needs.
	required, rule := d.required(ev.Headers, ev.MultiValueHeaders)
	if !e.id.HasScopes(required) {
		a.log.InfoContext(ctx, "request refused", "outcome", "forbidden", "reason", "insufficient_scope", "rule", rule,
			"front_door", d.Slot, "method", arn.Method, "route", arn.Path, "sub", e.id.Subject, "client_id", e.id.ClientID,
			"jti", e.id.JTI, "scope", e.id.Scope.String(), "required", required.String())
		a.metrics.Count(ctx, obs.AuthorizerDeny, obs.Reason("insufficient_scope"))
		return policy(e.id.Subject, "Deny", a.policyResources(arn.Stage, d.route), map[string]any{CtxRequiredScope: required.String()}), nil
	}

	if e.allow.PolicyDocument.Version == "" {
		// First allowed request of this token at this front door (in this instance): one
		// kms:Sign, then the Allow is kept with the token's cache entry until its exp.
		assertion, err := a.mintAssertion(ctx, e.id, d)
		if errors.Is(err, tokens.ErrExpired) {
			return a.unauthorized(ctx, arn, d.route, "expired", err)
		}
		if err != nil {
			a.log.ErrorContext(ctx, "upstream assertion not signed", "outcome", "error", "reason", "assertion_failed",
				"front_door", d.Slot, "error", truncate(err.Error(), 200))
			return events.APIGatewayCustomAuthorizerResponse{}, errAssertion
		}
		c := e.id.authorizerContext()
		c[CtxUpstreamAuthorization] = "Bearer " + assertion
		minted := *e
		minted.allow = policy(e.id.Subject, "Allow", a.policyResources(arn.Stage, d.route), c)
		e = &minted
		a.store(&digests, e)
	}
	a.allowed.Add(ctx)
	if a.log.Enabled(ctx, slog.LevelDebug) {
		a.log.DebugContext(ctx, "request allowed", "outcome", "allow", "front_door", d.Slot, "method", arn.Method,
			"route", arn.Path, "sub", e.id.Subject, "client_id", e.id.ClientID, "jti", e.id.JTI)
	}
	return e.allow, nil
}

// mintAssertion signs the upstream assertion: an RFC 9068 access token (typ at+jwt, the
// stack's KMS key) for the upstream's own URL, with the client token's identity and scope, a
// fresh jti, and the client token's exp.
func (a *Authorizer) mintAssertion(ctx context.Context, id Identity, d *FrontDoor) (string, error) {
	tok, _, err := a.minter.MintUntil(ctx, tokens.AccessClaims{
		Subject: id.Subject, Email: id.Email, OrgID: id.OrgID, ClientID: id.ClientID, Scope: id.Scope.String(),
		Audience: d.Upstream,
	}, id.ExpiresAt)
	return tok, err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
