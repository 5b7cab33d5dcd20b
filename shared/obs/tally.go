package obs

import (
	"context"
	"sync/atomic"
	"time"
)

// Tally counts a hot-path event in memory and writes the sum as one EMF line at most once
// per interval (and on Flush), so the authorizer's cached path pays an atomic add instead of
// a JSON line per request. CloudWatch sums the values, so the metric's Sum is unchanged;
// what an instance counted after its last line is lost when Lambda retires it (at most one
// interval's worth), which is the price of keeping the allow path in microseconds.
type Tally struct {
	m        *Metrics
	name     string
	dims     []Dim
	interval int64 // nanoseconds
	pending  atomic.Int64
	last     atomic.Int64 // UnixNano of the last write
}

// Tally returns a counter for name that writes at most once per interval. A nil Metrics
// gives a Tally that does nothing.
func (m *Metrics) Tally(name string, interval time.Duration, dims ...Dim) *Tally {
	return &Tally{m: m, name: name, dims: dims, interval: int64(interval)}
}

// Add counts one occurrence and writes the pending sum when the interval has passed.
func (t *Tally) Add(ctx context.Context) {
	if t == nil || t.m == nil {
		return
	}
	t.pending.Add(1)
	now := t.m.now().UnixNano()
	last := t.last.Load()
	if now-last >= t.interval && t.last.CompareAndSwap(last, now) {
		t.Flush(ctx)
	}
}

// Flush writes the pending sum now, if any.
func (t *Tally) Flush(ctx context.Context) {
	if t == nil || t.m == nil {
		return
	}
	if n := t.pending.Swap(0); n > 0 {
		t.m.put(ctx, t.name, UnitCount, float64(n), t.dims)
	}
}
