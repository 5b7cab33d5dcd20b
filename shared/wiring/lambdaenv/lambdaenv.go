// Package lambdaenv is what every function reads at cold start, whatever it serves: its
// configuration, logger and metrics, the AWS SDK configuration from the Lambda environment,
// and the time budgets. It imports no AWS service client, so a function that calls none
// (the metadata documents) links none; shared/wiring and the packages beside it build the
// clients a function does call.
package lambdaenv

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/obs"
)

// Env is one Lambda function's configuration, logger and metrics.
type Env struct {
	Config config.Config
	// Log writes JSON lines (with LoggingConfig LogFormat JSON) through lambdacontext's handler,
	// completed by obs.NewHandler: every line has requestId, route, client_id and outcome.
	Log *slog.Logger
	// Metrics writes EMF lines to stdout, with the Lambda function's name as Function.
	Metrics *obs.Metrics
}

// Load reads the configuration; on error it logs and exits, so Lambda reports an init
// failure instead of serving with a broken configuration.
func Load() Env {
	log := slog.New(obs.NewHandler(lambdacontext.NewLogHandler()))
	cfg, err := config.FromEnv()
	if err != nil {
		Fatal(log, "invalid configuration", err)
	}
	return Env{Config: cfg, Log: log, Metrics: obs.NewMetrics(os.Stdout, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))}
}

// Fatal logs msg and err as one JSON error line and exits with status 1: the cold start
// stops and Lambda reports an init failure.
func Fatal(log *slog.Logger, msg string, err error) {
	log.Error(msg, "error", err.Error())
	os.Exit(1)
}

// Error is an error with a fixed message.
func Error(msg string) error { return errString(msg) }

type errString string

func (e errString) Error() string { return string(e) }
