package main

import (
	"bufio"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The parsers read the text the steps print. Each is lenient about what surrounds the lines
// it wants (test logs, `go test` headers, t.Logf's "file.go:12:" prefix, ANSI-free) and strict
// about the lines themselves: a line that does not have the expected shape is ignored.

// BenchStat is one benchmark of a `go test -bench` run (or a line printed in that format):
// its name without "Benchmark" and without the GOMAXPROCS suffix, the number of result lines
// seen, and the median of each unit (ns/op, B/op, allocs/op, custom metrics) over those lines.
type BenchStat struct {
	Name   string
	Runs   int
	Median map[string]float64
}

// NsPerOp is the median ns/op, or NaN if the benchmark reported none.
func (b BenchStat) NsPerOp() float64 { return b.value("ns/op") }

func (b BenchStat) value(unit string) float64 {
	if v, ok := b.Median[unit]; ok {
		return v
	}
	return math.NaN()
}

// benchLine: "BenchmarkName-8   	  1000	   1234 ns/op	  56 B/op	  2 allocs/op".
var benchLine = regexp.MustCompile(`^Benchmark(\S+)\s+(\d+)\s+(.+)$`)

// procsSuffix is the "-N" that go test appends to a benchmark name when GOMAXPROCS > 1.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// ParseBenchmarks returns the benchmarks of text in the order they first appear, with the
// median of each unit over all of their result lines (go test -count N prints N lines).
func ParseBenchmarks(text string) []BenchStat {
	type acc struct {
		runs   int
		values map[string][]float64
	}
	var order []string
	seen := map[string]*acc{}
	scan(text, func(line string) {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			return
		}
		fields := strings.Fields(m[3])
		if len(fields) < 2 || len(fields)%2 != 0 {
			return
		}
		vals := map[string]float64{}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return
			}
			vals[fields[i+1]] = v
		}
		if _, ok := vals["ns/op"]; !ok {
			return
		}
		name := procsSuffix.ReplaceAllString(m[1], "")
		a := seen[name]
		if a == nil {
			a = &acc{values: map[string][]float64{}}
			seen[name] = a
			order = append(order, name)
		}
		a.runs++
		for u, v := range vals {
			a.values[u] = append(a.values[u], v)
		}
	})
	out := make([]BenchStat, 0, len(order))
	for _, name := range order {
		a := seen[name]
		s := BenchStat{Name: name, Runs: a.runs, Median: map[string]float64{}}
		for u, vs := range a.values {
			s.Median[u] = median(vs)
		}
		out = append(out, s)
	}
	return out
}

// FunctionSize is a function's deployed binary: SIZE <function> <bytes> [<budget-bytes>].
// Budget is 0 when the line has none.
type FunctionSize struct {
	Function string
	Bytes    int64
	Budget   int64
}

// FunctionInit is a function's init time: the median of its INIT <function> <milliseconds>
// lines, and how many there were.
type FunctionInit struct {
	Function string
	Millis   float64
	Samples  int
}

var (
	sizeLine = regexp.MustCompile(`(?:^|\s)SIZE\s+([A-Za-z0-9_.-]+)\s+(\d+)(?:\s+(\d+))?\s*$`)
	initLine = regexp.MustCompile(`(?:^|\s)INIT\s+([A-Za-z0-9_.-]+)\s+(\d+(?:\.\d+)?)(?:\s*ms)?\s*$`)
)

