package main

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const goBenchOutput = `goos: linux
goarch: amd64
pkg: github.com/authbridge/authbridge/shared/guard
cpu: AMD EPYC
BenchmarkAuthorizerFreshToken-2      	    8294	    347247 ns/op	    3658 B/op	      45 allocs/op
BenchmarkAuthorizerFreshToken-2      	    9362	    407813 ns/op	    3657 B/op	      45 allocs/op
BenchmarkAuthorizerFreshToken-2      	    7719	    318892 ns/op	    3657 B/op	      45 allocs/op
BenchmarkAuthorizerRepeatedToken-2   	   98476	     11708 ns/op	     656 B/op	       2 allocs/op
BenchmarkAuthorizerRepeatedToken-2   	  168038	      9728 ns/op	     656 B/op	       2 allocs/op
BenchmarkRawES256Verify              	    9562	    318388 ns/op
BenchmarkAuthorizer/cached/size=128-16 	 1000000	      1043 ns/op	         0.5000 hits/op
BenchmarkBroken-2   	--- FAIL: BenchmarkBroken-2
BenchmarkNoUnit-2   	    100	    12345
BenchmarkOddFields-2	    100	    12345 ns/op	    12
    bench_test.go:12: BenchmarkAuthorizerFreshToken-2 1 1 ns/op
PASS
ok  	github.com/authbridge/authbridge/shared/guard	44.137s
BenchmarkNodeJoseJwtVerify	3000	453076 ns/op
BenchmarkNodeJoseJwtVerify	3000	509989 ns/op
`

