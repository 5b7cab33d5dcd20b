// Command grants lists and revokes what people and apps were granted: the refresh-token
// families (one per sign-in through an MCP client) that Authbridge keeps in its table.
//
//	go run ./infra/cmd/grants list   -user user_01H…      # or -client abc_… or -org org_01H…
//	go run ./infra/cmd/grants revoke -user user_01H…      # same filters, exactly one
//	go run ./infra/cmd/grants delete-client abc_…
//
// list prints one JSON line per grant, oldest first: {"family_id","client_id","client_name",
// "user_id","org_id","scope","resource","created","last_used","expires","revoked"} (times in
// RFC 3339, UTC; "" when unknown). Nothing secret is printed: the table holds no token, only
// hashes, and the family id is the "fam" claim every access token of the grant carries.
//
// revoke marks every matching family revoked with the token endpoint's own call
// (store.RevokeFamily): their refresh tokens get invalid_grant from then on and introspection
// answers active:false for their access tokens at once; the Lambda authorizer and servers that
// verify tokens locally (JWKS) accept those access tokens until they expire (ACCESS_TOKEN_TTL,
// 15 minutes by default). It prints one line, {"user_id":"…","matched":N,"revoked":M}: M
// families were revoked now, N-M already were.
//
// delete-client deletes the client's registration (its refresh tokens then get invalid_client,
// new sign-ins through it are refused) and revokes all its families, printing
// {"client_id":"…","deleted":true,"matched":N,"revoked":M}; "deleted":false when no
// registration was there (a typo, or deleted before: its families are still revoked).
//
// Families are found through the table's families index, which holds the user and
// organization ids stored at code exchange: grants issued before they were stored are found by
// none of the filters (they end at their own expiry). The index is eventually consistent: a
// sign-in of the last second may be missed; run revoke again to be sure. -user is a Query;
// -client and -org scan the index, which holds the families only (not the tokens). Revoking
// does not sign the person out of WorkOS: remove them there, or they can sign in again.
//
// It reads the functions' TABLE_NAME and the AWS SDK's own environment (credentials,
// AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), and needs dynamodb:Query,
// dynamodb:Scan on the table's index, dynamodb:GetItem, dynamodb:UpdateItem and (for
// delete-client) dynamodb:DeleteItem on the table.
//
// revoke and delete-client count the grants they revoked in CloudWatch, as the functions
// count theirs: GrantsRevoked{Function=grants, Cause=operator} in the Authbridge namespace
// (PutMetricData; cloudwatch:PutMetricData). The command runs on an operator's machine, where
// an EMF line would reach no log group. Against a local table (AWS_ENDPOINT_URL_DYNAMODB set)
// the metric is sent only to AWS_ENDPOINT_URL_CLOUDWATCH, when set. A metric that cannot be
// sent is a warning on stderr: the revocation stands and the output line is the record.
// Errors go to stderr with exit status 1; usage errors print nothing on stdout.
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

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
)

const usage = "usage: grants list|revoke -user <WorkOS user id> | -client <client_id> | -org <organization id>\n" +
	"       grants delete-client <client_id>"

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "grants:", err)
		os.Exit(1)
	}
}

