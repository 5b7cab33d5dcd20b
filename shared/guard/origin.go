package guard

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/obs"
)

// CtxRefused is the authorizer context key of a request the authorizer lets through only for
// the MCP function to refuse it; RefusedOrigin is its value for a disallowed Origin. Such an
// answer carries no identity (no sub, client_id or aud), so IdentityFromAuthorizer refuses it
// too.
const (
	CtxRefused    = "refused"
	RefusedOrigin = "origin_not_allowed"
)

// RefusedPrincipal is the principalId of an answer that only carries a refusal.
const RefusedPrincipal = "anonymous"

// originAllowed reports whether an Origin value is allowed: the issuer's, or one of
// ALLOWED_ORIGINS, compared canonically.
func (a *Authorizer) originAllowed(v string) bool {
	o, ok := config.CanonicalOrigin(v)
	return ok && a.origins[o]
}

// originRefused answers a request with a disallowed Origin. API Gateway has one 403 for an
// authorizer (ACCESS_DENIED, a Deny), and its WWW-Authenticate names insufficient_scope
// (static per API): a client would sign in again for nothing. So the authorizer allows
// exactly this request (its method ARN, never the route, and the API caches no answer),
// without any identity, and the MCP function refuses it with its own 403
// (docs/decisions.md, "Origin").
func (a *Authorizer) originRefused(ctx context.Context, methodArn string, arn MethodARN, origin string) (events.APIGatewayCustomAuthorizerResponse, error) {
	if len(origin) > 100 {
		origin = origin[:100]
	}
	a.log.InfoContext(ctx, "request refused", "outcome", "forbidden", "reason", RefusedOrigin,
		"method", arn.Method, "route", arn.Path, "origin", origin)
	a.metrics.Count(ctx, obs.AuthorizerDeny, obs.Reason(RefusedOrigin))
	return policy(RefusedPrincipal, "Allow", []string{methodArn}, map[string]any{CtxRefused: RefusedOrigin}), nil
}
