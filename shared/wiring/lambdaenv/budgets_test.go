package lambdaenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestLoadAWSConfig: region, credentials and per-service endpoints come from the
// environment as the Lambda runtime (and the local stack) sets it, with the budgets' retries
// and timeouts.
func TestLoadAWSConfig(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-west-2",
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
		"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4599", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4600",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := LoadAWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-3" {
		t.Errorf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	if got := aws.ToString(dynamodb.NewFromConfig(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:8000" {
		t.Errorf("DynamoDB endpoint %q", got)
	}
	if got := aws.ToString(kms.NewFromConfig(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:4599" {
		t.Errorf("KMS endpoint %q", got)
	}
	if got := aws.ToString(secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:4600" {
		t.Errorf("Secrets Manager endpoint %q", got)
	}
	r, ok := cfg.Retryer().(*retry.Standard)
	if !ok || r.MaxAttempts() != AWSMaxAttempts {
		t.Errorf("retryer %T, want retry.Standard with %d attempts", cfg.Retryer(), AWSMaxAttempts)
	}
	hc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok || hc.GetTimeout() != AWSAttemptTimeout {
		t.Errorf("HTTP client %T, want a BuildableClient with timeout %v", cfg.HTTPClient, AWSAttemptTimeout)
	}
	if ok && hc.GetDialer().Timeout != AWSDialTimeout {
		t.Errorf("dial timeout %v, want %v", hc.GetDialer().Timeout, AWSDialTimeout)
	}

	// Without a service's own variable, AWS_ENDPOINT_URL; with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, none.
	t.Setenv("AWS_ENDPOINT_URL_KMS", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")
	cfg, _ = LoadAWSConfig(context.Background())
	if got := aws.ToString(kms.NewFromConfig(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:9999" {
		t.Errorf("KMS endpoint with AWS_ENDPOINT_URL only: %q", got)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	cfg, _ = LoadAWSConfig(context.Background())
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got != nil {
		t.Errorf("DynamoDB endpoint with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: %q", *got)
	}

	// No credentials in the environment: each call fails, not the configuration.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if cfg, err = LoadAWSConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil {
		t.Error("credentials without AWS_ACCESS_KEY_ID: no error")
	}
}
