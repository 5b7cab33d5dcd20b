// Command introspection-credentials creates the credentials a resource server (an MCP
// server on another host, companion mode) uses at Authbridge's introspection endpoint,
// POST {ISSUER}/api/ext/auth/introspect with HTTP Basic (RFC 7662 §2.1):
//
//	go run ./infra/cmd/introspection-credentials -resource https://crm.example.com/mcp
//
// prints exactly one JSON line on stdout, {"client_id":"…","client_secret":"…","resource":"…"},
// and nothing else there; the secret is shown only then (the table keeps its SHA-256). The
// resource must be one of PROTECTED_RESOURCES (canonical form), and the credentials
// introspect tokens for that resource only.
//
//	go run ./infra/cmd/introspection-credentials -delete abrs_…
//
// withdraws credentials (one JSON line, {"client_id":"…","deleted":true}).
//
// It reads the functions' environment: ISSUER and PROTECTED_RESOURCES (as template.yaml
// gives them to the functions), TABLE_NAME, and the AWS SDK's own (credentials, AWS_REGION,
// AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local). README: "Protect an MCP server you already run".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/store"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "introspection-credentials:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("introspection-credentials", flag.ContinueOnError)
	resource := flags.String("resource", "", "the protected resource (one of PROTECTED_RESOURCES) the credentials may introspect tokens for")
	del := flags.String("delete", "", "withdraw the credentials with this client_id instead")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if (*resource == "") == (*del == "") || flags.NArg() > 0 {
		return errors.New("usage: introspection-credentials -resource <URL> | -delete <client_id>")
	}
	cfg, err := config.Parse(getenv)
	if err != nil {
		return err
	}
	if cfg.TableName == "" {
		return errors.New("TABLE_NAME is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws configuration: %w", err)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName)
	if *del != "" {
		if err := st.DeleteResourceServer(ctx, *del); err != nil {
			return fmt.Errorf("delete %s: %w", *del, err)
		}
		return jsonLine(stdout, map[string]any{"client_id": *del, "deleted": true})
	}
	creds, err := authserver.IssueResourceServerCredentials(ctx, st, cfg.Resources, *resource)
	if err != nil {
		return err
	}
	return jsonLine(stdout, creds)
}

// jsonLine writes v as one line of JSON, URLs unescaped ("&" stays "&").
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v) // Encode ends the line with "\n"
}
