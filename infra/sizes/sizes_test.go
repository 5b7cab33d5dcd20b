// Package sizes checks what each function costs at cold start: the size of its deployed
// binary (linux/arm64, built exactly as `make build` builds it) against a budget per
// function, and the time its init takes, from process start to the runtime's first poll
// for an invocation. A function that grows past its budget fails the test.
//
// Each measure is also printed as one machine-readable line on stdout (go test -v):
//
//	SIZE <function> <bytes> <budget-bytes>
//	INIT <function> <milliseconds>
//
// The init measure needs local-kms (the functions that load keys call it at cold start):
// it runs when AWS_ENDPOINT_URL_KMS is set, as under `make test`, and is skipped otherwise.
package sizes

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
)

// mb is a decimal megabyte, as the budgets are stated.
const mb = 1_000_000

// budgets is the most each function's deployed binary may weigh: its aim (issue
// "Performance"): the metadata functions, which call no AWS service, at most 6.5 MB; jwks
// and the authorizer 8 MB; every function 10 MB. Every function meets its aim. Should one
// not meet it yet, its budget is what it weighs today (rounded up), target the aim and why
// what stands in the way, so that it cannot grow while the work is pending.
var budgets = map[string]struct {
	bytes  int64
	target int64  // the aim, when the budget is above it
	why    string // what keeps the function above its aim
}{
	"resource-metadata": {bytes: 6_500_000},
	"server-metadata":   {bytes: 6_500_000},
	"jwks":              {bytes: 8 * mb},
	"authorizer":        {bytes: 8 * mb},
	"register":          {bytes: 10 * mb},
	"token":             {bytes: 10 * mb},
	"revoke":            {bytes: 10 * mb},
	"introspect":        {bytes: 10 * mb},
	"webhook":           {bytes: 10 * mb},
	"mcp":               {bytes: 10 * mb},
	"authorize":         {bytes: 10 * mb},
	"callback":          {bytes: 10 * mb},
	"consent":           {bytes: 10 * mb},
	"connected-apps":    {bytes: 10 * mb},
}

// buildFlags are the Makefile's GO_BUILD_FLAGS.
var buildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// TestBinarySizes builds every function as deployed and compares it with its budget.
func TestBinarySizes(t *testing.T) {
	fns := functions(t)
	dir := build(t, "linux", "arm64", fns)
	for _, fn := range fns {
		b, ok := budgets[fn]
		if !ok {
			t.Errorf("functions/%s has no budget: add it to budgets", fn)
			continue
		}
		info, err := os.Stat(filepath.Join(dir, fn))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("SIZE %s %d %d\n", fn, info.Size(), b.bytes)
		if info.Size() > b.bytes {
			t.Errorf("functions/%s: %d bytes (%.2f MB), over its budget of %d (%.2f MB)", fn, info.Size(), float64(info.Size())/mb, b.bytes, float64(b.bytes)/mb)
		}
		switch {
		case b.target > 0 && info.Size() <= b.target:
			t.Logf("functions/%s meets its aim (%.2f MB ≤ %.2f MB): lower its budget to the aim", fn, float64(info.Size())/mb, float64(b.target)/mb)
		case b.target > 0:
			t.Logf("functions/%s is above its aim of %.2f MB: %s", fn, float64(b.target)/mb, b.why)
		}
	}
	for fn := range budgets {
		if !slices.Contains(fns, fn) {
			t.Errorf("budgets names %s, which is not a folder of functions/", fn)
		}
	}
}

// initRuns is how many cold starts of each function are measured; INIT is their median.
const initRuns = 5

