package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsAPI is the one Secrets Manager call Authbridge makes.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// LoadAPIKey returns the WorkOS API key: from Secrets Manager when secretARN is set (AWS;
// once per cold start), else the plain value given for local development. The secret may
// hold the key itself or a JSON object with an "api_key" member.
func LoadAPIKey(ctx context.Context, secrets SecretsAPI, secretARN, plain string) (string, error) {
	if secretARN == "" {
		if plain == "" {
			return "", errors.New("upstream: set WORKOS_API_KEY_SECRET_ARN (or WORKOS_API_KEY locally)")
		}
		return plain, nil
	}
	out, err := secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	if err != nil {
		return "", errors.New("upstream: could not read the WorkOS API key secret: " + err.Error())
	}
	if out.SecretString == nil {
		return "", errors.New("upstream: the WorkOS API key secret has no string value")
	}
	return apiKeyFromSecret(*out.SecretString)
}

// apiKeyFromSecret reads the key from a secret's string: the key itself, or JSON with "api_key".
func apiKeyFromSecret(secret string) (string, error) {
	value := strings.TrimSpace(secret)
	if value == "" {
		return "", errors.New("upstream: the WorkOS API key secret is empty")
	}
	if strings.HasPrefix(value, "{") {
		var doc struct {
			APIKey string `json:"api_key"`
		}
		if err := json.Unmarshal([]byte(value), &doc); err != nil || doc.APIKey == "" {
			return "", errors.New(`upstream: the WorkOS API key secret is JSON without an "api_key" member`)
		}
		value = doc.APIKey
	}
	return value, nil
}

// LoadWebhookSecret returns the WorkOS webhook signing secret: from Secrets Manager when
// secretARN is set (AWS; once per cold start), else the plain value given for local
// development; "" when neither is set (webhooks are off). The secret may hold the value
// itself or a JSON object with a "webhook_secret" member.
func LoadWebhookSecret(ctx context.Context, secrets SecretsAPI, secretARN, plain string) (string, error) {
	if secretARN == "" {
		return strings.TrimSpace(plain), nil
	}
	out, err := secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	if err != nil {
		return "", errors.New("upstream: could not read the WorkOS webhook secret: " + err.Error())
	}
	if out.SecretString == nil {
		return "", errors.New("upstream: the WorkOS webhook secret has no string value")
	}
	value := strings.TrimSpace(*out.SecretString)
	if strings.HasPrefix(value, "{") {
		var doc struct {
			Secret string `json:"webhook_secret"`
		}
		if err := json.Unmarshal([]byte(value), &doc); err != nil {
			return "", errors.New(`upstream: the WorkOS webhook secret is JSON without a "webhook_secret" member`)
		}
		value = strings.TrimSpace(doc.Secret)
	}
	if value == "" {
		return "", errors.New("upstream: the WorkOS webhook secret is empty")
	}
	return value, nil
}
