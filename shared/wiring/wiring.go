// Package wiring builds a function's dependencies from its configuration — AWS clients,
// the store, the token minter, the accepted keys, the WorkOS client — once per cold start,
// so each functions/<name>/main.go stays a few lines long. A dependency that cannot be
// built, or an endpoint missing one, stops the cold start (a JSON error line, exit 1):
// Lambda reports an init failure rather than a function answering 500s.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// Function is one Lambda function's configuration, logger, metrics and AWS configuration.
type Function struct {
	Config config.Config
	// Log writes JSON lines (with LoggingConfig LogFormat JSON) through lambdacontext's handler,
	// completed by obs.NewHandler: every line has requestId, route, client_id and outcome.
	Log *slog.Logger
	// Metrics writes EMF lines to stdout, with the Lambda function's name as Function.
	Metrics *obs.Metrics
	AWS     aws.Config
}

// coldStartTimeout bounds the calls made at cold start (KMS public keys, the WorkOS secret).
const coldStartTimeout = 5 * time.Second

// New reads the configuration and the AWS configuration; on error it logs and exits, so
// Lambda reports an init failure instead of serving with a broken configuration.
func New() *Function {
	log := slog.New(obs.NewHandler(lambdacontext.NewLogHandler()))
	cfg, err := config.FromEnv()
	if err != nil {
		fatal(log, "invalid configuration", err)
	}
	// AWS_ENDPOINT_URL_DYNAMODB / _KMS (local stack) are honoured by the SDK itself.
	awsCfg, err := LoadAWSConfig(context.Background())
	if err != nil {
		fatal(log, "aws configuration", err)
	}
	metrics := obs.NewMetrics(os.Stdout, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	return &Function{Config: cfg, Log: log, Metrics: metrics, AWS: awsCfg}
}

// ServeEndpoint serves one OAuth endpoint of the table (authserver.Endpoints): it builds
// exactly the dependencies the endpoint declares, has authserver check them, and starts the
// Lambda runtime loop. Anything missing stops the cold start with a logged error.
func (f *Function) ServeEndpoint(e authserver.Endpoint) {
	f.Serve(f.EndpointHandler(e))
}

// EndpointHandler builds endpoint e's dependencies and returns its checked handler; on a
// missing dependency it logs and exits, so Lambda reports an init failure.
func (f *Function) EndpointHandler(e authserver.Endpoint) http.Handler {
	srv := &authserver.Server{Config: f.Config, Log: f.Log, Metrics: f.Metrics, RequestBudget: RequestBudget}
	for _, need := range e.Needs {
		build, ok := dependencyBuilders[need]
		if !ok {
			fatal(f.Log, "missing dependency", fmt.Errorf("wiring cannot build %s for functions/%s", need, e.Function))
		}
		build(f, srv)
	}
	return f.checkedHandler(srv, e)
}

// dependencyBuilders builds each dependency an endpoint may declare from the configuration.
var dependencyBuilders = map[authserver.Dependency]func(f *Function, srv *authserver.Server){
	authserver.NeedStore:    func(f *Function, srv *authserver.Server) { srv.Store = f.Store() },
	authserver.NeedMinter:   func(f *Function, srv *authserver.Server) { srv.Minter = f.Minter() },
	authserver.NeedKeys:     func(f *Function, srv *authserver.Server) { srv.Keys = f.KeySet() },
	authserver.NeedSignIn:   func(f *Function, srv *authserver.Server) { srv.SignIn = f.SignIn() },
	authserver.NeedWebhooks: func(f *Function, srv *authserver.Server) { srv.Webhooks = f.Webhooks() },
}

// checkedHandler is srv's handler for e, or the end of the cold start when srv lacks one of
// e's dependencies.
func (f *Function) checkedHandler(srv *authserver.Server, e authserver.Endpoint) http.Handler {
	h, err := srv.Handler(e)
	if err != nil {
		fatal(f.Log, "missing dependency", err)
	}
	return h
}

// Authorizer returns the Lambda authorizer of the MCP routes (shared/guard) over the
// accepted keys; KeySet stops the cold start when none can be loaded. With front doors
// configured it signs their upstream assertions with SIGNING_KEY_ID (Minter stops the cold
// start without it); without, it never calls kms:Sign.
func (f *Function) Authorizer() *guard.Authorizer {
	a := guard.New(f.Config, f.KeySet(), f.Log).WithMetrics(f.Metrics)
	if len(f.Config.FrontDoors) > 0 {
		a.WithAssertionMinter(f.Minter())
	}
	return a
}

// WorkOSClient returns the WorkOS User Management client the MCP tools call as the signed-in
// person, or stops the cold start when there is none.
func (f *Function) WorkOSClient() *usermanagement.Client {
	client := f.SignIn().Client()
	if client == nil {
		fatal(f.Log, "missing dependency", errString("the WorkOS client could not be built"))
	}
	return client
}

// Store returns the DynamoDB store for TABLE_NAME; each DynamoDB call's latency is a
// DynamoDBLatency metric.
func (f *Function) Store() *store.Store {
	if f.Config.TableName == "" {
		fatal(f.Log, "invalid configuration", errString("TABLE_NAME is required"))
	}
	return store.New(dynamodb.NewFromConfig(f.AWS, f.DynamoDBMetrics), f.Config.TableName)
}

// DynamoDBMetrics is a dynamodb.Options function that records each call's latency.
func (f *Function) DynamoDBMetrics(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, f.Metrics.AWSLatency(obs.DynamoDBLatency))
}

