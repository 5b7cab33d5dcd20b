// Package lambdarun runs Lambda functions locally: each function's bootstrap under the
// AWS Lambda Runtime Interface Emulator (aws-lambda-rie), one RIE process per execution
// environment, on loopback ports.
//
// One RIE instance runs one invocation at a time (a second concurrent invocation makes
// it crash), exactly like a Lambda execution environment. A Runner therefore keeps a
// small pool per function: an idle instance takes the next invocation; when all are
// busy, a new one is started (a cold start, as in Lambda), up to MaxConcurrency; beyond
// that, invocations wait.
package lambdarun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
)

// Function is one function to run.
type Function struct {
	// ID names the function in Invoke and in log prefixes ([ID]): the template's logical ID.
	ID string
	// Name is AWS_LAMBDA_FUNCTION_NAME; defaults to ID.
	Name string
	// Bootstrap is the path of the function's executable.
	Bootstrap string
	// Handler is _HANDLER; defaults to "bootstrap".
	Handler string
	// Env is the function's environment (the template's variables and local overrides).
	Env map[string]string
	// Timeout is the function timeout; defaults to 3 s. The RIE enforces it.
	Timeout time.Duration
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE; defaults to 128.
	MemoryMB int
	// MaxConcurrency caps the function's execution environments; 0 means the Config's.
	MaxConcurrency int
}

// Config configures a Runner.
type Config struct {
	// RIE is the path of aws-lambda-rie.
	RIE       string
	Functions []Function
	// Output receives every line the RIE instances and functions print, prefixed with
	// [ID] (or [ID#n] for the n-th concurrent environment). Nil means os.Stderr.
	Output io.Writer
	// Region sets AWS_REGION and AWS_DEFAULT_REGION unless the function's Env does;
	// defaults to us-east-1.
	Region string
	// MaxConcurrency is the default number of execution environments per function;
	// defaults to 10.
	MaxConcurrency int
	// LogLevel is the RIE's --log-level; defaults to "info" (INIT REPORT, START, END, REPORT).
	LogLevel string
	// StartTimeout bounds how long an instance may take to listen; defaults to 10 s.
	StartTimeout time.Duration
}

// Runner runs functions; it implements gateway.Invoker.
type Runner struct {
	cfg    Config
	out    *lineWriter
	pools  map[string]*pool
	closed atomic.Bool
	wg     sync.WaitGroup
}

var _ gateway.Invoker = (*Runner)(nil)

