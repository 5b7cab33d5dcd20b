package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A Tally writes the sum of its adds, at most once per interval, and nothing is lost on Flush.
func TestTallySumsPerInterval(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1_800_000_000, 0)
	m := NewMetrics(&buf, "AuthorizerFunction").WithClock(func() time.Time { return now })
	tally := m.Tally(AuthorizerAllow, time.Second)
	ctx := context.Background()

	tally.Add(ctx) // first add writes at once (value 1)
	for range 9 {
		tally.Add(ctx) // same instant: pending
	}
	now = now.Add(1500 * time.Millisecond)
	tally.Add(ctx) // interval passed: writes 10
	tally.Add(ctx)
	tally.Add(ctx)
	tally.Flush(ctx) // writes 2

	var values []float64
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		values = append(values, doc[AuthorizerAllow].(float64))
	}
	if len(values) != 3 || values[0] != 1 || values[1] != 10 || values[2] != 2 {
		t.Fatalf("values = %v, want [1 10 2] (sum 13 = adds)", values)
	}
	tally.Flush(ctx)
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Fatalf("an empty Flush wrote a line (%d lines)", n)
	}
	var nilTally *Tally
	nilTally.Add(ctx) // no metrics configured: no-op, no panic
	(*Metrics)(nil).Tally(AuthorizerAllow, time.Second).Add(ctx)
}
