// Package wellknown starts the functions that serve the /.well-known documents
// (shared/discovery): resource-metadata and server-metadata, which call no AWS service, and
// jwks, which loads the accepted keys from KMS at cold start. They are endpoints of
// shared/authserver's table, but are started without that package, so that they link
// neither the DynamoDB store nor the WorkOS client, nor (the metadata) any AWS client: their
// binaries stay within the budgets of infra/sizes.
package wellknown

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/authbridge/authbridge/shared/discovery"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/web"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
)

// ServeResourceMetadata starts functions/resource-metadata.
func ServeResourceMetadata() {
	env := lambdaenv.Load()
	serve(env, ResourceMetadata(env))
}

// ServeServerMetadata starts functions/server-metadata.
func ServeServerMetadata() {
	env := lambdaenv.Load()
	serve(env, ServerMetadata(env))
}

// ServeJWKS starts functions/jwks with the keys load returns: signing.KeySet, which
// functions/jwks passes (so that this package, and the metadata functions, import no KMS
// client), loads them from KMS or stops the cold start.
func ServeJWKS[K discovery.Keys](load func(lambdaenv.Env, aws.Config) K) {
	env := lambdaenv.Load()
	awsCfg, err := lambdaenv.LoadAWSConfig(context.Background())
	if err != nil {
		lambdaenv.Fatal(env.Log, "aws configuration", err)
	}
	serve(env, JWKS(env, load(env, awsCfg)))
}

// ResourceMetadata is functions/resource-metadata's handler, as the endpoints table's
// (authserver.ResourceMetadataEndpoint) answers.
func ResourceMetadata(env lambdaenv.Env) http.Handler {
	return endpoint(env, discovery.PathPRM, discovery.ResourceMetadataHandler(env.Config))
}

// ServerMetadata is functions/server-metadata's handler, as the endpoints table's
// (authserver.ServerMetadataEndpoint) answers.
func ServerMetadata(env lambdaenv.Env) http.Handler {
	return endpoint(env, discovery.PathASMetadata, discovery.ServerMetadataHandler(env.Config))
}

// JWKS is functions/jwks's handler over keys, as the endpoints table's
// (authserver.JWKSEndpoint) answers.
func JWKS(env lambdaenv.Env, keys discovery.Keys) http.Handler {
	return endpoint(env, discovery.PathJWKS, discovery.JWKSHandler(keys, env.Log))
}

// endpoint wraps h as authserver wraps every endpoint: the request's log scope (route,
// request id) and the recovery from a panic. These handlers make no call, so they need no
// request budget.
func endpoint(env lambdaenv.Env, route string, h http.Handler) http.Handler {
	return obs.Scope(route, web.Recover(h, env.Log))
}

func serve(env lambdaenv.Env, h http.Handler) {
	lambda.Start(web.LambdaHandler(h, env.Log))
}