// Start starts one instance of every function and waits until each listens.
func Start(ctx context.Context, cfg Config) (*Runner, error) {
	if cfg.RIE == "" {
		return nil, errors.New("lambdarun: no RIE path")
	}
	if _, err := os.Stat(cfg.RIE); err != nil {
		return nil, fmt.Errorf("lambdarun: the Runtime Interface Emulator: %w (install it with infra/local/services.sh install)", err)
	}
	rie, err := filepath.Abs(cfg.RIE) // the RIE runs in the bootstrap's directory
	if err != nil {
		return nil, err
	}
	cfg.RIE = rie
	if cfg.Output == nil {
		cfg.Output = os.Stderr
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 10
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	r := &Runner{cfg: cfg, out: &lineWriter{w: cfg.Output}, pools: map[string]*pool{}}
	for _, f := range cfg.Functions {
		if f.ID == "" {
			return nil, errors.New("lambdarun: a function has no ID")
		}
		if _, dup := r.pools[f.ID]; dup {
			return nil, fmt.Errorf("lambdarun: function %s is listed twice", f.ID)
		}
		st, err := os.Stat(f.Bootstrap)
		if err != nil {
			return nil, fmt.Errorf("lambdarun: %s: %w", f.ID, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("lambdarun: %s: %s is not an executable file", f.ID, f.Bootstrap)
		}
		if f.Name == "" {
			f.Name = f.ID
		}
		if f.Handler == "" {
			f.Handler = "bootstrap"
		}
		if f.Timeout <= 0 {
			f.Timeout = 3 * time.Second
		}
		if f.MemoryMB <= 0 {
			f.MemoryMB = 128
		}
		if f.MaxConcurrency <= 0 {
			f.MaxConcurrency = cfg.MaxConcurrency
		}
		abs, err := filepath.Abs(f.Bootstrap)
		if err != nil {
			return nil, err
		}
		f.Bootstrap = abs
		r.pools[f.ID] = &pool{r: r, fn: f, sem: make(chan struct{}, f.MaxConcurrency)}
	}
	// One warm (listening) instance per function, started in parallel.
	errs := make(chan error, len(r.pools))
	for _, p := range r.pools {
		go func(p *pool) {
			inst, err := p.start(ctx)
			if err == nil {
				p.mu.Lock()
				p.idle = append(p.idle, inst)
				p.mu.Unlock()
			}
			errs <- err
		}(p)
	}
	var firstErr error
	for range r.pools {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		r.Close()
		return nil, firstErr
	}
	return r, nil
}

// Invoke runs one invocation of the function with the event payload and returns its
// result. A function error (panic, returned error, timeout) is a *gateway.FunctionError.
// When ctx ends first, Invoke returns ctx's error; the execution environment stays busy
// until the invocation really ends, as in Lambda.
func (r *Runner) Invoke(ctx context.Context, id string, payload []byte) ([]byte, error) {
	p := r.pools[id]
	if r.closed.Load() {
		return nil, errors.New("lambdarun: runner is closed")
	}
	if p == nil {
		return nil, fmt.Errorf("lambdarun: no function %q", id)
	}
	inst, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := inst.invoke(payload)
		p.release(inst)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Instances reports how many execution environments of the function are running.
func (r *Runner) Instances(id string) int {
	p := r.pools[id]
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// PIDs lists the process IDs of every RIE instance (for tests and diagnostics).
func (r *Runner) PIDs() []int {
	var pids []int
	for _, p := range r.pools {
		p.mu.Lock()
		for _, inst := range p.all {
			pids = append(pids, inst.cmd.Process.Pid)
		}
		p.mu.Unlock()
	}
	sort.Ints(pids)
	return pids
}

// Close stops every instance and the function processes they started, and waits for them.
func (r *Runner) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	var all []*instance
	for _, p := range r.pools {
		p.mu.Lock()
		all = append(all, p.all...)
		p.all = nil
		p.idle = nil
		p.mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, inst := range all {
		wg.Add(1)
		go func(inst *instance) {
			defer wg.Done()
			inst.stop()
		}(inst)
	}
	wg.Wait()
	copied := make(chan struct{})
	go func() { r.wg.Wait(); close(copied) }()
	select { // the output copiers end when the last writer is gone
	case <-copied:
	case <-time.After(2 * time.Second):
	}
	return nil
}

type pool struct {
	r    *Runner
	fn   Function
	sem  chan struct{} // one token per running invocation
	mu   sync.Mutex
	idle []*instance
	all  []*instance
	next int
}

func (p *pool) acquire(ctx context.Context) (*instance, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		var inst *instance
		if n := len(p.idle); n > 0 {
			inst = p.idle[n-1]
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if inst == nil {
			inst, err := p.start(ctx)
			if err != nil {
				<-p.sem
				return nil, err
			}
			return inst, nil
		}
		if inst.alive() {
			return inst, nil
		}
		p.remove(inst)
	}
}

func (p *pool) release(inst *instance) {
	p.mu.Lock()
	if inst.alive() && !p.r.closed.Load() {
		p.idle = append(p.idle, inst)
	}
	p.mu.Unlock()
	if !inst.alive() {
		p.remove(inst)
	}
	<-p.sem
}

func (p *pool) remove(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.all {
		if x == inst {
			p.all = append(p.all[:i], p.all[i+1:]...)
			break
		}
	}
}

// start launches an RIE instance on two free loopback ports and waits until it listens.
func (p *pool) start(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	p.next++
	n := p.next
	p.mu.Unlock()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a port taken between probe and bind: retry
		inst, err := p.launch(ctx, n)
		if err == nil {
			return inst, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (p *pool) launch(ctx context.Context, n int) (*instance, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	prefix := "[" + p.fn.ID + "] "
	if n > 1 {
		prefix = fmt.Sprintf("[%s#%d] ", p.fn.ID, n)
	}
	cmd := exec.Command(p.r.cfg.RIE,
		"--log-level", p.r.cfg.LogLevel,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		p.fn.Bootstrap)
	cmd.Dir = filepath.Dir(p.fn.Bootstrap)
	cmd.Env = p.environment()
	cmd.SysProcAttr = sysProcAttr()
	// Our own pipe, not StdoutPipe: the process's exit is then observed by Wait
	// independently of who still holds the pipe's write end.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("lambdarun: starting %s: %w", p.fn.ID, err)
	}
	inst := &instance{pool: p, cmd: cmd, addr: addr, exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}}
	p.r.wg.Add(1)
	go func() {
		defer p.r.wg.Done()
		defer pr.Close()
		p.r.out.copyLines(prefix, pr)
	}()
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.exited)
	}()
	p.mu.Lock()
	p.all = append(p.all, inst)
	p.mu.Unlock()
	if p.r.closed.Load() {
		p.remove(inst)
		inst.stop()
		return nil, errors.New("lambdarun: runner is closed")
	}
	if err := inst.waitReady(ctx, p.r.cfg.StartTimeout); err != nil {
		p.remove(inst)
		inst.stop()
		return nil, err
	}
	return inst, nil
}

// environment is what the RIE process gets; the RIE passes its whole environment on to
// the function, and adds AWS_LAMBDA_RUNTIME_API. Nothing is inherited from this process.
func (p *pool) environment() []string {
	f := p.fn
	env := map[string]string{
		"PATH":                  "/usr/local/bin:/usr/bin:/bin:/opt/bin",
		"LANG":                  "en_US.UTF-8",
		"TZ":                    ":UTC",
		"LAMBDA_TASK_ROOT":      filepath.Dir(f.Bootstrap),
		"LAMBDA_RUNTIME_DIR":    filepath.Dir(f.Bootstrap),
		"AWS_REGION":            p.r.cfg.Region,
		"AWS_DEFAULT_REGION":    p.r.cfg.Region,
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
	}
	for k, v := range f.Env {
		env[k] = v
	}
	// What Lambda sets and a function cannot override.
	env["AWS_LAMBDA_FUNCTION_NAME"] = f.Name
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(f.MemoryMB)
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(math.Ceil(f.Timeout.Seconds()))) // read by the RIE
	env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + f.Name
	env["AWS_LAMBDA_LOG_STREAM_NAME"] = time.Now().UTC().Format("2006/01/02") + "/[$LATEST]local"
	env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	env["_HANDLER"] = f.Handler
	delete(env, "AWS_LAMBDA_MAX_CONCURRENCY") // would switch the RIE to Managed Instances mode
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

type instance struct {
	pool    *pool
	cmd     *exec.Cmd
	addr    string
	client  *http.Client
	exited  chan struct{}
	waitErr error
	stopped sync.Once
}

func (i *instance) alive() bool {
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

func (i *instance) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", i.addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-i.exited:
			return fmt.Errorf("lambdarun: %s: the RIE exited before listening: %v", i.pool.fn.ID, i.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lambdarun: %s: the RIE did not listen on %s within %s", i.pool.fn.ID, i.addr, timeout)
		}
	}
}

// invoke posts one event to the RIE and maps its answer: 200 is the function's result
// (or the RIE's plain-text "Task timed out after N.00 seconds"), 502 is a function
// error document.
func (i *instance) invoke(payload []byte) ([]byte, error) {
	fn := i.pool.fn
	// The RIE ends every invocation by the function timeout; the margin covers init.
	ctx, cancel := context.WithTimeout(context.Background(), fn.Timeout+fn.Timeout+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+i.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := i.client.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the RIE is stuck: replace it
			i.stop()
		}
		return nil, fmt.Errorf("lambdarun: invoking %s: %w", fn.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("lambdarun: reading %s's result: %w", fn.ID, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if bytes.HasPrefix(body, []byte("Task timed out after")) && !json.Valid(body) {
			doc, _ := json.Marshal(map[string]string{"errorMessage": string(body), "errorType": "Sandbox.Timedout"})
			return nil, &gateway.FunctionError{Function: fn.ID, Payload: doc}
		}
		if isErrorDocument(body) { // a returned error: the RIE drops X-Amz-Function-Error
			return nil, &gateway.FunctionError{Function: fn.ID, Payload: body}
		}
		return body, nil
	case http.StatusBadGateway:
		if len(bytes.TrimSpace(body)) == 0 || !json.Valid(body) {
			doc, _ := json.Marshal(map[string]string{"errorMessage": "the runtime exited without a response: " + string(body), "errorType": "Runtime.ExitError"})
			body = doc
		}
		return nil, &gateway.FunctionError{Function: fn.ID, Payload: body}
	default:
		return nil, fmt.Errorf("lambdarun: %s: the RIE answered %d: %s", fn.ID, resp.StatusCode, strings.TrimSpace(string(body)))
	}
}

// isErrorDocument reports whether a result is Lambda's error document: an object with
// errorMessage and nothing but errorType, stackTrace and cause besides.
func isErrorDocument(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	if _, ok := m["errorMessage"]; !ok {
		return false
	}
	for k := range m {
		switch k {
		case "errorMessage", "errorType", "stackTrace", "cause":
		default:
			return false
		}
	}
	return true
}

// stop ends the RIE (which stops the function's process group), then kills whatever
// is left of both process groups.
func (i *instance) stop() {
	i.stopped.Do(func() {
		if !i.alive() {
			return
		}
		pid := i.cmd.Process.Pid
		children := childPIDs(pid)
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-i.exited:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-i.exited
		}
		for _, c := range children { // the RIE runs the bootstrap in its own process group
			if syscall.Kill(c, 0) == nil {
				_ = syscall.Kill(-c, syscall.SIGKILL)
				_ = syscall.Kill(c, syscall.SIGKILL)
			}
		}
		i.client.CloseIdleConnections()
	})
}

// childPIDs lists the direct children of pid (Linux /proc; empty elsewhere).
func childPIDs(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may contain spaces and parentheses.
		s := string(stat)
		if k := strings.LastIndexByte(s, ')'); k >= 0 {
			fields := strings.Fields(s[k+1:])
			if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
				out = append(out, n)
			}
		}
	}
	return out
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lineWriter writes whole lines from several sources without interleaving them.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) copyLines(prefix string, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			lw.mu.Lock()
			_, _ = io.WriteString(lw.w, prefix+line)
			lw.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}