// grantLine is what list prints per family.
type grantLine struct {
	FamilyID   string `json:"family_id"`
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name"`
	UserID     string `json:"user_id"`
	OrgID      string `json:"org_id"`
	Scope      string `json:"scope"`
	Resource   string `json:"resource"`
	Created    string `json:"created"`
	LastUsed   string `json:"last_used"`
	Expires    string `json:"expires"`
	Revoked    bool   `json:"revoked"`
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd, args := args[0], args[1:]
	var filter store.GrantFilter
	var clientID string
	switch cmd {
	case "list", "revoke":
		flags := flag.NewFlagSet(cmd, flag.ContinueOnError)
		flags.SetOutput(io.Discard) // the usage line below says it all
		flags.StringVar(&filter.UserID, "user", "", "the person's WorkOS user id (user_…)")
		flags.StringVar(&filter.ClientID, "client", "", "the MCP client's client_id (abc_…)")
		flags.StringVar(&filter.OrgID, "org", "", "the WorkOS organization id (org_…)")
		if err := flags.Parse(args); err != nil || flags.NArg() > 0 {
			return errors.New(usage)
		}
		n := 0
		for _, v := range []string{filter.UserID, filter.ClientID, filter.OrgID} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return errors.New(usage)
		}
	case "delete-client":
		if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
			return errors.New(usage)
		}
		clientID = args[0]
		filter.ClientID = clientID
	default:
		return errors.New(usage)
	}
	table := getenv("TABLE_NAME")
	if table == "" {
		return errors.New("TABLE_NAME is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws configuration: %w", err)
	}
	st := store.New(dynamodb.NewFromConfig(awsCfg), table)

	switch cmd {
	case "list":
		return list(ctx, st, filter, stdout)
	case "revoke":
		matched, revoked, err := st.RevokeFamilies(ctx, filter)
		countRevoked(ctx, awsCfg, getenv, stderr, revoked)
		if err != nil {
			return fmt.Errorf("revoke (%d revoked before the error): %w", revoked, err)
		}
		key, value := filterField(filter)
		return jsonLine(stdout, map[string]any{key: value, "matched": matched, "revoked": revoked})
	default: // delete-client
		// The registration first: no new grant can start through the client while its
		// families are revoked.
		deleted, err := st.DeleteClient(ctx, clientID)
		if err != nil {
			return fmt.Errorf("delete %s: %w", clientID, err)
		}
		matched, revoked, err := st.RevokeFamilies(ctx, filter)
		countRevoked(ctx, awsCfg, getenv, stderr, revoked)
		if err != nil {
			return fmt.Errorf("client %s deleted; revoking its grants (%d revoked before the error): %w", clientID, revoked, err)
		}
		return jsonLine(stdout, map[string]any{"client_id": clientID, "deleted": deleted, "matched": matched, "revoked": revoked})
	}
}

// countRevoked sends GrantsRevoked{Function=grants, Cause=operator} = n to CloudWatch (none
// when n is 0, or for a local table without a CloudWatch endpoint); a failure is a warning.
func countRevoked(ctx context.Context, awsCfg aws.Config, getenv func(string) string, stderr io.Writer, n int) {
	endpoint := getenv("AWS_ENDPOINT_URL_CLOUDWATCH")
	if n == 0 || (getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" && endpoint == "") {
		return
	}
	client := cloudwatch.NewFromConfig(awsCfg, func(o *cloudwatch.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := client.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String(obs.Namespace),
		MetricData: []cwtypes.MetricDatum{{
			MetricName: aws.String(obs.GrantsRevoked),
			Unit:       cwtypes.StandardUnitCount,
			Value:      aws.Float64(float64(n)),
			Dimensions: []cwtypes.Dimension{
				{Name: aws.String(obs.DimFunction), Value: aws.String("grants")},
				{Name: aws.String(obs.DimCause), Value: aws.String(obs.CauseOperator)},
			},
		}},
	})
	if err != nil {
		fmt.Fprintf(stderr, "grants: warning: %d grants revoked, but the GrantsRevoked metric could not be sent: %v\n", n, err)
	}
}

func list(ctx context.Context, st *store.Store, filter store.GrantFilter, stdout io.Writer) error {
	fams, err := st.Families(ctx, filter)
	if err != nil {
		return err
	}
	names := map[string]string{} // client id -> name; "" for a client deleted or expired
	for _, f := range fams {
		name, seen := names[f.ClientID]
		if !seen {
			c, err := st.GetClient(ctx, f.ClientID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			name = c.Name
			names[f.ClientID] = name
		}
		line := grantLine{
			FamilyID: f.ID, ClientID: f.ClientID, ClientName: name, UserID: f.UserID, OrgID: f.OrgID,
			Scope: f.Scope, Resource: f.Resource, Created: stamp(f.CreatedAt), LastUsed: stamp(f.LastUsedAt),
			Expires: stamp(f.ExpiresAt), Revoked: f.Revoked,
		}
		if err := jsonLine(stdout, line); err != nil {
			return err
		}
	}
	return nil
}

// filterField names the filter in revoke's output line.
func filterField(f store.GrantFilter) (string, string) {
	switch {
	case f.UserID != "":
		return "user_id", f.UserID
	case f.ClientID != "":
		return "client_id", f.ClientID
	default:
		return "org_id", f.OrgID
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// jsonLine writes v as one line of JSON, URLs unescaped ("&" stays "&").
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v) // Encode ends the line with "\n"
}
