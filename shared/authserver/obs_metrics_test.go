package authserver_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/authbridge/authbridge/shared/obs"
)

// emfEvent is one metric event read from an EMF line.
type emfEvent struct {
	Name, Unit string
	Value      float64
	Dims       map[string]string // every dimension, Function included
	RequestID  string
}

// key names the metric as the test counts it: name plus its dimensions other than Function.
func (e emfEvent) key() string {
	var parts []string
	for k, v := range e.Dims {
		if k != obs.DimFunction {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return e.Name
	}
	sort.Strings(parts)
	return e.Name + "{" + strings.Join(parts, ",") + "}"
}

// parseEMF validates one line against the CloudWatch Embedded Metric Format specification
// and returns its metric events: _aws.Timestamp in epoch milliseconds (here: now, give or
// take a minute), directives in the Authbridge namespace, every dimension set's names with a
// non-empty string value at the top level, every metric's name with a numeric value at the
// top level and a CloudWatch unit.
func parseEMF(t *testing.T, line string) []emfEvent {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		t.Fatalf("EMF line is not a JSON object: %q", line)
	}
	var meta struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(doc["_aws"], &meta); err != nil || meta.Timestamp == nil || len(meta.CloudWatchMetrics) == 0 {
		t.Fatalf("no valid _aws member: %s", line)
	}
	if d := time.Since(time.UnixMilli(*meta.Timestamp)); d < -time.Minute || d > time.Minute {
		t.Fatalf("_aws.Timestamp %d is not now: %s", *meta.Timestamp, line)
	}
	str := func(k string) string {
		var v string
		if err := json.Unmarshal(doc[k], &v); err != nil || v == "" {
			t.Fatalf("dimension %q has no string value: %s", k, line)
		}
		return v
	}
	var requestID string
	_ = json.Unmarshal(doc["requestId"], &requestID)
	var events []emfEvent
	for _, dir := range meta.CloudWatchMetrics {
		if dir.Namespace != obs.Namespace {
			t.Fatalf("namespace %q: %s", dir.Namespace, line)
		}
		if len(dir.Dimensions) != 1 || len(dir.Dimensions[0]) == 0 || len(dir.Dimensions[0]) > 2 || dir.Dimensions[0][0] != obs.DimFunction {
			t.Fatalf("want one dimension set, Function first, at most one more: %s", line)
		}
		dims := map[string]string{}
		for _, d := range dir.Dimensions[0] {
			dims[d] = str(d)
		}
		for _, m := range dir.Metrics {
			var v float64
			if err := json.Unmarshal(doc[m.Name], &v); err != nil {
				t.Fatalf("metric %q has no numeric value: %s", m.Name, line)
			}
			if m.Unit != obs.UnitCount && m.Unit != obs.UnitMilliseconds {
				t.Fatalf("unit %q: %s", m.Unit, line)
			}
			events = append(events, emfEvent{Name: m.Name, Unit: m.Unit, Value: v, Dims: dims, RequestID: requestID})
		}
	}
	return events
}

// TestObsMetricsOfAFullFlow reads the EMF lines of a full flow and checks each count, the
// KMS and DynamoDB latencies, and that every counted event belongs to a logged request.
func TestObsMetricsOfAFullFlow(t *testing.T) {
	f := runObservedFlow(t)
	logIDs := map[string]bool{}
	for _, line := range f.Logs {
		logIDs[jsonObject(t, line)["requestId"].(string)] = true
	}

	counts := map[string]int{}
	operations := map[string]int{}
	for _, line := range f.Metrics {
		for _, e := range parseEMF(t, line) {
			if e.Dims[obs.DimFunction] != "authbridge-test" {
				t.Fatalf("Function %q: %s", e.Dims[obs.DimFunction], line)
			}
			switch e.Name {
			case obs.KMSSignLatency, obs.DynamoDBLatency:
				if e.Unit != obs.UnitMilliseconds || e.Value < 0 || e.Value > 10_000 {
					t.Fatalf("latency: %s", line)
				}
				if e.Name == obs.DynamoDBLatency {
					operations[e.Dims[obs.DimOperation]]++
					continue
				}
			default:
				if e.Unit != obs.UnitCount || e.Value != 1 {
					t.Fatalf("count: %s", line)
				}
				if !logIDs[e.RequestID] {
					t.Fatalf("requestId %q of %s is in no log line", e.RequestID, line)
				}
			}
			counts[e.key()]++
		}
	}

	want := map[string]int{
		obs.Registrations:           2,
		obs.AuthorizationsStarted:   6, // 3 consent pages + 3 remembered consents straight to WorkOS
		obs.AuthorizationsCompleted: 3,
		obs.AuthorizationsDenied + "{Reason=" + obs.ReasonConsentDenied + "}":  1,
		obs.AuthorizationsDenied + "{Reason=" + obs.ReasonUpstreamDenied + "}": 1,
		obs.WorkOSErrors: 1,
		obs.TokensIssued + "{Grant=authorization_code}":       3,
		obs.TokensIssued + "{Grant=refresh_token}":            1,
		obs.RefreshTokenReuse:                                 1,
		obs.CodeReplay:                                        1,
		obs.KMSSignLatency:                                    4, // one kms:Sign per token (key id, not alias)
		obs.GrantsRevoked + "{Cause=" + obs.CauseClient + "}": 2, // the public and the confidential client revoke theirs
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d, want %d", k, counts[k], n)
		}
	}
	for k, n := range counts {
		if _, ok := want[k]; !ok && !strings.HasPrefix(k, obs.DynamoDBLatency+"{") {
			t.Errorf("unexpected metric %s (%d)", k, n)
		}
	}
	for _, op := range []string{"GetItem", "PutItem", "UpdateItem", "TransactWriteItems"} {
		if operations[op] == 0 {
			t.Errorf("no DynamoDBLatency for %s (got %v)", op, operations)
		}
	}
	if slices.Contains(mapKeys(operations), "") {
		t.Errorf("DynamoDBLatency without an operation: %v", operations)
	}
}

func mapKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