func TestParseBenchmarks(t *testing.T) {
	got := ParseBenchmarks(goBenchOutput)
	var names []string
	for _, b := range got {
		names = append(names, b.Name)
	}
	want := []string{"AuthorizerFreshToken", "AuthorizerRepeatedToken", "RawES256Verify", "Authorizer/cached/size=128", "NodeJoseJwtVerify"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	fresh := got[0]
	if fresh.Runs != 3 || fresh.NsPerOp() != 347247 || fresh.value("B/op") != 3657 || fresh.value("allocs/op") != 45 {
		t.Errorf("fresh = %+v: want 3 runs, median 347247 ns/op, 3657 B/op, 45 allocs/op", fresh)
	}
	if rep := got[1]; rep.Runs != 2 || rep.NsPerOp() != (11708+9728)/2.0 {
		t.Errorf("repeated = %+v: want 2 runs, median %v (mean of the middle two)", rep, (11708+9728)/2.0)
	}
	if raw := got[2]; raw.NsPerOp() != 318388 || !math.IsNaN(raw.value("B/op")) {
		t.Errorf("raw = %+v: want 318388 ns/op and no B/op", raw)
	}
	if sub := got[3]; sub.value("hits/op") != 0.5 {
		t.Errorf("custom metric: %+v", sub)
	}
	if jose := got[4]; jose.Runs != 2 || jose.NsPerOp() != (453076+509989)/2.0 {
		t.Errorf("jose = %+v", jose)
	}
	if len(ParseBenchmarks("")) != 0 {
		t.Error("empty input gave benchmarks")
	}
}

func TestParseSizes(t *testing.T) {
	in := `building…
SIZE authorizer 11272354 12582912
SIZE token 11206818
    sizes_test.go:40: SIZE mcp 12976290 16777216
INIT authorizer 41.5
INIT authorizer 39
INIT authorizer 60.25 ms
    sizes_test.go:41: INIT token 52
INIT REPORT Init Duration: 12.34 ms	Phase: init	Status: success
SIZE token 11206900
SIZE broken 12abc
SIZE
RESIZE foo 12
`
	sizes, inits := ParseSizes(in)
	wantSizes := []FunctionSize{
		{Function: "authorizer", Bytes: 11272354, Budget: 12582912},
		{Function: "token", Bytes: 11206900}, // the later line wins, in the first one's place
		{Function: "mcp", Bytes: 12976290, Budget: 16777216},
	}
	if !reflect.DeepEqual(sizes, wantSizes) {
		t.Errorf("sizes = %+v, want %+v", sizes, wantSizes)
	}
	wantInits := []FunctionInit{
		{Function: "authorizer", Millis: 41.5, Samples: 3},
		{Function: "token", Millis: 52, Samples: 1},
	}
	if !reflect.DeepEqual(inits, wantInits) {
		t.Errorf("inits = %+v, want %+v", inits, wantInits)
	}
}

func TestParseCalls(t *testing.T) {
	in := `=== RUN   TestRoundTripsPerEndpoint
=== RUN   TestRoundTripsPerEndpoint/token
    roundtrips_test.go:88: CALLS register dynamodb=1 kms=0 workos=0
        roundtrips_test.go:88: CALLS token(authorization_code) dynamodb=3 kms=1 workos=0 (BatchGetItem:1,TransactWriteItems:1 Sign:1)
    roundtrips_test.go:183: CALLS GET_/.well-known/jwks.json dynamodb=0 kms=0 workos=0 ()
CALLS callback dynamodb=2 kms=0 workos=1
CALLS /api/ext/auth/revoke dynamodb=2 kms=0
CALLS jwks dynamodb=0 kms=1 workos=0 secretsmanager=0
CALLS register dynamodb=2 kms=0 workos=0
CALLS broken dynamodb=x kms=0
CALLS nocounts
RECALLS x dynamodb=1
--- PASS: TestRoundTripsPerEndpoint (0.52s)
`
	got := ParseCalls(in)
	want := []EndpointCalls{
		{Endpoint: "register", Services: []string{"dynamodb", "kms", "workos"}, Counts: map[string]int{"dynamodb": 2, "kms": 0, "workos": 0}},
		{Endpoint: "token(authorization_code)", Services: []string{"dynamodb", "kms", "workos"}, Counts: map[string]int{"dynamodb": 3, "kms": 1, "workos": 0}, Detail: "(BatchGetItem:1,TransactWriteItems:1 Sign:1)"},
		{Endpoint: "GET_/.well-known/jwks.json", Services: []string{"dynamodb", "kms", "workos"}, Counts: map[string]int{"dynamodb": 0, "kms": 0, "workos": 0}, Detail: "()"},
		{Endpoint: "callback", Services: []string{"dynamodb", "kms", "workos"}, Counts: map[string]int{"dynamodb": 2, "kms": 0, "workos": 1}},
		{Endpoint: "/api/ext/auth/revoke", Services: []string{"dynamodb", "kms"}, Counts: map[string]int{"dynamodb": 2, "kms": 0}},
		{Endpoint: "jwks", Services: []string{"dynamodb", "kms", "workos", "secretsmanager"}, Counts: map[string]int{"dynamodb": 0, "kms": 1, "workos": 0, "secretsmanager": 0}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseMetrics(t *testing.T) {
	in := `bench-e2e against http://127.0.0.1:3900/mcp
  full flow run  1:  2400.5 ms  (cold functions)
BENCH flow_cold_ms 2400.5
BENCH flow_warm_ms 812
BENCH flow_warm_runs 6.0
  BENCH tool_call_warm_ms 12.3   
BENCH jose_jwtverify_ns_op 4.5e5
BENCH flow_warm_ms 800.2
BENCH broken 12ms
BENCH
NOBENCH x 1
`
	got := ParseMetrics(in)
	want := []Metric{
		{"flow_cold_ms", 2400.5},
		{"flow_warm_ms", 800.2},
		{"flow_warm_runs", 6},
		{"tool_call_warm_ms", 12.3},
		{"jose_jwtverify_ns_op", 450000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metrics = %+v, want %+v", got, want)
	}
	if v, ok := Lookup(got, "tool_call_warm_ms"); !ok || v != 12.3 {
		t.Errorf("Lookup = %v, %v", v, ok)
	}
	if _, ok := Lookup(got, "absent"); ok {
		t.Error("Lookup found an absent metric")
	}
}

func TestParseMachine(t *testing.T) {
	cpu := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if model, cores := ParseCPUInfo(cpu); model != "AMD EPYC 7B13" || cores != 2 {
		t.Errorf("ParseCPUInfo = %q, %d", model, cores)
	}
	mem := "MemTotal:       24683656 kB\nMemFree:         1000 kB\n"
	if got := ParseMemTotal(mem); got != 24683656*1024 {
		t.Errorf("ParseMemTotal = %d", got)
	}
}

func TestTemplateDefault(t *testing.T) {
	tmpl := `Parameters:
  TokenThrottleRate:
    Type: Number
    Default: 50
    MinValue: 1
  LogLevel:
    Type: String
    Default: "INFO"
  NoDefault:
    Type: String
Resources:
  Thing:
    Default: 7
`
	for name, want := range map[string]string{"TokenThrottleRate": "50", "LogLevel": "INFO", "NoDefault": "", "Absent": ""} {
		if got := TemplateDefault(tmpl, name); got != want {
			t.Errorf("TemplateDefault(%s) = %q, want %q", name, got, want)
		}
	}
}

// TestRender writes a whole report from sample outputs: every plot with data is drawn, the
// tables hold the parsed figures, and a missing step is reported as such.
func TestRender(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "performance")
	if err := os.MkdirAll(img, 0o755); err != nil {
		t.Fatal(err)
	}
	// A stale plot from an earlier run, of a section without data now: removed.
	if err := os.WriteFile(filepath.Join(img, "init.png"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	outs := map[string]*stepOutput{
		"guard": {Text: goBenchOutput, Command: "go test -bench . ./shared/guard/", ExitCode: 0},
		"jose":  {Text: "BenchmarkNodeJoseJwtVerify\t3000\t400000 ns/op\n", ExitCode: 0},
		"calls": {Text: "    x_test.go:1: CALLS token dynamodb=3 kms=1 workos=0\n", ExitCode: 0},
		"sizes": {Text: "SIZE token 11206818 12582912\n", ExitCode: 0},
		"flow":  {Missing: true, Path: "flow.txt", ExitCode: -1},
	}
	r := &report{imgDir: img, imgRel: "performance", outs: outs, command: "make bench-report", now: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	md, err := r.render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"](performance/authorizer.png)",
		"](performance/sizes.png)",
		"](performance/calls.png)",
		"| `BenchmarkAuthorizerFreshToken` | Authorizer, fresh token | 3 | 347 µs |",
		"| `BenchmarkNodeJoseJwtVerify` | jose jwtVerify (Node) | 3 | 453 µs |",
		"| token | 10.7 MiB | 11206818 | 12.0 MiB (89% used) |",
		"| `token` | 3 | 1 | 0 |",
		"**Not measured in this run**: no output in `flow.txt`",
		"Init time: **not measured in this run**",
		"token: 1",
		"https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, f := range []string{"authorizer.png", "sizes.png", "calls.png"} {
		b, err := os.ReadFile(filepath.Join(img, f))
		if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
			t.Errorf("%s: not a PNG (%v)", f, err)
		}
	}
	for _, f := range []string{"init.png", "flow.png"} {
		if _, err := os.Stat(filepath.Join(img, f)); !os.IsNotExist(err) {
			t.Errorf("%s should not exist: %v", f, err)
		}
	}
}
