// Package obs is what Authbridge's functions tell CloudWatch: structured log lines that each
// carry the request id, route, client id and outcome, and metrics as CloudWatch Embedded
// Metric Format (EMF) lines in the namespace Authbridge.
//
// # Logs
//
// Functions log with log/slog through aws-lambda-go's lambdacontext handler, so Lambda's
// LoggingConfig (LogFormat JSON, ApplicationLogLevel) applies and each line gets the Lambda
// requestId. NewHandler wraps that handler and completes every record with the request's
// route and client id, which Scope (an http middleware) and SetClientID keep in the request
// context, and with an empty outcome when the caller gave none: the keys are always present,
// so CloudWatch Logs Insights queries never need to test for them. Outside Lambda (tests, a
// plain http server) Scope's own request id is logged as requestId instead.
//
// Log lines never carry secrets, codes, tokens, cookies or CSRF values; callers log ids,
// outcomes and reasons only. shared/authserver's obs_logs_test.go proves it on a full flow.
//
// # Metrics
//
// Metrics writes one EMF JSON line per event (Count, Latency) to stdout, where CloudWatch
// Logs extracts the metric; no CloudWatch API call is made. Every metric has the dimension
// Function (the Lambda function's name) plus at most one of Grant, Reason and Operation, to
// keep the number of metrics small. A nil *Metrics discards everything, so callers never
// check for it.
package obs
