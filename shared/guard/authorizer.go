package guard

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/tokens"
)

// ErrUnauthorized is the error a REQUEST authorizer returns for API Gateway to answer 401
// (the UNAUTHORIZED gateway response). The message must be exactly "Unauthorized".
var ErrUnauthorized = errors.New("Unauthorized")

// errMisconfigured makes API Gateway answer 500 (AUTHORIZER_CONFIGURATION_ERROR): the route
// behind the authorizer is not a configured protected resource, or the event is not one API
// Gateway sends. Failing closed with a server error is more honest than a 401 or 403.
var errMisconfigured = errors.New("authorizer: route is not a configured protected resource")

// Authorizer is the API Gateway REQUEST authorizer of the MCP routes. It is safe for
// concurrent use.
type Authorizer struct {
	verifier *tokens.Verifier
	routes   Routes
	required oauth.Scope
	origins  map[string]bool // allowed Origin values, canonical: the issuer's and ALLOWED_ORIGINS
	cache    *tokenCache
	log      *slog.Logger
	metrics  *obs.Metrics
	allowed  *obs.Tally // allows are summed: one EMF line per second at most, not per request
	now      func() time.Time

	doors  map[string]*FrontDoor // by the value of the frontDoor stage variable
	minter AssertionMinter       // signs the front doors' upstream assertions; nil: none configured

	// arn memoizes the last method ARN parsed: an instance sees the same few again and again.
	arn atomic.Pointer[parsedARN]

	// resources memoizes the policy resources of the last stage and route: every function
	// instance serves one stage, and nearly always one route.
	resources atomic.Pointer[stageResources]
}

type stageResources struct {
	stage     string
	route     Route
	resources []string // shared by every policy built from it: never modified
	// allow and deny are the policy documents of the route in the stage, and audience its
	// resource as a context value: the same for every token, so built once, shared by every
	// response (never modified), not once per fresh token.
	allow, deny events.APIGatewayCustomAuthorizerPolicy
	audience    any
}

// New builds the authorizer from the configuration (ISSUER, PROTECTED_RESOURCES,
// REQUIRED_SCOPES, FRONT_DOOR_N_…) and the accepted public keys, loaded once per cold start.
// With front doors configured, WithAssertionMinter must be called too, or their requests fail
// closed.
func New(cfg config.Config, keys *tokens.KeySet, log *slog.Logger) *Authorizer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	doors := map[string]*FrontDoor{}
	resources := cfg.Resources
	if len(cfg.FrontDoors) > 0 {
		resources = nil
		for _, fd := range cfg.FrontDoors {
			doors[fd.Slot] = NewFrontDoor(fd)
		}
		// A front door's resource is served by its own REST API only: a token issued for it
		// never opens a route of the built-in MCP function.
		for _, res := range cfg.Resources {
			if !slices.ContainsFunc(cfg.FrontDoors, func(fd config.FrontDoor) bool { return fd.Resource == res }) {
				resources = append(resources, res)
			}
		}
	}
	origins := map[string]bool{cfg.IssuerOrigin(): true}
	for _, o := range cfg.AllowedOrigins {
		origins[o] = true
	}
	return &Authorizer{
		verifier: tokens.NewVerifier(keys, cfg.Issuer, cfg.ClockLeeway),
		routes:   NewRoutes(cfg.Issuer, resources),
		required: cfg.RequiredScopes,
		origins:  origins,
		cache:    newTokenCache(DefaultCacheSize),
		log:      log,
		now:      time.Now,
		doors:    doors,
	}
}

// WithAssertionMinter sets the signer of the front doors' upstream assertions (the stack's
// KMS signing key). Call it before the Authorizer is shared.
func (a *Authorizer) WithAssertionMinter(m AssertionMinter) *Authorizer {
	a.minter = m
	return a
}

// WithClock replaces the clock (tests). Call it before the Authorizer is shared.
func (a *Authorizer) WithClock(now func() time.Time) *Authorizer {
	a.now = now
	a.verifier.WithClock(now)
	return a
}

// WithMetrics makes the authorizer count allows and denials by reason (EMF).
func (a *Authorizer) WithMetrics(m *obs.Metrics) *Authorizer {
	a.metrics = m
	a.allowed = m.Tally(obs.AuthorizerAllow, time.Second)
	return a
}