// ParseSizes reads SIZE and INIT lines, in the order each function first appears. A later
// SIZE line for the same function replaces the earlier one; INIT lines are collected and
// their median kept.
func ParseSizes(text string) ([]FunctionSize, []FunctionInit) {
	var sizes []FunctionSize
	sizeAt := map[string]int{}
	var initOrder []string
	inits := map[string][]float64{}
	scan(text, func(line string) {
		if m := sizeLine.FindStringSubmatch(line); m != nil {
			b, err := strconv.ParseInt(m[2], 10, 64)
			if err != nil {
				return
			}
			var budget int64
			if m[3] != "" {
				if budget, err = strconv.ParseInt(m[3], 10, 64); err != nil {
					return
				}
			}
			s := FunctionSize{Function: m[1], Bytes: b, Budget: budget}
			if i, ok := sizeAt[s.Function]; ok {
				sizes[i] = s
			} else {
				sizeAt[s.Function] = len(sizes)
				sizes = append(sizes, s)
			}
			return
		}
		if m := initLine.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				return
			}
			if _, ok := inits[m[1]]; !ok {
				initOrder = append(initOrder, m[1])
			}
			inits[m[1]] = append(inits[m[1]], v)
		}
	})
	out := make([]FunctionInit, 0, len(initOrder))
	for _, f := range initOrder {
		out = append(out, FunctionInit{Function: f, Millis: median(inits[f]), Samples: len(inits[f])})
	}
	return sizes, out
}

// EndpointCalls is one CALLS line: CALLS <endpoint> dynamodb=<n> kms=<n> workos=<n> [detail]
// (any number of name=count pairs, in the order printed; whatever follows them, such as the
// operations "(GetItem:1,PutItem:1)", is kept as Detail).
type EndpointCalls struct {
	Endpoint string
	Services []string
	Counts   map[string]int
	Detail   string
}

var callsLine = regexp.MustCompile(`(?:^|\s)CALLS\s+(\S+)((?:\s+[A-Za-z][A-Za-z0-9_]*=\d+)+)(?:\s+(.*?))?\s*$`)

// ParseCalls reads CALLS lines, as printed directly or through t.Logf (which prefixes
// "    file_test.go:42: "). An endpoint printed twice keeps its first position and its last
// counts.
func ParseCalls(text string) []EndpointCalls {
	var out []EndpointCalls
	at := map[string]int{}
	scan(text, func(line string) {
		m := callsLine.FindStringSubmatch(line)
		if m == nil {
			return
		}
		c := EndpointCalls{Endpoint: m[1], Counts: map[string]int{}, Detail: m[3]}
		for _, kv := range strings.Fields(m[2]) {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				return
			}
			if _, dup := c.Counts[k]; !dup {
				c.Services = append(c.Services, k)
			}
			c.Counts[k] = n
		}
		if i, ok := at[c.Endpoint]; ok {
			out[i] = c
		} else {
			at[c.Endpoint] = len(out)
			out = append(out, c)
		}
	})
	return out
}

// Metric is one BENCH <name> <number> line.
type Metric struct {
	Name  string
	Value float64
}

var metricLine = regexp.MustCompile(`(?:^|\s)BENCH\s+([A-Za-z0-9_.:/-]+)\s+(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$`)

// ParseMetrics reads BENCH lines in order; a name printed twice keeps its last value.
func ParseMetrics(text string) []Metric {
	var out []Metric
	at := map[string]int{}
	scan(text, func(line string) {
		m := metricLine.FindStringSubmatch(line)
		if m == nil {
			return
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil || math.IsInf(v, 0) {
			return
		}
		if i, ok := at[m[1]]; ok {
			out[i].Value = v
			return
		}
		at[m[1]] = len(out)
		out = append(out, Metric{Name: m[1], Value: v})
	})
	return out
}

// Lookup returns the value of the metric named name.
func Lookup(ms []Metric, name string) (float64, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// Machine is what /proc says about the machine.
type Machine struct {
	CPU      string
	Cores    int
	MemBytes int64
}

// ParseCPUInfo reads the first "model name" and the number of "processor" entries of
// /proc/cpuinfo.
func ParseCPUInfo(text string) (model string, cores int) {
	scan(text, func(line string) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return
		}
		switch strings.TrimSpace(k) {
		case "processor":
			cores++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		}
	})
	return model, cores
}

// ParseMemTotal reads MemTotal (kB) from /proc/meminfo, in bytes; 0 if absent.
func ParseMemTotal(text string) int64 {
	var total int64
	scan(text, func(line string) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				total = kb * 1024
			}
		}
	})
	return total
}

func scan(text string, each func(line string)) {
	s := bufio.NewScanner(strings.NewReader(text))
	s.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for s.Scan() {
		each(s.Text())
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
