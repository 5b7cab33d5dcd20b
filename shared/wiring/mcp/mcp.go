// Package mcp starts functions/mcp: the protected MCP endpoint (shared/mcpserver) with the
// WorkOS client, linking neither the OAuth endpoints nor DynamoDB or KMS.
package mcp

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/authbridge/authbridge/shared/mcpserver"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/web"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
	"github.com/authbridge/authbridge/shared/wiring/workos"
)

// Serve builds the MCP server from the environment and starts the Lambda runtime loop.
func Serve() {
	env := lambdaenv.Load()
	awsCfg, err := lambdaenv.LoadAWSConfig(context.Background())
	if err != nil {
		lambdaenv.Fatal(env.Log, "aws configuration", err)
	}
	h := obs.Scope("/mcp", mcpserver.New(env.Config, workos.NewDirectory(env, awsCfg), env.Log).Handler())
	lambda.Start(web.LambdaHandler(h, env.Log))
}
