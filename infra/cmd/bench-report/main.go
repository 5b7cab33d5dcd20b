// Command bench-report writes docs/performance.md and its plots (docs/performance/*.png,
// gonum.org/v1/plot) from the outputs of one benchmark run, which `make bench-report`
// (infra/cmd/bench-report/run.sh) produces in one folder:
//
//	guard.txt  go test -bench over shared/guard (BenchmarkAuthorizer*, BenchmarkRawES256*, …)
//	jose.txt   infra/e2e/bench/jose.mjs: Node's jose jwtVerify, in go test -bench format
//	calls.txt  TestRoundTripsPerEndpoint -v: CALLS <endpoint> dynamodb=<n> kms=<n> workos=<n>
//	sizes.txt  SIZES_CMD: SIZE <function> <bytes> [<budget-bytes>] and INIT <function> <ms> lines
//	flow.txt   make bench-e2e (infra/e2e/bench/bench.mjs): BENCH <name> <number> lines
//
// and, for each, <step>.cmd (the command that ran) and <step>.rc (its exit status). Each file
// can also be named on the command line (-guard, -jose, -sizes, -calls, -flow). A missing or
// empty output leaves its section saying so; the report is written whatever is missing.
//
//	go run ./infra/cmd/bench-report -in .run/bench-report -out docs/performance.md
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// authorizerBars maps benchmark names (as printed, without "Benchmark" and the "-N" GOMAXPROCS
// suffix) to the bars of the authorizer plot, top to bottom. Update it when the benchmarks are
// renamed: a name absent from the run is left out of the plot, and the report says so. Role
// names the bars the report compares (fresh vs raw, jose vs fresh); leave it empty otherwise.
var authorizerBars = []struct{ Bench, Label, Role string }{
	{"AuthorizerFreshToken", "Authorizer, fresh token", "fresh"},
	{"AuthorizerRepeatedToken", "Authorizer, repeated token", "repeated"},
	{"RawES256Verify", "raw ES256 verify (Go)", "raw"},
	{"NodeJoseJwtVerify", "jose jwtVerify (Node)", "jose"},
}

// flowBars maps the BENCH lines of bench.mjs to the bars of the flow plot, top to bottom.
var flowBars = []struct{ Metric, Label string }{
	{"flow_cold_ms", "sign-in flow, cold (run 1)"},
	{"flow_warm_ms", "sign-in flow, warm (median)"},
	{"tool_call_warm_ms", "tool call, warm (median)"},
}

// steps are the outputs the report reads, in the order run.sh runs them.
var steps = []struct{ Name, What string }{
	{"guard", "Go authorizer benchmarks"},
	{"jose", "Node jose jwtVerify benchmark"},
	{"calls", "DynamoDB/KMS/WorkOS calls per endpoint"},
	{"sizes", "binary size and init time per function"},
	{"flow", "sign-in flow and tool call on a local stack"},
}

type stepOutput struct {
	Name, What string
	Path       string
	Text       string
	Command    string
	ExitCode   int // -1: unknown
	Missing    bool
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench-report: ")
	in := flag.String("in", ".run/bench-report", "folder with the steps' outputs (<step>.txt, .cmd, .rc)")
	out := flag.String("out", "docs/performance.md", "report to write")
	images := flag.String("images", "", "folder for the PNG plots (default: <out without .md>/)")
	command := flag.String("command", "make bench-report", "the command that produced the run, as the report states it")
	files := map[string]*string{}
	for _, s := range steps {
		files[s.Name] = flag.String(s.Name, "", "output of the "+s.What+" step (default: <in>/"+s.Name+".txt)")
	}
	flag.Parse()
	if *images == "" {
		*images = strings.TrimSuffix(*out, filepath.Ext(*out))
	}

	outs := map[string]*stepOutput{}
	for _, s := range steps {
		path := cmp.Or(*files[s.Name], filepath.Join(*in, s.Name+".txt"))
		o := &stepOutput{Name: s.Name, What: s.What, Path: path, ExitCode: -1}
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			o.Missing = true
		case err != nil:
			log.Fatal(err)
		default:
			o.Text = string(b)
			o.Missing = strings.TrimSpace(o.Text) == ""
		}
		base := strings.TrimSuffix(path, ".txt")
		if c, err := os.ReadFile(base + ".cmd"); err == nil {
			o.Command = strings.TrimSpace(string(c))
		}
		if rc, err := os.ReadFile(base + ".rc"); err == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(string(rc))); err == nil {
				o.ExitCode = n
			}
		}
		outs[s.Name] = o
	}

	if err := os.MkdirAll(*images, 0o755); err != nil {
		log.Fatal(err)
	}
	rel, err := filepath.Rel(filepath.Dir(*out), *images)
	if err != nil {
		log.Fatal(err)
	}
	r := &report{imgDir: *images, imgRel: filepath.ToSlash(rel), outs: outs, command: *command, machine: readMachine(), now: time.Now().UTC()}
	md, err := r.render()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s and %d plot(s) in %s", *out, len(r.plots), *images)
}

type machineInfo struct {
	Machine
	GoVersion, NodeVersion, Commit string
}

func readMachine() machineInfo {
	var m machineInfo
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU, m.Cores = ParseCPUInfo(string(b))
	}
	if m.Cores == 0 {
		m.Cores = runtime.NumCPU()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = ParseMemTotal(string(b))
	}
	m.GoVersion = cmp.Or(commandOutput("go", "env", "GOVERSION"), runtime.Version())
	m.NodeVersion = cmp.Or(commandOutput("node", "--version"), "unknown")
	if c := commandOutput("git", "rev-parse", "--short=12", "HEAD"); c != "" {
		m.Commit = c
		if commandOutput("git", "status", "--porcelain", "--untracked-files=no") != "" {
			m.Commit += " (with uncommitted changes)"
		}
	}
	return m
}

func commandOutput(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Formatting.

func fmtNs(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "n/a"
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e5:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func fmtMs(ms float64) string {
	if ms >= 100 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
