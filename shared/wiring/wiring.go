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
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
	"github.com/authbridge/authbridge/shared/wiring/authorizer"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
	"github.com/authbridge/authbridge/shared/wiring/signing"
	"github.com/authbridge/authbridge/shared/wiring/workos"
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
const coldStartTimeout = signing.ColdStartTimeout

// New reads the configuration and the AWS configuration (from the environment, no call);
// on error it logs and exits, so Lambda reports an init failure instead of serving with a
// broken configuration.
func New() *Function {
	env := lambdaenv.Load()
	// AWS_ENDPOINT_URL_DYNAMODB / _KMS / _SECRETS_MANAGER (local stack) are honoured.
	awsCfg, err := LoadAWSConfig(context.Background())
	if err != nil {
		fatal(env.Log, "aws configuration", err)
	}
	return &Function{Config: env.Config, Log: env.Log, Metrics: env.Metrics, AWS: awsCfg}
}

// env is f's configuration, logger and metrics as lambdaenv holds them.
func (f *Function) env() lambdaenv.Env {
	return lambdaenv.Env{Config: f.Config, Log: f.Log, Metrics: f.Metrics}
}

// ServeEndpoint serves one OAuth endpoint of the table (authserver.Endpoints): it builds
// the dependencies the endpoint declares — deps, which functions/<name>/main.go passes, one
// per Need (WithStore, WithMinter, WithKeys, WithSignIn, WithWebhooks) — has authserver
// check them, and starts the Lambda runtime loop. Anything missing stops the cold start with
// a logged error. Passing the builders from main, rather than looking them up here, is what
// keeps a function's binary free of the dependencies it does not use (docs/decisions.md).
func (f *Function) ServeEndpoint(e authserver.Endpoint, deps ...Dep) {
	f.Serve(f.EndpointHandler(e, deps...))
}

// EndpointHandler builds endpoint e's dependencies with deps and returns its checked
// handler; when deps are not exactly e's Needs it logs and exits, so Lambda reports an init
// failure.
func (f *Function) EndpointHandler(e authserver.Endpoint, deps ...Dep) http.Handler {
	srv := &authserver.Server{Config: f.Config, Log: f.Log, Metrics: f.Metrics, RequestBudget: RequestBudget}
	for _, d := range deps {
		if !slices.Contains(e.Needs, d.Need) {
			fatal(f.Log, "missing dependency", fmt.Errorf("functions/%s builds %s, which the %s endpoint does not declare", e.Function, d.Need, e.Function))
		}
	}
	builders := make([]Dep, len(e.Needs))
	for n, need := range e.Needs {
		i := slices.IndexFunc(deps, func(d Dep) bool { return d.Need == need })
		if i < 0 || deps[i].build == nil {
			fatal(f.Log, "missing dependency", fmt.Errorf("wiring cannot build %s for functions/%s (its main.go passes no wiring.With%s)", need, e.Function, need))
		}
		builders[n] = deps[i]
	}
	for _, d := range builders {
		d.build(f, srv)
	}
	return f.checkedHandler(srv, e)
}

// Dep builds one dependency an endpoint may declare (authserver.Dependency) from the
// configuration.
type Dep struct {
	Need  authserver.Dependency
	build func(f *Function, srv *authserver.Server)
}

// The dependencies an endpoint may declare, as functions/<name>/main.go passes them.
var (
	WithStore    = Dep{authserver.NeedStore, func(f *Function, srv *authserver.Server) { srv.Store = f.Store() }}
	WithMinter   = Dep{authserver.NeedMinter, func(f *Function, srv *authserver.Server) { srv.Minter = f.Minter() }}
	WithKeys     = Dep{authserver.NeedKeys, func(f *Function, srv *authserver.Server) { srv.Keys = f.KeySet() }}
	WithSignIn   = Dep{authserver.NeedSignIn, func(f *Function, srv *authserver.Server) { srv.SignIn = workos.Narrow(f.SignIn()) }}
	WithWebhooks = Dep{authserver.NeedWebhooks, func(f *Function, srv *authserver.Server) { srv.Webhooks = f.Webhooks() }}
)

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
func (f *Function) Authorizer() *guard.Authorizer { return authorizer.New(f.env(), f.AWS) }

// WorkOSClient returns the WorkOS User Management client the MCP tools call as the signed-in
// person, or stops the cold start when there is none.
func (f *Function) WorkOSClient() *usermanagement.Client { return workos.Client(f.env(), f.AWS) }

// Directory is the WorkOS client as the MCP tools call it (mcpserver.New), or the end of the
// cold start when there is none.
func (f *Function) Directory() workos.Directory { return workos.NewDirectory(f.env(), f.AWS) }

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
func (f *Function) Minter() *tokens.Minter { return signing.Minter(f.env(), f.AWS) }

// KMSSignMetrics records the latency of a kms:Sign call (tokens.Minter.WithSignObserver).
func (f *Function) KMSSignMetrics(ctx context.Context, elapsed time.Duration, err error) {
	signing.SignMetrics(f.Metrics)(ctx, elapsed, err)
}

// KeySet loads the public keys of ACCEPTED_KEY_IDS from KMS, once per cold start.
func (f *Function) KeySet() *tokens.KeySet { return signing.KeySet(f.env(), f.AWS) }

// SignIn returns the WorkOS client, reading the API key from Secrets Manager in AWS.
func (f *Function) SignIn() *upstream.SignIn { return workos.SignIn(f.env(), f.AWS) }

// Webhooks returns the WorkOS webhook configuration, reading the signing secret from Secrets
// Manager in AWS; without WORKOS_WEBHOOK_SECRET_ARN (or WORKOS_WEBHOOK_SECRET locally) the
// secret is empty and the webhook endpoint answers 404.
func (f *Function) Webhooks() *authserver.Webhooks {
	ctx, cancel := context.WithTimeout(context.Background(), coldStartTimeout)
	defer cancel()
	secret, err := upstream.LoadWebhookSecret(ctx, workos.SecretsAPI(f.AWS), f.Config.WorkOSWebhookSecretSecretARN, f.Config.WorkOSWebhookSecret)
	if err != nil {
		fatal(f.Log, "WorkOS webhook secret", err)
	}
	return &authserver.Webhooks{Secret: secret, Tolerance: authserver.WebhookTolerance}
}

// Serve starts the Lambda runtime loop with h behind the API Gateway proxy adapter.
func (f *Function) Serve(h http.Handler) {
	lambda.Start(web.LambdaHandler(h, f.Log))
}

func fatal(log *slog.Logger, msg string, err error) { lambdaenv.Fatal(log, msg, err) }

func errString(msg string) error { return lambdaenv.Error(msg) }
