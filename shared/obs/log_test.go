package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// topLevel decodes a JSON log line's top-level members, failing on a repeated key (slog's
// JSON handler would happily write one, and CloudWatch would keep only one of the values).
func topLevel(t *testing.T, line string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q", line)
	}
	out := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("bad JSON %q: %v", line, err)
		}
		key := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad JSON %q: %v", line, err)
		}
		if _, dup := out[key]; dup {
			t.Fatalf("key %q twice in %s", key, line)
		}
		out[key] = v
	}
	return out
}

// serve runs h behind Scope for one request.
func serve(ctx context.Context, h http.HandlerFunc) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://example.com/api/ext/auth/token", nil)
	Scope("/api/ext/auth/token", h).ServeHTTP(nopWriter{}, req)
}

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

func jsonLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(NewHandler(slog.NewJSONHandler(buf, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr})))
}

// Outside Lambda: the request's keys come from the scope, a request id is made up, and keys
// the caller gave are neither replaced nor repeated.
func TestLinesCarryRequestKeys(t *testing.T) {
	var buf bytes.Buffer
	log := jsonLogger(&buf)
	serve(context.Background(), func(_ http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log.InfoContext(ctx, "before the client is known")
		SetClientID(ctx, "abc_client")
		log.InfoContext(ctx, "token issued", "outcome", "issued")
		log.With(KeyRoute, "/custom").InfoContext(ctx, "own route", KeyClientID, "other", KeyOutcome, "x")
	})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	first, second, third := topLevel(t, lines[0]), topLevel(t, lines[1]), topLevel(t, lines[2])
	if first[KeyRoute] != "/api/ext/auth/token" || first[KeyClientID] != "" || first[KeyOutcome] != "" {
		t.Fatalf("first line: %v", first)
	}
	if id, _ := first[KeyRequestID].(string); len(id) != 32 || second[KeyRequestID] != id || third[KeyRequestID] != id {
		t.Fatalf("request ids: %v %v %v", first[KeyRequestID], second[KeyRequestID], third[KeyRequestID])
	}
	if second[KeyClientID] != "abc_client" || second[KeyOutcome] != "issued" {
		t.Fatalf("second line: %v", second)
	}
	if third[KeyRoute] != "/custom" || third[KeyClientID] != "other" || third[KeyOutcome] != "x" {
		t.Fatalf("third line: %v", third)
	}
	if _, ok := first["message"]; !ok {
		t.Fatalf("Lambda's key names (message, timestamp) expected: %v", first)
	}
}

// Two requests get two request ids.
func TestRequestIDsDiffer(t *testing.T) {
	var a, b string
	serve(context.Background(), func(_ http.ResponseWriter, r *http.Request) { a = RequestID(r.Context()) })
	serve(context.Background(), func(_ http.ResponseWriter, r *http.Request) { b = RequestID(r.Context()) })
	if a == "" || a == b {
		t.Fatalf("request ids %q and %q", a, b)
	}
}

// A line logged outside any request still has the keys (empty), so queries need no guard.
func TestLineOutsideRequest(t *testing.T) {
	var buf bytes.Buffer
	jsonLogger(&buf).Info("cold start")
	line := topLevel(t, strings.TrimSpace(buf.String()))
	for _, k := range []string{KeyRoute, KeyClientID, KeyOutcome} {
		if v, ok := line[k]; !ok || v != "" {
			t.Fatalf("%s = %v, want present and empty: %v", k, v, line)
		}
	}
}

// In Lambda, through aws-lambda-go's own handler and the API Gateway adapter: requestId is
// Lambda's and appears once; API Gateway's id is apiRequestId.
func TestLambdaRequestIDOnce(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = f // lambdacontext's handler writes to the os.Stdout of its creation
	inner := lambdacontext.NewLogHandler()
	os.Stdout = stdout
	log := slog.New(NewHandler(inner))

	var seen string
	h := Scope("/api/ext/auth/register", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
		log.InfoContext(r.Context(), "client registered", "outcome", "registered")
		w.WriteHeader(http.StatusCreated)
	}))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	ev := events.APIGatewayProxyRequest{HTTPMethod: http.MethodPost, Path: "/api/ext/auth/register",
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "apigw-req-1"}}
	if _, err := httpadapter.New(h).ProxyWithContext(ctx, ev); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(f.Name())
	line := string(out)
	if seen != "lambda-req-1" {
		t.Fatalf("RequestID = %q", seen)
	}
	// The format follows AWS_LAMBDA_LOG_FORMAT (TEXT here; JSON in AWS with LogFormat JSON).
	if strings.Count(line, "requestId=") != 1 || !strings.Contains(line, "requestId=lambda-req-1") {
		t.Fatalf("want requestId=lambda-req-1 exactly once: %s", line)
	}
	for _, want := range []string{"apiRequestId=apigw-req-1", "route=/api/ext/auth/register", "client_id=\"\"", "outcome=registered"} {
		if !strings.Contains(line, want) {
			t.Fatalf("want %s in: %s", want, line)
		}
	}
}

// Through API Gateway without a Lambda context (a local gateway that calls the handler in
// process), API Gateway's id is the request id.
func TestAPIGatewayIDWithoutLambda(t *testing.T) {
	var buf bytes.Buffer
	log := jsonLogger(&buf)
	h := Scope("/api/ext/auth/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "x", "outcome", "y")
		w.WriteHeader(http.StatusOK)
	}))
	ev := events.APIGatewayProxyRequest{HTTPMethod: http.MethodPost, Path: "/api/ext/auth/token",
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "apigw-req-2"}}
	if _, err := httpadapter.New(h).ProxyWithContext(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	line := topLevel(t, strings.TrimSpace(buf.String()))
	if line[KeyRequestID] != "apigw-req-2" {
		t.Fatalf("requestId: %v", line)
	}
	if _, ok := line[KeyAPIRequestID]; ok {
		t.Fatalf("apiRequestId repeats requestId: %v", line)
	}
}
