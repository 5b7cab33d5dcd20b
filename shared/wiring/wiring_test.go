package wiring

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/wiring/workos"
)

// TestEveryDeclaredDependencyCanBeBuilt: wiring knows how to build every dependency an
// endpoint of the table declares.
func TestEveryDeclaredDependencyCanBeBuilt(t *testing.T) {
	for _, e := range authserver.Endpoints() {
		for _, need := range e.Needs {
			if allDeps[need].build == nil {
				t.Errorf("functions/%s needs %s, which no wiring.With… builds", e.Function, need)
			}
		}
	}
}

// allDeps are the builders of every dependency, by what they build.
var allDeps = map[authserver.Dependency]Dep{}

func init() {
	for _, d := range []Dep{WithStore, WithMinter, WithKeys, WithSignIn, WithWebhooks} {
		allDeps[d.Need] = d
	}
}

// depsOf are the builders of e's Needs, as its main.go passes them.
func depsOf(e authserver.Endpoint) []Dep {
	var deps []Dep
	for _, need := range e.Needs {
		deps = append(deps, allDeps[need])
	}
	return deps
}

// wellknownMains are the endpoints whose functions shared/wiring/wellknown starts instead of
// ServeEndpoint, so that they link neither this package's store and WorkOS client nor (the
// metadata) any AWS client: the call their main.go makes, which builds their Needs (jwks:
// the accepted keys, with signing.KeySet).
var wellknownMains = map[string]string{
	authserver.ResourceMetadataEndpoint.Function: "wellknown.ServeResourceMetadata()",
	authserver.ServerMetadataEndpoint.Function:   "wellknown.ServeServerMetadata()",
	authserver.JWKSEndpoint.Function:             "wellknown.ServeJWKS(signing.KeySet)",
}

// TestEveryFunctionPassesItsNeeds: each functions/<name>/main.go passes exactly the
// builders of its endpoint's Needs (ServeEndpoint would stop its cold start otherwise), or
// is started by shared/wiring/wellknown as wellknownMains says.
func TestEveryFunctionPassesItsNeeds(t *testing.T) {
	with := regexp.MustCompile(`wiring\.With(\w+)`)
	for _, e := range authserver.Endpoints() {
		src, err := os.ReadFile(filepath.Join("..", "..", "functions", e.Function, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if call, ok := wellknownMains[e.Function]; ok {
			if !strings.Contains(string(src), call) || strings.Contains(string(src), "wiring.") {
				t.Errorf("functions/%s/main.go must call %s and nothing of shared/wiring", e.Function, call)
			}
			continue
		}
		var got, want []string
		for _, m := range with.FindAllStringSubmatch(string(src), -1) {
			got = append(got, m[1])
		}
		for _, need := range e.Needs {
			want = append(want, string(need))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("functions/%s/main.go passes wiring.With%v, its endpoint needs %v", e.Function, got, want)
		}
	}
}

// coldStartCase is the environment variable that makes the test binary, run again as a
// child, play one function's cold start (TestColdStartFailures).
const coldStartCase = "WIRING_TEST_COLD_START"

// coldStarts are cold starts that must stop: each runs in a child process as a function's
// main would, with only ISSUER configured.
var coldStarts = map[string]func(f *Function){
	// A Server handed to an endpoint without the dependencies it declares.
	"token endpoint, empty server": func(f *Function) {
		f.checkedHandler(&authserver.Server{Config: f.Config, Log: f.Log}, authserver.TokenEndpoint)
	},
	// The store cannot be built: TABLE_NAME is not set.
	"register endpoint, no table": func(f *Function) { f.EndpointHandler(authserver.RegisterEndpoint, WithStore) },
	// The token endpoint's main.go forgetting one of its dependencies.
	"token endpoint, builder missing": func(f *Function) { f.EndpointHandler(authserver.TokenEndpoint, WithStore, WithSignIn) },
	// The authorizer without any accepted key (ACCEPTED_KEY_IDS and SIGNING_KEY_ID unset).
	"authorizer, no keys": func(f *Function) { f.Authorizer() },
	// The MCP function without a WorkOS API key.
	"mcp, no WorkOS client": func(f *Function) { f.WorkOSClient() },
	// A front door whose upstream is plain http on another host (coldStartEnv): New stops.
	"authorizer, malformed front door": func(f *Function) { f.Authorizer() },
}

// coldStartEnv is the extra environment of a cold-start case.
var coldStartEnv = map[string][]string{
	"authorizer, malformed front door": {"FRONT_DOOR_1_RESOURCE=https://auth.example.com/mcp", "FRONT_DOOR_1_UPSTREAM=http://crm.example.com/mcp"},
}

// TestColdStartFailures: a function whose dependencies are incomplete stops at cold start
// with exit status 1 and one JSON error line saying what is missing, before serving
// anything.
func TestColdStartFailures(t *testing.T) {
	if name := os.Getenv(coldStartCase); name != "" {
		coldStarts[name](New())
		os.Exit(0) // not reached when the cold start stops as it must
	}
	want := map[string]string{
		"token endpoint, empty server":     "cannot start: missing Store, Minter",
		"register endpoint, no table":      "TABLE_NAME is required",
		"token endpoint, builder missing":  "wiring cannot build Minter for functions/token",
		"authorizer, no keys":              "no signing key ids configured",
		"mcp, no WorkOS client":            "WORKOS_API_KEY",
		"authorizer, malformed front door": "FRONT_DOOR_1_UPSTREAM must be an https URL",
	}
	for name := range coldStarts {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestColdStartFailures$")
			cmd.Env = []string{coldStartCase + "=" + name, "ISSUER=https://auth.example.com", "AWS_LAMBDA_LOG_FORMAT=JSON",
				"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "HOME=" + t.TempDir()}
			cmd.Env = append(cmd.Env, coldStartEnv[name]...)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, stdout.String())
			}
			line := lastLine(stdout.String())
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("the last line is not JSON: %q", line)
			}
			if rec["level"] != "ERROR" || !strings.Contains(rec["error"].(string), want[name]) {
				t.Fatalf("log line %s, want an ERROR whose error mentions %q", line, want[name])
			}
		})
	}
}

