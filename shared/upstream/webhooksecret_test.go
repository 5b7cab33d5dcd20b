package upstream

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// secretsStub answers GetSecretValue with one value (or error).
type secretsStub struct {
	value *string
	err   error
}

func (s secretsStub) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: s.value}, s.err
}

// The webhook secret is optional (none: webhooks off, ""), read from Secrets Manager in AWS
// as the value itself or JSON {"webhook_secret"}; an unreadable or empty secret stops the
// cold start rather than turning webhooks off silently.
func TestWebhookSecretFromSecretsManagerOrLocal(t *testing.T) {
	ctx := context.Background()
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook"
	if got, err := LoadWebhookSecret(ctx, nil, "", ""); err != nil || got != "" {
		t.Errorf("none configured: %q %v, want webhooks off", got, err)
	}
	if got, err := LoadWebhookSecret(ctx, nil, "", "whsec_local"); err != nil || got != "whsec_local" {
		t.Errorf("local: %q %v", got, err)
	}
	for value, want := range map[string]string{"whsec_plain\n": "whsec_plain", `{"webhook_secret":"whsec_json"}`: "whsec_json"} {
		if got, err := LoadWebhookSecret(ctx, secretsStub{value: aws.String(value)}, arn, "ignored"); err != nil || got != want {
			t.Errorf("secret %q: %q %v, want %q", value, got, err, want)
		}
	}
	for name, stub := range map[string]secretsStub{
		"empty":                 {value: aws.String(" ")},
		"JSON without it":       {value: aws.String(`{"api_key":"sk"}`)},
		"no string value":       {},
		"GetSecretValue failed": {err: errors.New("AccessDenied")},
	} {
		if got, err := LoadWebhookSecret(ctx, stub, arn, ""); err == nil {
			t.Errorf("%s: %q, want an error", name, got)
		}
	}
}