// WithCacheSize replaces the verified-token cache by one of n entries (0 disables it).
func (a *Authorizer) WithCacheSize(n int) *Authorizer {
	a.cache = newTokenCache(n)
	return a
}

// Handle is the Lambda handler: it returns an Allow policy with the caller's identity as
// context, a Deny policy (API Gateway: 403) for a valid token without the route's scopes,
// or ErrUnauthorized (401) for a missing, malformed, invalid or expired token; a disallowed
// Origin comes first, with or without a token (originRefused: the MCP function answers 403).
// An event whose stage variables name a front door is that front door's (handleFrontDoor).
func (a *Authorizer) Handle(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	arn, err := a.parseMethodARN(ev.MethodArn)
	if err != nil {
		a.log.ErrorContext(ctx, "authorizer event refused", "outcome", "error", "reason", "bad_method_arn")
		return events.APIGatewayCustomAuthorizerResponse{}, errMisconfigured
	}
	if slot, ok := ev.StageVariables[StageVariableFrontDoor]; ok {
		return a.handleFrontDoor(ctx, ev, arn, slot)
	}
	route, ok := a.routes.ForPath(arn.Path)
	if !ok {
		a.log.ErrorContext(ctx, "authorizer attached to a route with no protected resource", "outcome", "error",
			"reason", "unknown_route", "method", arn.Method, "route", arn.Path)
		return events.APIGatewayCustomAuthorizerResponse{}, errMisconfigured
	}
	// MCP transports (Streamable HTTP, security warning): servers MUST validate Origin; an
	// invalid one gets 403, token or not (the API has no identity source, so this runs
	// before any 401). RFC 6750 §2.1: one Authorization header with the Bearer scheme,
	// nothing else. The token's own syntax (b64token) is checked when the cache does not
	// hold it: every token it holds passed that check, and a hit is the same token byte for
	// byte.
	token, refused, err := scanHeaders(ev.Headers, ev.MultiValueHeaders, a.originAllowed)
	if refused != "" {
		return a.originRefused(ctx, ev.MethodArn, arn, refused)
	}
	if err != nil {
		return a.unauthorized(ctx, arn, route, credentialReason(err), err)
	}

	d := tokens.Digest(token)
	e := a.lookup(&d, a.now())
	if e == nil || e.stage != arn.Stage || e.route != route {
		if !oauth.IsB64Token(token) {
			return a.unauthorized(ctx, arn, route, credentialReason(ErrMalformedCredential), ErrMalformedCredential)
		}
		// RFC 9068 §4 / RFC 8725: alg pinned to ES256, kid among our keys, signature, typ
		// at+jwt, iss, aud = this route's resource (MCP: tokens issued for itself), exp and
		// nbf with leeway — all in tokens.Verifier, locally, without KMS.
		claims, err := a.verifier.VerifyDigested(&d, route.Resource)
		if err != nil {
			return a.unauthorized(ctx, arn, route, tokenReason(err), err)
		}
		e = a.newCacheEntry(claims, arn.Stage, route)
		a.store(&d, e)
	}

	// MCP authorization (scope challenge): a valid token without the route's scopes is
	// refused with 403 insufficient_scope (RFC 6750 §3.1), through a Deny policy.
	if !e.id.HasScopes(a.required) {
		a.log.InfoContext(ctx, "request refused", "outcome", "forbidden", "reason", "insufficient_scope",
			"method", arn.Method, "route", arn.Path, "sub", e.id.Subject, "client_id", e.id.ClientID, "jti", e.id.JTI,
			"scope", e.id.Scope.String(), "required", a.required.String())
		a.metrics.Count(ctx, obs.AuthorizerDeny, obs.Reason("insufficient_scope"))
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: e.id.Subject, PolicyDocument: a.stageRoute(arn.Stage, route).deny}, nil
	}
	a.allowed.Add(ctx)
	if a.log.Enabled(ctx, slog.LevelDebug) {
		a.log.DebugContext(ctx, "request allowed", "outcome", "allow", "method", arn.Method, "route", arn.Path,
			"sub", e.id.Subject, "client_id", e.id.ClientID, "jti", e.id.JTI)
	}
	return e.allow, nil
}

type parsedARN struct {
	raw string
	arn MethodARN
}

