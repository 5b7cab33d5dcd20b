package lambdarun_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/authbridge/authbridge/shared/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
	"github.com/authbridge/authbridge/infra/lambdarun"
)

var (
	buildOnce sync.Once
	bootstrap string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdarun-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func findRIE(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../.tools/bin/aws-lambda-rie"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	t.Fatal("aws-lambda-rie not found: run infra/local/services.sh install (or set AWS_LAMBDA_RIE)")
	return ""
}

// fnBootstrap builds testdata/fn once, as the local stack builds functions.
func fnBootstrap(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		bootstrap = filepath.Join(binDir, "fn", "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, "./testdata/fn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bootstrap
}

type syncBuffer = testenv.Buffer

func start(t *testing.T, out *syncBuffer, fns ...lambdarun.Function) *lambdarun.Runner {
	t.Helper()
	cfg := lambdarun.Config{RIE: findRIE(t), Functions: fns}
	if out != nil {
		cfg.Output = out
	} else {
		cfg.Output = &syncBuffer{}
	}
	r, err := lambdarun.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type result struct {
	PID int               `json:"pid"`
	Env map[string]string `json:"env"`
}

func invoke(t *testing.T, r *lambdarun.Runner, id, payload string) (result, error) {
	t.Helper()
	out, err := r.Invoke(context.Background(), id, []byte(payload))
	var res result
	if err == nil {
		if jerr := json.Unmarshal(out, &res); jerr != nil {
			t.Fatalf("result %s: %v", out, jerr)
		}
	}
	return res, err
}

func TestEnvironmentAndOutput(t *testing.T) {
	out := &syncBuffer{}
	bs := fnBootstrap(t)
	r := start(t, out, lambdarun.Function{ID: "Fn", Name: "my-fn", Bootstrap: bs, Timeout: 1500 * time.Millisecond, MemoryMB: 256,
		Env: map[string]string{"A": "1", "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "ignored"}})
	res, err := invoke(t, r, "Fn", `{"action":"env"}`)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"A":                               "1",
		"AWS_REGION":                      "eu-west-1", // the function's value wins over the default
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME":        "my-fn", // Lambda's own values cannot be overridden
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "2",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                filepath.Dir(bs),
		"AWS_ACCESS_KEY_ID":               "local",
	} {
		if res.Env[k] != want {
			t.Errorf("%s = %q, want %q", k, res.Env[k], want)
		}
	}
	if !strings.HasPrefix(res.Env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", res.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if _, ok := res.Env["HOME"]; ok && os.Getenv("HOME") != "" {
		t.Errorf("HOME leaked from the host environment")
	}
	if _, err := invoke(t, r, "Fn", `{"action":"print"}`); err != nil {
		t.Fatal(err)
	}
	// The function's output reaches the writer through pipes, after the invocation answered:
	// wait for it (bounded) rather than read it at once.
	wanted := []string{"[Fn] hello from fn\n", "[Fn] and from stderr\n", "[Fn] START RequestId: ", "INIT REPORT(durationMs: "}
	logs := out.String()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); logs = out.String() {
		if containsAll(logs, wanted) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range wanted {
		if !strings.Contains(logs, want) {
			t.Errorf("output lacks %q:\n%s", want, logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.HasPrefix(line, "[Fn] ") {
			t.Errorf("line without prefix: %q", line)
		}
	}
	if _, err := r.Invoke(context.Background(), "Nope", []byte(`{}`)); err == nil {
		t.Errorf("invoking an unknown function worked")
	}
}

func TestFunctionErrors(t *testing.T) {
	r := start(t, nil, lambdarun.Function{ID: "Fn", Bootstrap: fnBootstrap(t), Timeout: time.Second})
	cases := []struct {
		payload, msg, typ string
	}{
		{`{"action":"error"}`, "boom", "errorString"},
		{`{"action":"panic"}`, "fn was asked to panic", ""},
		{`{"action":"exit"}`, "", "Runtime.ExitError"},
		{`{"action":"sleep","ms":3000}`, "Task timed out after 1.00 seconds", "Sandbox.Timedout"},
	}
	for _, c := range cases {
		start := time.Now()
		_, err := invoke(t, r, "Fn", c.payload)
		var fe *gateway.FunctionError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v, want a *gateway.FunctionError", c.payload, err)
			continue
		}
		if !strings.Contains(fe.Message(), c.msg) || (c.typ != "" && fe.Type() != c.typ) {
			t.Errorf("%s: message %q type %q, want %q %q", c.payload, fe.Message(), fe.Type(), c.msg, c.typ)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("%s took %s", c.payload, d)
		}
		// The environment recovers (a new runtime process after a crash or a timeout).
		if _, err := invoke(t, r, "Fn", `{}`); err != nil {
			t.Errorf("after %s: %v", c.payload, err)
		}
	}
}

func TestConcurrentInvocationsGetTheirOwnEnvironments(t *testing.T) {
	bs := fnBootstrap(t)
	r := start(t, nil,
		lambdarun.Function{ID: "Wide", Bootstrap: bs, Timeout: 5 * time.Second},
		lambdarun.Function{ID: "Single", Bootstrap: bs, Timeout: 5 * time.Second, MaxConcurrency: 1})
	run := func(id string, n int) (time.Duration, map[int]bool) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		pids := map[int]bool{}
		begin := time.Now()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := invoke(t, r, id, `{"action":"sleep","ms":600}`)
				if err != nil {
					t.Errorf("%s: %v", id, err)
					return
				}
				mu.Lock()
				pids[res.PID] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		return time.Since(begin), pids
	}
	d, pids := run("Wide", 3)
	if d > 1500*time.Millisecond || len(pids) != 3 || r.Instances("Wide") != 3 {
		t.Errorf("3 concurrent invocations: %s, %d runtime processes, %d instances; want parallel, 3, 3", d, len(pids), r.Instances("Wide"))
	}
	d, pids = run("Single", 2)
	if d < 1200*time.Millisecond || len(pids) != 1 || r.Instances("Single") != 1 {
		t.Errorf("MaxConcurrency 1: %s, %d runtime processes; want serialized on 1", d, len(pids))
	}
}

func TestCancelledInvocationKeepsEnvironmentBusy(t *testing.T) {
	r := start(t, nil, lambdarun.Function{ID: "Fn", Bootstrap: fnBootstrap(t), Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := r.Invoke(ctx, "Fn", []byte(`{"action":"sleep","ms":1500}`))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(begin))
	}
	// The first environment is still running the slow invocation: a second one serves this.
	if _, err := invoke(t, r, "Fn", `{}`); err != nil {
		t.Fatal(err)
	}
	if n := r.Instances("Fn"); n != 2 {
		t.Errorf("instances %d, want 2", n)
	}
}

// gone reports whether a process no longer runs (absent or a zombie).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

func TestCloseStopsEveryProcess(t *testing.T) {
	bs := fnBootstrap(t)
	r, err := lambdarun.Start(context.Background(), lambdarun.Config{RIE: findRIE(t), Output: &syncBuffer{},
		Functions: []lambdarun.Function{{ID: "A", Bootstrap: bs}, {ID: "B", Bootstrap: bs}}})
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, id := range []string{"A", "B"} {
		res, err := invoke(t, r, id, `{}`)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, res.PID) // the runtime processes
	}
	pids = append(pids, r.PIDs()...) // the RIE processes
	if len(pids) != 4 {
		t.Fatalf("pids %v", pids)
	}
	for _, p := range pids {
		if gone(p) {
			t.Fatalf("process %d is not running before Close", p)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, p := range pids {
		for !gone(p) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !gone(p) {
			t.Errorf("process %d still runs after Close", p)
		}
	}
	if _, err := r.Invoke(context.Background(), "A", []byte(`{}`)); err == nil {
		t.Errorf("Invoke after Close worked")
	}
}

func TestStartErrors(t *testing.T) {
	rie := findRIE(t)
	bs := fnBootstrap(t)
	cases := []struct {
		name string
		cfg  lambdarun.Config
		want string
	}{
		{"no RIE", lambdarun.Config{RIE: filepath.Join(binDir, "nope"), Functions: []lambdarun.Function{{ID: "A", Bootstrap: bs}}}, "services.sh install"},
		{"missing bootstrap", lambdarun.Config{RIE: rie, Functions: []lambdarun.Function{{ID: "A", Bootstrap: filepath.Join(binDir, "missing", "bootstrap")}}}, "A:"},
		{"not executable", lambdarun.Config{RIE: rie, Functions: []lambdarun.Function{{ID: "A", Bootstrap: filepath.Dir(bs)}}}, "not an executable"},
		{"duplicate", lambdarun.Config{RIE: rie, Functions: []lambdarun.Function{{ID: "A", Bootstrap: bs}, {ID: "A", Bootstrap: bs}}}, "twice"},
	}
	for _, c := range cases {
		r, err := lambdarun.Start(context.Background(), c.cfg)
		if err == nil {
			r.Close()
			t.Errorf("%s: no error", c.name)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
