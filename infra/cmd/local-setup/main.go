// Command local-setup prepares the local AWS stand-ins for `make dev`: it creates the
// DynamoDB table (as template.yaml declares it) and an ES256 signing key behind an alias
// in local-kms, and prints the key id. It is idempotent: existing resources are kept.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/authbridge/authbridge/shared/store"
)

func main() {
	table := flag.String("table", "authbridge-local", "DynamoDB table name")
	alias := flag.String("alias", "alias/authbridge-local-signing", "KMS alias of the signing key")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keyID, err := setup(ctx, *table, *alias)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-setup:", err)
		os.Exit(1)
	}
	fmt.Println(keyID)
}

func setup(ctx context.Context, table, alias string) (string, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", err
	}
	// DynamoDB Local's CRC32 header does not match its error bodies; skip that check locally.
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	if err := store.CreateTable(ctx, ddb, table); err != nil {
		return "", fmt.Errorf("table %s: %w", table, err)
	}
	k := kms.NewFromConfig(cfg)
	if out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)}); err == nil {
		return aws.ToString(out.KeyMetadata.KeyId), nil
	} else {
		var nf *kmstypes.NotFoundException
		if !errors.As(err, &nf) {
			return "", fmt.Errorf("describe %s: %w", alias, err)
		}
	}
	created, err := k.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify,
		Description: aws.String("Authbridge local signing key"),
	})
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	keyID := aws.ToString(created.KeyMetadata.KeyId)
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)}); err != nil {
		return "", fmt.Errorf("create alias: %w", err)
	}
	return keyID, nil
}