// parseMethodARN is ParseMethodARN, memoized for the last ARN.
func (a *Authorizer) parseMethodARN(raw string) (MethodARN, error) {
	if m := a.arn.Load(); m != nil && m.raw == raw {
		return m.arn, nil
	}
	arn, err := ParseMethodARN(raw)
	if err == nil {
		a.arn.Store(&parsedARN{raw: raw, arn: arn})
	}
	return arn, err
}

// lookup returns the live cache entry of the token with digests d, or nil. The cache is
// keyed by the digest of the signing input, which verification computes anyway, and an entry
// is the token's only when the signature's digest matches too: the two identify the token
// byte for byte, and the token itself is not kept.
func (a *Authorizer) lookup(d *tokens.Digests, now time.Time) *cacheEntry {
	if !d.Split() {
		return nil // not a JWS: never verified, never cached
	}
	e := a.cache.get(d.Input(), now)
	if e == nil || e.sig != d.Signature() {
		return nil
	}
	return e
}

// store caches e, the outcome of the token with digests d.
func (a *Authorizer) store(d *tokens.Digests, e *cacheEntry) {
	e.sig = d.Signature()
	a.cache.put(d.Input(), e)
}

// newCacheEntry is the outcome of verified claims on the route of the stage: the identity
// and the Allow response with its context, built once per token. Only what differs per
// token is allocated: the policy document is the route's (stageRoute).
func (a *Authorizer) newCacheEntry(c tokens.AccessClaims, stage string, route Route) *cacheEntry {
	id, scope := identityAndScope(c)
	sr := a.stageRoute(stage, route)
	audience := sr.audience
	if id.Audience != route.Resource { // never, Verify checked it: kept exact regardless
		audience = id.Audience
	}
	return &cacheEntry{
		id: id, expires: id.ExpiresAt.Unix(), stage: stage, route: route,
		allow: events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: id.Subject, PolicyDocument: sr.allow, Context: id.context(scope, audience),
		},
	}
}

func (a *Authorizer) policyResources(stage string, route Route) []string {
	return a.stageRoute(stage, route).resources
}

// stageRoute returns what is constant for the route in the stage, memoized for the last one.
func (a *Authorizer) stageRoute(stage string, route Route) *stageResources {
	if m := a.resources.Load(); m != nil && m.stage == stage && m.route == route {
		return m
	}
	resources := policyResources(stage, route)
	m := &stageResources{
		stage: stage, route: route, resources: resources, audience: route.Resource,
		allow: policy("", "Allow", resources, nil).PolicyDocument,
		deny:  policy("", "Deny", resources, nil).PolicyDocument,
	}
	a.resources.Store(m)
	return m
}

// policy is an authorizer result covering every method of the route in the stage.
func policy(principal, effect string, resources []string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: resources,
			}},
		},
		Context: context,
	}
}

// unauthorized logs why the request is refused (never the token) and returns the 401 error.
func (a *Authorizer) unauthorized(ctx context.Context, arn MethodARN, route Route, reason string, err error) (events.APIGatewayCustomAuthorizerResponse, error) {
	detail := err.Error()
	if len(detail) > 200 {
		detail = detail[:200]
	}
	a.log.InfoContext(ctx, "request refused", "outcome", "unauthorized", "reason", reason, "detail", detail,
		"method", arn.Method, "route", arn.Path, "resource", route.Resource)
	a.metrics.Count(ctx, obs.AuthorizerDeny, obs.Reason(reason))
	return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
}

func credentialReason(err error) string {
	switch {
	case errors.Is(err, ErrNoCredentials):
		return "missing_token"
	case errors.Is(err, ErrSeveralCredentials):
		return "several_authorization_headers"
	case errors.Is(err, ErrNotBearer):
		return "not_bearer"
	default:
		return "malformed_credentials"
	}
}

// tokenReason names the tokens sentinel an error wraps.
func tokenReason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{tokens.ErrMalformed, "malformed_token"},
		{tokens.ErrAlgorithm, "algorithm_not_allowed"},
		{tokens.ErrType, "wrong_token_type"},
		{tokens.ErrUnknownKey, "unknown_key"},
		{tokens.ErrSignature, "bad_signature"},
		{tokens.ErrExpired, "expired"},
		{tokens.ErrNotYetValid, "not_yet_valid"},
		{tokens.ErrIssuer, "wrong_issuer"},
		{tokens.ErrAudience, "wrong_audience"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "invalid_token"
}
