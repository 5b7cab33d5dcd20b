package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// decodeEMF parses one EMF line and checks it against the CloudWatch Embedded Metric Format
// specification: _aws.Timestamp (epoch ms), one directive in the Authbridge namespace, every
// dimension and metric it names present at the top level with a string / numeric value.
func decodeEMF(t *testing.T, line string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		t.Fatalf("EMF line is not JSON: %q", line)
	}
	aws, _ := doc["_aws"].(map[string]any)
	if ts, ok := aws["Timestamp"].(float64); !ok || ts <= 0 {
		t.Fatalf("_aws.Timestamp missing: %s", line)
	}
	dirs, _ := aws["CloudWatchMetrics"].([]any)
	if len(dirs) != 1 {
		t.Fatalf("want one CloudWatchMetrics directive: %s", line)
	}
	dir := dirs[0].(map[string]any)
	if dir["Namespace"] != Namespace {
		t.Fatalf("namespace %v: %s", dir["Namespace"], line)
	}
	for _, set := range dir["Dimensions"].([]any) {
		for _, d := range set.([]any) {
			if v, ok := doc[d.(string)].(string); !ok || v == "" {
				t.Fatalf("dimension %v has no value: %s", d, line)
			}
		}
	}
	for _, m := range dir["Metrics"].([]any) {
		decl := m.(map[string]any)
		if _, ok := doc[decl["Name"].(string)].(float64); !ok {
			t.Fatalf("metric %v has no numeric value: %s", decl["Name"], line)
		}
	}
	return doc
}

func TestCountEMFShape(t *testing.T) {
	var buf bytes.Buffer
	at := time.UnixMilli(1_760_000_000_123)
	m := NewMetrics(&buf, "authbridge-token").WithClock(func() time.Time { return at })
	m.Count(context.Background(), TokensIssued, Grant("refresh_token"))

	want := `{"Function":"authbridge-token","Grant":"refresh_token","TokensIssued":1,` +
		`"_aws":{"Timestamp":1760000000123,"CloudWatchMetrics":[{"Namespace":"Authbridge",` +
		`"Dimensions":[["Function","Grant"]],"Metrics":[{"Name":"TokensIssued","Unit":"Count"}]}]}}` + "\n"
	if buf.String() != want {
		t.Fatalf("EMF line\n got %s\nwant %s", buf.String(), want)
	}
	decodeEMF(t, strings.TrimSpace(buf.String()))
}

func TestLatencyInMilliseconds(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "fn")
	m.Latency(context.Background(), KMSSignLatency, 2500*time.Microsecond)
	doc := decodeEMF(t, strings.TrimSpace(buf.String()))
	if doc[KMSSignLatency] != 2.5 {
		t.Fatalf("latency %v, want 2.5 (milliseconds)", doc[KMSSignLatency])
	}
	decl := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any)[0].(map[string]any)
	if decl["Unit"] != UnitMilliseconds {
		t.Fatalf("unit %v", decl["Unit"])
	}
}

// Empty dimension values are refused by CloudWatch; the Function dimension cannot be
// replaced or repeated; the request id rides along as a plain property.
func TestDimensionsAreClean(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "")
	var ctx context.Context
	Scope("/x", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ctx = r.Context() })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	m.Count(ctx, AuthorizerDeny, Reason(""), Dim{DimFunction, "spoofed"}, Reason("expired_token"))
	doc := decodeEMF(t, strings.TrimSpace(buf.String()))
	if doc[DimFunction] != "unknown" || doc[DimReason] != "expired_token" {
		t.Fatalf("dimensions: %v", doc)
	}
	dims := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"].([]any)[0].([]any)
	if len(dims) != 2 {
		t.Fatalf("dimension set %v, want [Function Reason]", dims)
	}
	if id, _ := doc[KeyRequestID].(string); id == "" || id != RequestID(ctx) {
		t.Fatalf("requestId %v, want %q", doc[KeyRequestID], RequestID(ctx))
	}
}

// A nil *Metrics discards: handlers never check for it.
func TestNilMetricsDiscards(t *testing.T) {
	var m *Metrics
	m.Count(context.Background(), Registrations)
	m.Latency(context.Background(), DynamoDBLatency, time.Millisecond, Operation("GetItem"))
	if err := m.AWSLatency(DynamoDBLatency)(middleware.NewStack("op", nil)); err != nil {
		t.Fatal(err)
	}
}

// Concurrent events never interleave within a line.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "fn")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if i%2 == 0 {
				m.Count(context.Background(), Registrations)
			} else {
				m.Latency(context.Background(), DynamoDBLatency, time.Millisecond, Operation("PutItem"))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		decodeEMF(t, l)
	}
}

// The SDK middleware records one latency per call with the operation's name, errors included.
func TestAWSLatencyMiddleware(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "fn")
	stack := middleware.NewStack("GetItem", func() any { return struct{}{} })
	if err := m.AWSLatency(DynamoDBLatency)(stack); err != nil {
		t.Fatal(err)
	}
	// The operation name is set by the SDK in the Initialize step; set it the same way.
	err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("op", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		return next.HandleInitialize(awsmiddleware.SetOperationName(ctx, "GetItem"), in)
	}), middleware.Before)
	if err != nil {
		t.Fatal(err)
	}
	h := middleware.DecorateHandler(middleware.HandlerFunc(func(ctx context.Context, in any) (any, middleware.Metadata, error) {
		time.Sleep(2 * time.Millisecond)
		return nil, middleware.Metadata{}, nil
	}), stack)
	if _, _, err := h.Handle(context.Background(), struct{}{}); err != nil {
		t.Fatal(err)
	}
	doc := decodeEMF(t, strings.TrimSpace(buf.String()))
	if v := doc[DynamoDBLatency].(float64); v < 2 {
		t.Fatalf("latency %v ms, want ≥ 2", v)
	}
	if doc[DimOperation] != "GetItem" {
		t.Fatalf("Operation dimension %v, want GetItem", doc[DimOperation])
	}
}
