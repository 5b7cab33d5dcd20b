// Package authorizer builds the Lambda authorizer of the MCP routes (shared/guard) for
// functions/authorizer, linking only what it uses: KMS (the accepted keys; kms:Sign with
// front doors), not the OAuth endpoints' store, WorkOS client or pages.
package authorizer

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
	"github.com/authbridge/authbridge/shared/wiring/signing"
)

// Serve builds the authorizer from the environment and starts the Lambda runtime loop.
func Serve() {
	env := lambdaenv.Load()
	awsCfg, err := lambdaenv.LoadAWSConfig(context.Background())
	if err != nil {
		lambdaenv.Fatal(env.Log, "aws configuration", err)
	}
	lambda.Start(New(env, awsCfg).Handle)
}

// New returns the authorizer over the accepted keys; signing.KeySet stops the cold start
// when none can be loaded. With front doors configured it signs their upstream assertions
// with SIGNING_KEY_ID (signing.Minter stops the cold start without it); without, it never
// calls kms:Sign.
func New(env lambdaenv.Env, awsCfg aws.Config) *guard.Authorizer {
	a := guard.New(env.Config, signing.KeySet(env, awsCfg), env.Log).WithMetrics(env.Metrics)
	if len(env.Config.FrontDoors) > 0 {
		a.WithAssertionMinter(signing.Minter(env, awsCfg))
	}
	return a
}