// initBudget is the longest a function's init may take here, AWS calls made at cold start
// excluded. The aim is 10 ms (issue "Performance"), which the functions meet on a quiet
// machine; a loaded 2-core machine measures up to about 13 ms, so the default ceiling is
// looser, to catch what costs far more (a network call or heavy work added at init)
// without failing on noise. SIZES_INIT_BUDGET_MS=10 holds a quiet machine to the aim.
func initBudget(t *testing.T) time.Duration {
	v := os.Getenv("SIZES_INIT_BUDGET_MS")
	if v == "" {
		return 30 * time.Millisecond
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("SIZES_INIT_BUDGET_MS=%q: %v", v, err)
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// root is the module whose functions are measured: this one, or SIZES_ROOT (another
// checkout, to compare before and after a change).
func root() string {
	if r := os.Getenv("SIZES_ROOT"); r != "" {
		return r
	}
	return filepath.Join("..", "..")
}

// TestInitDuration starts each function (built for this machine with the deployed flags)
// against a stand-in of the Lambda Runtime API, with the configuration template.yaml gives
// it and the local services, and measures the time from process start to its first
// GET /runtime/invocation/next: the init the Lambda runtime reports as Init Duration.
func TestInitDuration(t *testing.T) {
	if os.Getenv("AWS_ENDPOINT_URL_KMS") == "" {
		t.Skip("AWS_ENDPOINT_URL_KMS is not set: the init measure needs local-kms (make test, or make services)")
	}
	budget := initBudget(t)
	fns := functions(t)
	dir := build(t, runtime.GOOS, runtime.GOARCH, fns)
	keyID := testenv.NewSigningKey(t, testenv.KMS(t))
	// One GetPublicKey round trip to local-kms, the AWS call jwks, authorizer and introspect
	// make at cold start: subtracted from their init.
	kmsCall := timeGetPublicKey(t, keyID)
	fmt.Printf("AWSCALL kms:GetPublicKey %.1f\n", float64(kmsCall.Microseconds())/1000)
	env := append(os.Environ(),
		"ISSUER=https://auth.example.com", "TABLE_NAME=authbridge-sizes", "SIGNING_KEY_ID="+keyID,
		"WORKOS_CLIENT_ID=client_sizes", "WORKOS_API_KEY=sk_test_sizes", "WORKOS_ENDPOINT=http://127.0.0.1:1",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_FUNCTION_NAME=sizes")
	for _, fn := range fns {
		var runs []time.Duration
		for range initRuns {
			runs = append(runs, coldStart(t, filepath.Join(dir, fn), env))
		}
		slices.Sort(runs)
		median := runs[len(runs)/2]
		fmt.Printf("INIT %s %.1f\n", fn, float64(median.Microseconds())/1000)
		own := median
		if loadsKeys[fn] {
			own -= kmsCall
		}
		if own > budget {
			t.Errorf("functions/%s: init %v (median of %d, AWS calls excluded: %v), over %v", fn, median, initRuns, own, budget)
		}
	}
}

// loadsKeys are the functions that call KMS at cold start (the accepted public keys).
var loadsKeys = map[string]bool{"jwks": true, "authorizer": true, "introspect": true}

// coldStart runs bin until it polls the Runtime API for its first invocation and returns how
// long that took; the process is then killed.
func coldStart(t *testing.T, bin string, env []string) time.Duration {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	polled := make(chan time.Time, 1)
	initErr := make(chan string, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/runtime/invocation/next"):
			select {
			case polled <- time.Now():
			default:
			}
			<-r.Context().Done() // no invocation: the function waits until it is killed
		case strings.HasSuffix(r.URL.Path, "/runtime/init/error"):
			select {
			case initErr <- r.URL.Path:
			default:
			}
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var out strings.Builder
	cmd := exec.Command(bin)
	cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan error, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	select {
	case at := <-polled:
		return at.Sub(start)
	case <-initErr:
		t.Fatalf("%s: init failed:\n%s", filepath.Base(bin), out.String())
	case err := <-exited:
		exited <- err
		t.Fatalf("%s exited before polling for an invocation (%v):\n%s", filepath.Base(bin), err, out.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not poll for an invocation within 15 s:\n%s", filepath.Base(bin), out.String())
	}
	return 0
}

// functions are the folders of functions/.
func functions(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root(), "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var fns []string
	for _, e := range entries {
		if e.IsDir() {
			fns = append(fns, e.Name())
		}
	}
	return fns
}

// build builds every function for goos/goarch with the deployed flags into a temporary
// folder, one binary per function named after it, in one go build (compiled packages come
// from the build cache; the links run in parallel).
func build(t *testing.T, goos, goarch string, fns []string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", dir+string(filepath.Separator))
	for _, fn := range fns {
		args = append(args, "./functions/"+fn)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root()
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// timeGetPublicKey is the time of the call jwks, authorizer and introspect make at cold
// start, as they make it: a new client (the functions' own AWS configuration), so a new
// connection; the median of five.
func timeGetPublicKey(t *testing.T, keyID string) time.Duration {
	t.Helper()
	var runs []time.Duration
	for range 5 {
		awsCfg, err := lambdaenv.LoadAWSConfig(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		client := kms.NewFromConfig(awsCfg)
		start := time.Now()
		if _, err := client.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(keyID)}); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	return runs[len(runs)/2]
}
