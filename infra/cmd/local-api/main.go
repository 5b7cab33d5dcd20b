// Command local-api runs the API Gateway REST API of template.yaml on 127.0.0.1: routes,
// the Lambda authorizer and gateway responses come from the template (read by
// infra/samtemplate), and every function's bootstrap runs under the Lambda Runtime
// Interface Emulator. No Docker. Without -stage it serves the custom domain: APIs mapped
// below its root (front doors, AWS::ApiGatewayV2::ApiMapping) are served at their base path.
//
//	local-api -template template.yaml -addr 127.0.0.1:3000 -stage /Prod \
//	  -env-vars env.json -param Issuer=http://127.0.0.1:3000/Prod -bin-dir build/local
//
// Function TokenFunction runs <bin-dir>/token/bootstrap (built for this machine from
// ./functions/token). SIGINT or SIGTERM stops every process it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/authbridge/authbridge/infra/gateway"
	"github.com/authbridge/authbridge/infra/lambdarun"
	"github.com/authbridge/authbridge/infra/samtemplate"
)

type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Key=Value, got %q", s)
	}
	p[k] = v
	return nil
}

func main() {
	os.Exit(run())
}

func run() int {
	params := paramFlag{}
	var (
		templatePath = flag.String("template", "template.yaml", "SAM template")
		addr         = flag.String("addr", "127.0.0.1:3000", "listen address (loopback only)")
		stage        = flag.String("stage", "", "serve under this stage prefix (Prod or /Prod) like the execute-api URL; empty serves at the root like a custom domain")
		envVars      = flag.String("env-vars", "", "function environment overrides: a JSON `file` shaped like sam local --env-vars ({\"Parameters\": {...}, \"TokenFunction\": {...}})")
		binDir       = flag.String("bin-dir", "build/local", "directory holding <function-dir>/bootstrap for each function, built for this machine")
		rie          = flag.String("rie", ".tools/bin/aws-lambda-rie", "path of aws-lambda-rie")
		timeout      = flag.Duration("timeout", gateway.DefaultIntegrationTimeout, "integration timeout")
		maxConc      = flag.Int("max-concurrency", 10, "execution environments per function")
		rieLogLevel  = flag.String("rie-log-level", "info", "log level of the Runtime Interface Emulator")
	)
	flag.Var(params, "param", "template parameter `Key=Value` (repeatable)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fail := func(err error) int {
		log.Error("local-api", "err", err)
		return 1
	}

	tmpl, err := gateway.Load(*templatePath, params)
	if err != nil {
		return fail(err)
	}
	var overrides gateway.EnvVars
	if *envVars != "" {
		if overrides, err = gateway.ReadEnvVars(*envVars); err != nil {
			return fail(err)
		}
	}

	var runner *lambdarun.Runner
	h, err := gateway.NewHandler(tmpl, gateway.Config{
		Stage:              *stage,
		IntegrationTimeout: *timeout,
		Logger:             log,
		Invoker: gateway.InvokerFunc(func(ctx context.Context, fn string, payload []byte) ([]byte, error) {
			return runner.Invoke(ctx, fn, payload)
		}),
	})
	if err != nil {
		return fail(err)
	}
	if s := strings.Trim(*stage, "/"); s != "" && s != h.API().StageName {
		log.Warn("the -stage prefix differs from the API's StageName (requestContext.stage, methodArn)", "prefix", s, "StageName", h.API().StageName)
	}
	if len(tmpl.APIs) > 1 && len(h.Mounted()) == 0 {
		// execute-api serves one API per host; the others are mapped on the custom domain.
		log.Warn("with -stage only the main API is served; the APIs mapped on the custom domain (front doors) are not", "apis", len(tmpl.APIs))
	}

	var fns []lambdarun.Function
	var missing []string
	for _, id := range h.Functions() {
		f := tmpl.Functions[id]
		bootstrap := filepath.Join(*binDir, f.Dir, "bootstrap")
		if _, err := os.Stat(bootstrap); err != nil {
			missing = append(missing, fmt.Sprintf("%s: %s (CGO_ENABLED=0 go build -tags lambda.norpc -o %s ./functions/%s)", id, bootstrap, bootstrap, f.Dir))
			continue
		}
		conc := *maxConc // ReservedConcurrentExecutions lowers it, never raises it
		if f.ReservedConcurrency > 0 && f.ReservedConcurrency < conc {
			conc = f.ReservedConcurrency
		}
		fns = append(fns, lambdarun.Function{ID: id, Name: f.Name, Bootstrap: bootstrap, Handler: f.Handler,
			Env: f.Environment(overrides), Timeout: f.Timeout, MemoryMB: f.MemorySize, MaxConcurrency: conc})
	}
	if len(missing) > 0 {
		return fail(fmt.Errorf("missing bootstrap binaries:\n  %s", strings.Join(missing, "\n  ")))
	}

	ln, err := listenLoopback(*addr)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner, err = lambdarun.Start(ctx, lambdarun.Config{RIE: *rie, Functions: fns, Output: os.Stderr,
		Region: samtemplate.Region, MaxConcurrency: *maxConc, LogLevel: *rieLogLevel})
	if err != nil {
		ln.Close()
		if ctx.Err() != nil {
			return 0
		}
		return fail(err)
	}
	defer runner.Close()

	base := "http://" + ln.Addr().String()
	if s := strings.Trim(*stage, "/"); s != "" {
		base += "/" + s
	}
	printRoutes(h.API(), base)
	for _, api := range h.Mounted() {
		printRoutes(api, base+"/"+api.BasePath)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("local-api: ready", "url", base, "functions", len(fns))

	select {
	case <-ctx.Done():
		log.Info("local-api: stopping")
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			runner.Close()
			return fail(err)
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	runner.Close()
	return 0
}

// listenLoopback listens on addr, refusing anything but a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-addr %q: only loopback addresses (127.0.0.1) are allowed", addr)
	}
	return net.Listen("tcp", net.JoinHostPort(host, port))
}

func printRoutes(api *gateway.API, base string) {
	routes := append([]*gateway.Route(nil), api.Routes...)
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	for _, rt := range routes {
		auth := ""
		if rt.Authorizer != "" {
			auth = "  [authorizer " + rt.Authorizer + "]"
		}
		target := rt.Function
		if rt.HTTP != nil {
			target = rt.HTTP.URI + " (HTTP proxy)"
		}
		path := base + rt.Path
		if rt.Path == "/" && api.BasePath != "" {
			path = base
		}
		fmt.Fprintf(os.Stderr, "  %-7s %s -> %s%s\n", rt.Method, path, target, auth)
	}
}
