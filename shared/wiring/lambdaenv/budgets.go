package lambdaenv

import (
	"context"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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

// LoadAWSConfig is every function's AWS SDK configuration, built from the environment the
// Lambda runtime provides — AWS_REGION (or AWS_DEFAULT_REGION), the execution role's
// credentials AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN — with the
// retries and timeouts above. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (DYNAMODB,
// KMS, SECRETS_MANAGER: the local stack and the tests set them) are honoured as the SDK's
// shared configuration honours them. It does not link the SDK's shared-config package
// (profiles, SSO, STS, IMDS), which a Lambda function never uses: docs/decisions.md. Without
// credentials in the environment, each AWS call fails (as the default chain's would),
// not the cold start.
func LoadAWSConfig(context.Context) (aws.Config, error) {
	cfg := aws.Config{
		Region:      envFirst("AWS_REGION", "AWS_DEFAULT_REGION"),
		Credentials: envCredentials{},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = AWSMaxAttempts
				o.MaxBackoff = AWSMaxBackoff
			})
		},
		HTTPClient: awshttp.NewBuildableClient().
			WithTimeout(AWSAttemptTimeout).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = AWSDialTimeout }),
	}
	if !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" {
			cfg.BaseEndpoint = aws.String(u)
		}
		cfg.ConfigSources = []any{envEndpoints{}}
	}
	return cfg, nil
}

// envCredentials are the credentials in the environment, read when a call is signed (the
// SDK's environment credentials: AWS_ACCESS_KEY_ID or AWS_ACCESS_KEY, AWS_SECRET_ACCESS_KEY
// or AWS_SECRET_KEY, AWS_SESSION_TOKEN, AWS_ACCOUNT_ID).
type envCredentials struct{}

func (envCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	c := aws.Credentials{
		AccessKeyID:     envFirst("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
		SecretAccessKey: envFirst("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		AccountID:       os.Getenv("AWS_ACCOUNT_ID"),
		Source:          "EnvConfigCredentials",
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, errNoCredentials
	}
	return c, nil
}

var errNoCredentials = errString("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")

// envEndpoints answers the SDK clients' question for a service's endpoint
// (GetServiceBaseEndpoint, as the shared configuration's EnvConfig does):
// AWS_ENDPOINT_URL_<SDK ID in upper case, spaces as underscores>.
type envEndpoints struct{}

func (envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u := os.Getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return u, u != "", nil
}

func envFirst(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
