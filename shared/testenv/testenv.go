// Package testenv connects tests to the local AWS stand-ins (DynamoDB Local and local-kms)
// that `make test` starts. Endpoints come from the standard AWS_ENDPOINT_URL_DYNAMODB and
// AWS_ENDPOINT_URL_KMS variables, exactly as the functions themselves find them.
//
// A test that needs these services fails (it does not skip) when they are not configured:
// run it through `make test`, or start the services with `make services` and export the
// variables that target prints.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// AWSConfig returns an AWS configuration pointed at the local services.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	for _, v := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: run the tests with `make test` (it starts DynamoDB Local and local-kms)", v)
		}
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "testenv"}, nil
		})))
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// DynamoDB returns a client for DynamoDB Local. DynamoDB Local's CRC32 header does not
// match the body of its error responses, which the SDK would log on every refused
// conditional write; the check is turned off for tests only.
func DynamoDB(t testing.TB) *dynamodb.Client {
	return dynamodb.NewFromConfig(AWSConfig(t), func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
}

// KMS returns a client for local-kms.
func KMS(t testing.TB) *kms.Client { return kms.NewFromConfig(AWSConfig(t)) }

// UniqueName returns prefix plus a random suffix, for per-test tables and aliases.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// NewSigningKey creates a fresh ECC_NIST_P256 SIGN_VERIFY key in local-kms, as template.yaml
// declares it, and returns its key id. Keys cannot be deleted at once in KMS; local-kms keeps
// them in the run's temporary data folder.
func NewSigningKey(t testing.TB, client *kms.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     kmstypes.KeySpecEccNistP256,
		KeyUsage:    kmstypes.KeyUsageTypeSignVerify,
		Description: aws.String("authbridge test signing key " + t.Name()),
	})
	if err != nil {
		t.Fatalf("create KMS key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}