// Minter returns the KMS token minter for SIGNING_KEY_ID.
func (f *Function) Minter() *tokens.Minter {
	if f.Config.SigningKeyID == "" {
		fatal(f.Log, "invalid configuration", errString("SIGNING_KEY_ID is required"))
	}
	return tokens.NewMinter(kms.NewFromConfig(f.AWS), f.Config.SigningKeyID, f.Config.Issuer, f.Config.AccessTokenTTL).
		WithSignObserver(f.KMSSignMetrics)
}

// KMSSignMetrics records the latency of a kms:Sign call (tokens.Minter.WithSignObserver).
func (f *Function) KMSSignMetrics(ctx context.Context, elapsed time.Duration, _ error) {
	f.Metrics.Latency(ctx, obs.KMSSignLatency, elapsed)
}

// KeySet loads the public keys of ACCEPTED_KEY_IDS from KMS, once per cold start.
func (f *Function) KeySet() *tokens.KeySet {
	ctx, cancel := context.WithTimeout(context.Background(), coldStartTimeout)
	defer cancel()
	keys, err := tokens.LoadKeySet(ctx, kms.NewFromConfig(f.AWS), f.Config.AcceptedKeyIDs)
	if err == nil && len(keys.KeyIDs()) == 0 {
		err = errString("no accepted key was loaded")
	}
	if err != nil {
		fatal(f.Log, "signing keys could not be loaded", err)
	}
	return keys
}

// SignIn returns the WorkOS client, reading the API key from Secrets Manager in AWS.
func (f *Function) SignIn() *upstream.SignIn {
	ctx, cancel := context.WithTimeout(context.Background(), coldStartTimeout)
	defer cancel()
	key, err := upstream.LoadAPIKey(ctx, secretsmanager.NewFromConfig(f.AWS), f.Config.WorkOSAPIKeySecretARN, f.Config.WorkOSAPIKey)
	if err != nil {
		fatal(f.Log, "WorkOS API key", err)
	}
	if f.Config.WorkOSClientID == "" {
		fatal(f.Log, "invalid configuration", errString("WORKOS_CLIENT_ID is required"))
	}
	return upstream.NewSignIn(f.Config.WorkOSEndpoint, key, f.Config.WorkOSClientID, f.Config.Endpoint(authserver.PathCallback))
}

// Webhooks returns the WorkOS webhook configuration, reading the signing secret from Secrets
// Manager in AWS; without WORKOS_WEBHOOK_SECRET_ARN (or WORKOS_WEBHOOK_SECRET locally) the
// secret is empty and the webhook endpoint answers 404.
func (f *Function) Webhooks() *authserver.Webhooks {
	ctx, cancel := context.WithTimeout(context.Background(), coldStartTimeout)
	defer cancel()
	secret, err := upstream.LoadWebhookSecret(ctx, secretsmanager.NewFromConfig(f.AWS), f.Config.WorkOSWebhookSecretSecretARN, f.Config.WorkOSWebhookSecret)
	if err != nil {
		fatal(f.Log, "WorkOS webhook secret", err)
	}
	return &authserver.Webhooks{Secret: secret, Tolerance: authserver.WebhookTolerance}
}

// Serve starts the Lambda runtime loop with h behind the API Gateway proxy adapter.
func (f *Function) Serve(h http.Handler) {
	lambda.Start(web.LambdaHandler(h, f.Log))
}

func fatal(log *slog.Logger, msg string, err error) {
	log.Error(msg, "error", err.Error())
	os.Exit(1)
}

type errString string

func (e errString) Error() string { return string(e) }
