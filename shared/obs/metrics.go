package obs

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Namespace is the CloudWatch namespace of every Authbridge metric.
const Namespace = "Authbridge"

// Metric names. The comment says the unit, the dimensions besides Function, and who emits it.
const (
	Registrations           = "Registrations"             // Count; register: a client was registered
	AuthorizationsStarted   = "AuthorizationsStarted"     // Count; authorize: consent page shown, or straight to WorkOS
	AuthorizationsCompleted = "AuthorizationsCompleted"   // Count; callback: an authorization code was issued
	AuthorizationsDenied    = "AuthorizationsDenied"      // Count, Reason; consent (deny) or callback (WorkOS refused)
	TokensIssued            = "TokensIssued"              // Count, Grant; token
	RefreshTokenReuse       = "RefreshTokenReuseDetected" // Count; token: a rotated refresh token came back, family revoked
	CodeReplay              = "CodeReplayDetected"        // Count; token: a used code came back, its tokens revoked
	WorkOSErrors            = "WorkOSErrors"              // Count; callback: WorkOS failed (not a refusal of the person)
	KMSSignLatency          = "KMSSignLatency"            // Milliseconds; token: each kms:Sign call
	DynamoDBLatency         = "DynamoDBLatency"           // Milliseconds, Operation; every DynamoDB call, retries included
	AuthorizerAllow         = "AuthorizerAllow"           // Count; authorizer: the request may call the MCP route
	AuthorizerDeny          = "AuthorizerDeny"            // Count, Reason; authorizer: 401 or 403
	GrantsRevoked           = "GrantsRevoked"             // Count, Cause; webhook, token, revoke: token families revoked
)

// Dimension names.
const (
	DimFunction  = "Function"  // the Lambda function's name (AWS_LAMBDA_FUNCTION_NAME), on every metric
	DimGrant     = "Grant"     // authorization_code or refresh_token
	DimReason    = "Reason"    // a short fixed word: consent_denied, expired_token, …
	DimOperation = "Operation" // the AWS API operation: GetItem, TransactWriteItems, …
	DimCause     = "Cause"     // why grants were revoked: webhook
)

// Reasons of AuthorizationsDenied.
const (
	ReasonConsentDenied    = "consent_denied"    // the person pressed Deny on the consent page
	ReasonUpstreamDenied   = "upstream_denied"   // WorkOS returned access_denied (sign-in cancelled)
	ReasonUpstreamRejected = "upstream_rejected" // WorkOS refused the code exchange (expired, reused)
)

// Causes of GrantsRevoked.
const (
	CauseWebhook         = "webhook"          // a signed WorkOS event (user deleted, membership ended, session revoked)
	CauseUpstreamSession = "upstream_session" // token: a refresh found the person's WorkOS session ended
	CauseClient          = "client"           // revoke: the client revoked its refresh token (RFC 7009)
	CausePerson          = "person"           // connected-apps page: the person revoked an app
	CauseOperator        = "operator"         // infra/cmd/grants: an operator revoked grants
)

// Units (CloudWatch StandardUnit values).
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// Dim is one dimension of a metric. Values must come from a small fixed set (grant types,
// reason words, operation names): every distinct value is a separate CloudWatch metric.
type Dim struct{ Name, Value string }

// Grant is the Grant dimension.
func Grant(grantType string) Dim { return Dim{DimGrant, grantType} }

// Reason is the Reason dimension.
func Reason(reason string) Dim { return Dim{DimReason, reason} }

// Operation is the Operation dimension.
func Operation(op string) Dim { return Dim{DimOperation, op} }

// Cause is the Cause dimension (GrantsRevoked).
func Cause(cause string) Dim { return Dim{DimCause, cause} }

// Metrics writes CloudWatch Embedded Metric Format lines, one per event. It is safe for
// concurrent use. A nil *Metrics discards every event.
type Metrics struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// NewMetrics returns a Metrics that writes to w (os.Stdout in Lambda, where CloudWatch Logs
// extracts the metrics) with function as the Function dimension.
func NewMetrics(w io.Writer, function string) *Metrics {
	if function == "" {
		function = "unknown"
	}
	return &Metrics{w: w, function: function, now: time.Now}
}

// WithClock replaces the clock of the EMF timestamps (for tests). Call it before sharing m.
func (m *Metrics) WithClock(now func() time.Time) *Metrics {
	if m != nil {
		m.now = now
	}
	return m
}

// Count records one occurrence of the metric name.
func (m *Metrics) Count(ctx context.Context, name string, dims ...Dim) {
	m.put(ctx, name, UnitCount, 1, dims)
}

// Add records n occurrences of the metric name at once (n may be 0: nothing happened).
func (m *Metrics) Add(ctx context.Context, name string, n int, dims ...Dim) {
	m.put(ctx, name, UnitCount, float64(n), dims)
}

// Latency records a duration, in milliseconds, for the metric name.
func (m *Metrics) Latency(ctx context.Context, name string, d time.Duration, dims ...Dim) {
	m.put(ctx, name, UnitMilliseconds, float64(d)/float64(time.Millisecond), dims)
}

// emf is the _aws member of an EMF document (CloudWatch Embedded Metric Format specification).
type emf struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []metricDecl `json:"Metrics"`
}

type metricDecl struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

func (m *Metrics) put(ctx context.Context, name, unit string, value float64, dims []Dim) {
	if m == nil || m.w == nil {
		return
	}
	names := make([]string, 0, 1+len(dims))
	doc := make(map[string]any, 4+len(dims))
	names = append(names, DimFunction)
	doc[DimFunction] = m.function
	for _, d := range dims {
		if d.Name == "" || d.Name == DimFunction || d.Name == name {
			continue
		}
		v := d.Value
		if v == "" {
			v = "none" // CloudWatch refuses empty dimension values
		} else if len(v) > 250 {
			v = v[:250]
		}
		if _, dup := doc[d.Name]; !dup {
			names = append(names, d.Name)
		}
		doc[d.Name] = v
	}
	doc[name] = value
	if id := RequestID(ctx); id != "" {
		doc[KeyRequestID] = id // not a dimension: lets a metric event be found beside its logs
	}
	doc["_aws"] = emf{
		Timestamp: m.now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  Namespace,
			Dimensions: [][]string{names},
			Metrics:    []metricDecl{{Name: name, Unit: unit}},
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	line = append(line, '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(line) // one Write per line, so concurrent lines never interleave
}

// AWSLatency returns an aws-sdk-go-v2 API option, for a client's Options.APIOptions, that
// records the latency of every call the client makes as the metric name (Milliseconds) with
// the Operation dimension. It sits first in the Finalize step, ahead of the SDK's retry
// middleware, so one call's latency includes its retries: what the handler waited.
func (m *Metrics) AWSLatency(name string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if m == nil {
			return nil
		}
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("authbridge.obs."+name,
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleFinalize(ctx, in)
				m.Latency(ctx, name, time.Since(start), Operation(awsmiddleware.GetOperationName(ctx)))
				return out, md, err
			}), middleware.Before)
	}
}