func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			last = sc.Text()
		}
	}
	return last
}

// TestEveryFunctionStartsFromItsConfiguration: with the configuration template.yaml gives
// (against DynamoDB Local, local-kms, and a WorkOS API key set locally), every endpoint of
// the table gets its declared dependencies and answers without a server error, and the
// authorizer and MCP functions get theirs.
func TestEveryFunctionStartsFromItsConfiguration(t *testing.T) {
	ctx := context.Background()
	table := testenv.UniqueName("authbridge-wiring")
	if err := store.CreateTable(ctx, testenv.DynamoDB(t), table); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"ISSUER": "https://auth.example.com", "TABLE_NAME": table, "SIGNING_KEY_ID": testenv.NewSigningKey(t, testenv.KMS(t)),
		"WORKOS_CLIENT_ID": "client_wiring", "WORKOS_API_KEY": "sk_test_wiring", "WORKOS_ENDPOINT": "http://127.0.0.1:1",
		"AWS_LAMBDA_LOG_LEVEL": "ERROR", // the refusals below are expected; keep them out of the test output
	} {
		t.Setenv(k, v)
	}
	f := New()
	for _, e := range authserver.Endpoints() {
		rec := httptest.NewRecorder()
		f.EndpointHandler(e, depsOf(e)...).ServeHTTP(rec, httptest.NewRequest(e.Methods[0], e.Paths[0], nil))
		if rec.Code >= http.StatusInternalServerError {
			t.Errorf("%s %s (functions/%s): %d %s", e.Methods[0], e.Paths[0], e.Function, rec.Code, rec.Body)
		}
	}
	if f.Authorizer() == nil || f.WorkOSClient() == nil || f.Directory() == nil {
		t.Error("the authorizer and the MCP function's WorkOS client must be built")
	}
}

// TestCallbackPath: the MCP function's WorkOS client is built with the callback path of the
// endpoints table.
func TestCallbackPath(t *testing.T) {
	if workos.CallbackPath != authserver.PathCallback {
		t.Errorf("workos.CallbackPath is %q, authserver.PathCallback %q", workos.CallbackPath, authserver.PathCallback)
	}
}
