package wiring

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
)

// The time budgets of every function (lambdaenv says why each).
const (
	RequestBudget     = lambdaenv.RequestBudget
	AWSAttemptTimeout = lambdaenv.AWSAttemptTimeout
	AWSDialTimeout    = lambdaenv.AWSDialTimeout
	AWSMaxAttempts    = lambdaenv.AWSMaxAttempts
	AWSMaxBackoff     = lambdaenv.AWSMaxBackoff
)

// LoadAWSConfig is every function's AWS SDK configuration: from the Lambda environment
// (credentials, region, AWS_ENDPOINT_URL_* locally) with the retries and timeouts above
// (lambdaenv.LoadAWSConfig).
func LoadAWSConfig(ctx context.Context) (aws.Config, error) { return lambdaenv.LoadAWSConfig(ctx) }
