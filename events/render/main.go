// Command render prints an event of events/ with its placeholders filled: fresh access
// tokens minted with the token function's KMS key, their exp and jti, the MCP resource and
// a client id. It reads the same environment as the functions (ISSUER, SIGNING_KEY_ID,
// PROTECTED_RESOURCES, and the AWS SDK's own variables, e.g. AWS_ENDPOINT_URL_KMS locally):
//
//	go run ./events/render [-client-id abc_…] events/authorizer-allow.json > /tmp/event.json
//	sam local invoke AuthorizerFunction -e /tmp/event.json
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/events"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/tokens"
)

func main() {
	clientID := flag.String("client-id", events.Subject.ClientID, "client id for ${CLIENT_ID} (OAuth events: a client registered in your table)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./events/render [-client-id ID] events/<file>.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *clientID); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(path, clientID string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !events.HasPlaceholders(raw) {
		_, err = os.Stdout.Write(raw) // a static event: nothing to mint
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if cfg.SigningKeyID == "" {
		return fmt.Errorf("SIGNING_KEY_ID is required (the KMS key or alias the token function signs with)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	client := kms.NewFromConfig(awsCfg)
	values, err := events.Tokens(ctx, func(at time.Time) *tokens.Minter {
		return tokens.NewMinter(client, cfg.SigningKeyID, cfg.Issuer, cfg.AccessTokenTTL).WithClock(func() time.Time { return at })
	}, cfg.Resources[0], time.Now())
	if err != nil {
		return err
	}
	values[events.ClientID] = clientID
	out, err := events.Fill(raw, values)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}
