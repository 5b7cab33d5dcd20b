package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/authbridge/authbridge/infra/doctor"
	"github.com/authbridge/authbridge/infra/gateway"
	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/infra/workosemu/emutest"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/mcpserver"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// deployment is Authbridge as deployed, in one process: template.yaml's API Gateway
// (infra/gateway: routes, the Lambda authorizer, the gateway responses with the 401
// challenge, the stage prefix) invoking every function's handler as its main.go builds it,
// against DynamoDB Local, local-kms and the WorkOS emulator.
type deployment struct {
	Issuer string
	MCP    string
	db     *dynamodb.Client
	table  string
}

func newDeployment(t *testing.T, stage string) *deployment {
	t.Helper()
	ctx := context.Background()
	ddb, kmsClient := testenv.DynamoDB(t), testenv.KMS(t)
	table := testenv.UniqueName("authbridge-doctor")
	if err := store.CreateTable(ctx, ddb, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() { _, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	keyID := testenv.NewSigningKey(t, kmsClient)

	var gw http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gw.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	issuer := srv.URL
	if stage != "" {
		issuer += "/" + stage
	}

	workos := emutest.Start(t, issuer+authserver.PathCallback)

	vars := map[string]string{"ISSUER": issuer, "TABLE_NAME": table, "SIGNING_KEY_ID": keyID, "WORKOS_ENDPOINT": workos.URL,
		"WORKOS_CLIENT_ID": workosemu.DefaultClientID, "WORKOS_API_KEY": workosemu.DefaultAPIKey,
		"ALLOWED_ORIGINS": "http://localhost:6274,http://127.0.0.1:6274"}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.LoadKeySet(ctx, kmsClient, cfg.AcceptedKeyIDs)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	signIn := upstream.NewSignIn(workos.URL, workosemu.DefaultAPIKey, workosemu.DefaultClientID, issuer+authserver.PathCallback)
	as := &authserver.Server{Config: cfg, Store: store.New(ddb, table), Minter: tokens.NewMinter(kmsClient, keyID, issuer, cfg.AccessTokenTTL),
		Keys: keys, SignIn: signIn, Log: log, Webhooks: &authserver.Webhooks{}}

	functions := map[string]func(context.Context, []byte) ([]byte, error){}
	for _, e := range authserver.Endpoints() {
		h, err := as.Handler(e)
		if err != nil {
			t.Fatal(err)
		}
		functions[e.LogicalID()] = proxyFunction(web.LambdaHandler(h, log))
	}
	functions["McpFunction"] = proxyFunction(web.LambdaHandler(mcpserver.New(cfg, signIn.Client(), log).Handler(), log))
	authorizer := guard.New(cfg, keys, log)
	functions["AuthorizerFunction"] = func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		out, err := authorizer.Handle(ctx, ev)
		if err != nil {
			doc, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
			return nil, &gateway.FunctionError{Function: "AuthorizerFunction", Payload: doc}
		}
		return json.Marshal(out)
	}

	tmpl, err := gateway.Load(filepath.Join(repoRoot(), "template.yaml"), map[string]string{
		"Issuer": issuer, "StageName": "Prod", "WorkOSClientId": workosemu.DefaultClientID,
		"WorkOSApiKeySecretArn":  "arn:aws:secretsmanager:us-east-1:000000000000:secret:local",
		"WorkOSWebhookSecretArn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:local-webhook",
	})
	if err != nil {
		t.Fatal(err)
	}
	gw, err = gateway.NewHandler(tmpl, gateway.Config{Stage: stage, Invoker: gateway.InvokerFunc(
		func(ctx context.Context, fn string, payload []byte) ([]byte, error) {
			f, ok := functions[fn]
			if !ok {
				return nil, errors.New("no in-process handler for " + fn)
			}
			return f(ctx, payload)
		})})
	if err != nil {
		t.Fatal(err)
	}
	return &deployment{Issuer: issuer, MCP: issuer + "/mcp", db: ddb, table: table}
}

func proxyFunction(h web.ProxyHandler) func(context.Context, []byte) ([]byte, error) {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		out, err := h(ctx, ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

func (d *deployment) items(t *testing.T) int {
	t.Helper()
	out, err := d.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(d.table), Select: types.SelectCount, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

func run(t *testing.T, o doctor.Options) (*doctor.Report, string) {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	rep, err := doctor.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String()
}

// TestPassesAgainstAuthbridge: every client gets through Authbridge at the root (custom
// domain) and under the /Prod stage prefix (execute-api), and doctor writes nothing.
func TestPassesAgainstAuthbridge(t *testing.T) {
	for _, stage := range []string{"", "Prod"} {
		t.Run("stage="+stage, func(t *testing.T) {
			d := newDeployment(t, stage)
			before := d.items(t)
			rep, out := run(t, doctor.Options{MCPURL: d.MCP})
			t.Log("\n" + out)
			if rep.Failed() {
				t.Fatalf("doctor fails against Authbridge:\n%s", out)
			}
			if after := d.items(t); after != before {
				t.Fatalf("doctor wrote %d items; without -register it must write nothing", after-before)
			}
			for _, want := range []string{"Every client (6) gets through", "Handoff summary", "doctor sent none", d.Issuer + "/.well-known/jwks.json"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			for _, c := range doctor.Clients {
				if s := status(rep, c.Key, "issuer"); s != doctor.Pass {
					t.Errorf("%s issuer: %s", c.Key, s)
				}
			}
			if stage != "" {
				// The stage puts the 2025-03-26 paths at /Prod/…: Claude's direct use of them is a warning.
				if s := status(rep, "claude", "2025-03-26 paths"); s != doctor.Warn {
					t.Errorf("claude 2025-03-26 paths under a stage: %s, want WARN", s)
				}
			}
		})
	}
}

// TestRegisterSendsOneRegistration: -register registers one client, whose authorization
// request with PKCE and resource is accepted, and one without PKCE refused.
func TestRegisterSendsOneRegistration(t *testing.T) {
	d := newDeployment(t, "")
	rep, out := run(t, doctor.Options{MCPURL: d.MCP, Register: true, RegisterAs: "vscode"})
	if rep.Failed() {
		t.Fatalf("doctor -register fails:\n%s", out)
	}
	for _, step := range []string{"registration (sent)", "authorize (sent)", "PKCE enforced"} {
		if s := status(rep, "vscode", step); s != doctor.Pass {
			t.Errorf("vscode %s: %s\n%s", step, s, out)
		}
	}
	if !strings.Contains(out, "doctor sent one registration as vscode") {
		t.Errorf("the summary does not say a registration was left:\n%s", out)
	}
}

// TestBrokenDeployments: a proxy in front of a good deployment breaks one thing; doctor
// fails with that reason.
func TestBrokenDeployments(t *testing.T) {
	d := newDeployment(t, "")
	isMetadata := func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/.well-known/oauth-authorization-server") || strings.Contains(r.URL.Path, "/.well-known/openid-configuration")
	}
	setIssuer := func(value func(issuer string) string) func(*http.Request, *http.Response, []byte) []byte {
		return func(r *http.Request, resp *http.Response, body []byte) []byte {
			if !isMetadata(r) || resp.StatusCode != http.StatusOK {
				return body
			}
			var m map[string]any
			if json.Unmarshal(body, &m) != nil {
				return body
			}
			m["issuer"] = value(m["issuer"].(string))
			b, _ := json.Marshal(m)
			return b
		}
	}
	cases := []struct {
		name   string
		break_ func(*http.Request, *http.Response, []byte) []byte
		step   string
		reason string
		fix    string
	}{
		{"wrong issuer", setIssuer(func(string) string { return "https://wrong.example.com" }),
			"issuer", `issuer is "https://wrong.example.com"`, "byte-identical"},
		{"trailing slash", setIssuer(func(iss string) string { return iss + "/" }),
			"issuer", "they differ by a trailing slash", "no trailing slash"},
		{"missing challenge", func(r *http.Request, resp *http.Response, body []byte) []byte {
			if resp.StatusCode == http.StatusUnauthorized {
				resp.Header.Del("WWW-Authenticate")
			}
			return body
		}, "401 challenge", "401 without a WWW-Authenticate: Bearer challenge", "RFC 9728 §5.1"},
		{"CORS off", func(r *http.Request, resp *http.Response, body []byte) []byte {
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					resp.Header.Del(k)
				}
			}
			return body
		}, "CORS /mcp", "no Access-Control-Allow-Origin for http://localhost:6274", "answer CORS from http://localhost:6274"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mcp := rewritingProxy(t, d, tc.break_)
			rep, out := run(t, doctor.Options{MCPURL: mcp})
			if !rep.Failed() {
				t.Fatalf("doctor passes a deployment with %s:\n%s", tc.name, out)
			}
			var found bool
			for _, row := range rep.Rows {
				if row.Step == tc.step && row.Status == doctor.Fail && strings.Contains(row.Detail, tc.reason) && strings.Contains(row.Fix, tc.fix) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no FAIL %q row with reason %q and fix %q:\n%s", tc.step, tc.reason, tc.fix, out)
			}
			if !strings.Contains(out, "Reasons and fixes:") {
				t.Fatalf("no fixes printed:\n%s", out)
			}
			t.Logf("%s:\n%s", tc.name, failures(rep))
		})
	}
}

// rewritingProxy serves d at another origin (every mention of d's origin rewritten to its
// own, so that it is a consistent deployment) after applying mutate to each answer.
func rewritingProxy(t *testing.T, d *deployment, mutate func(*http.Request, *http.Response, []byte) []byte) string {
	t.Helper()
	target, _ := url.Parse(d.Issuer)
	backend := target.Scheme + "://" + target.Host
	var front string
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rp.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		body = bytes.ReplaceAll(body, []byte(backend), []byte(front))
		for k, vs := range resp.Header {
			for i, v := range vs {
				resp.Header[k][i] = strings.ReplaceAll(v, backend, front)
			}
		}
		body = mutate(resp.Request, resp, body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	front = srv.URL
	return front + strings.TrimPrefix(d.MCP, backend)
}

func status(rep *doctor.Report, client, step string) doctor.Status {
	for _, r := range rep.Rows {
		if r.Client == client && r.Step == step {
			return r.Status
		}
	}
	return "(no row)"
}

func failures(rep *doctor.Report) string {
	var b strings.Builder
	for _, r := range rep.Rows {
		if r.Status == doctor.Fail {
			b.WriteString("  " + r.Client + " " + r.Step + ": " + r.Detail + "; fix: " + r.Fix + "\n")
		}
	}
	return b.String()
}

// TestClientsMatchRealClients: the registrations doctor checks are the ones the real
// clients send (shared/testenv/realclients.json).
func TestClientsMatchRealClients(t *testing.T) {
	rc := testenv.LoadRealClients(t)
	for _, c := range doctor.Clients {
		if c.RealClient == "" {
			continue
		}
		var real *testenv.RealClient
		for i := range rc.Clients {
			if rc.Clients[i].Name == c.RealClient {
				real = &rc.Clients[i]
			}
		}
		if real == nil {
			t.Errorf("%s: no %q in realclients.json", c.Key, c.RealClient)
			continue
		}
		mine, _ := json.Marshal(c.Registration)
		var a, b any
		_ = json.Unmarshal(mine, &a)
		_ = json.Unmarshal(real.Registration, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: registration\n%s\nrealclients.json:\n%s", c.Key, mine, real.Registration)
		}
		if c.CIMD != real.ClientIDMetadataDocument {
			t.Errorf("%s: CIMD %q, realclients.json %q", c.Key, c.CIMD, real.ClientIDMetadataDocument)
		}
	}
}
