package wiring

import (
	"context"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Time budgets: whatever a dependency does (refuses, hangs, answers slowly, throttles, fails),
// every request is answered well before the function's timeout (template.yaml Globals,
// 10 s) and API Gateway's integration timeout (29 s). README "During an outage" says what a
// client sees; docs/decisions.md why these values.
const (
	// RequestBudget bounds one request of an OAuth endpoint, every call it makes included;
	// past it, calls in flight are cancelled and the answer is 503 temporarily_unavailable.
	RequestBudget = 6 * time.Second
	// AWSAttemptTimeout bounds one HTTP attempt of a DynamoDB or KMS call (connection, TLS,
	// request and response): their usual latency is milliseconds.
	AWSAttemptTimeout = 1500 * time.Millisecond
	// AWSDialTimeout bounds opening a connection to DynamoDB or KMS.
	AWSDialTimeout = time.Second
	// AWSMaxAttempts is how many attempts the SDK makes of one call (throttling, 5xx,
	// connection errors and attempt timeouts are retried), with jittered backoff capped at
	// AWSMaxBackoff (the SDK's default cap is 20 s, more than a request may wait).
	AWSMaxAttempts = 3
	AWSMaxBackoff  = 200 * time.Millisecond
)

// LoadAWSConfig is every function's AWS SDK configuration: the default chain (credentials,
// region, AWS_ENDPOINT_URL_* locally) with the retries and timeouts above.
func LoadAWSConfig(ctx context.Context, optFns ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = AWSMaxAttempts
				o.MaxBackoff = AWSMaxBackoff
			})
		}),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().
			WithTimeout(AWSAttemptTimeout).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = AWSDialTimeout })),
	}, optFns...)
	return awsconfig.LoadDefaultConfig(ctx, opts...)
}
