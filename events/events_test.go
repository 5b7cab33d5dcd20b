package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/events"
	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/infra/workosemu/emutest"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/guard/gatewaytest"
	"github.com/authbridge/authbridge/shared/mcpserver"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// The events' API is a stage URL without a custom domain: the issuer carries /Prod.
var issuer = "https://" + gatewaytest.Default.Domain() + "/Prod"

// webhookSecret signed events/webhook.json (a documentation value, never a real secret).
const webhookSecret = "whsec_events_example"

// answer is what a function returned for an event.
type answer struct {
	status int // for the authorizer: the status API Gateway would send (gatewaytest.Status)
	header http.Header
	body   string
	auth   awsevents.APIGatewayCustomAuthorizerResponse
}

// expectations: every file in events/ must have one; a new event without an expectation
// fails the test, as does an expectation without its file.
var expectations = map[string]func(t *testing.T, a answer, v map[string]string){
	"authorizer-allow": func(t *testing.T, a answer, v map[string]string) {
		want(t, a.status == 200 && a.auth.Context["sub"] == events.Subject.Subject && a.auth.Context["jti"] == v[events.JTI], "Allow with Ada's identity", a)
	},
	"authorizer-deny":          func(t *testing.T, a answer, _ map[string]string) { want(t, a.status == 403, "Deny (403)", a) },
	"authorizer-expired":       func(t *testing.T, a answer, _ map[string]string) { want(t, a.status == 401, "Unauthorized (401)", a) },
	"authorizer-missing-token": func(t *testing.T, a answer, _ map[string]string) { want(t, a.status == 401, "Unauthorized (401)", a) },
	"mcp-initialize": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"serverInfo":{"name":"authbridge"`) && strings.Contains(a.body, `"protocolVersion":"2025-11-25"`), "initialize result", a)
	},
	"mcp-tools-list": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"name":"whoami"`) && strings.Contains(a.body, `"name":"list_organizations"`), "both tools", a)
	},
	"mcp-tools-call-whoami": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"user_id":"`+events.Subject.Subject+`"`) && strings.Contains(a.body, `"name":"Ada Lovelace"`), "Ada's identity", a)
	},
	"mcp-tools-call-list-organizations": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"organization_id":"org_01JENGINESADMFHXS2JFX687EA","role":"admin"`), "Ada's membership", a)
	},
	"resource-metadata": func(t *testing.T, a answer, v map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"resource":"`+v[events.Resource]+`"`), "RFC 9728 metadata", a)
	},
	"server-metadata": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"issuer":"`+issuer+`"`), "RFC 8414 metadata", a)
	},
	"server-metadata-openid": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"issuer":"`+issuer+`"`), "OpenID discovery", a)
	},
	"jwks": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `"alg":"ES256"`), "a JWK set", a)
	},
	"register": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 201 && strings.Contains(a.body, `"client_id":"abc_`), "a registered client", a)
	},
	"authorize": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200 && strings.Contains(a.body, `name="decision"`) && strings.Contains(a.body, "sam local"), "the consent page", a)
	},
	"consent": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 400 && strings.Contains(a.body, "expired or was already answered"), "an unknown consent request refused", a)
	},
	"callback": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 400 && strings.Contains(a.body, "expired or was already completed"), "an unknown state refused", a)
	},
	"connected-apps": func(t *testing.T, a answer, _ map[string]string) {
		loc := a.header.Get("Location")
		want(t, a.status == 302 && strings.Contains(loc, "/user_management/authorize") && strings.Contains(loc, "code_challenge_method=S256") &&
			strings.Contains(a.header.Get("Set-Cookie"), "__Host-authbridge-browser="), "a browser without a session sent to WorkOS sign-in (state + PKCE), bound to a new browser cookie", a)
	},
	"token": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 400 && strings.Contains(a.body, `"error":"invalid_grant"`), "invalid_grant for an unknown code", a)
	},
	"revoke": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 200, "200 for an unknown token (RFC 7009 §2.2)", a)
	},
	"introspect": func(t *testing.T, a answer, _ map[string]string) {
		want(t, a.status == 401 && strings.Contains(a.body, `"error":"invalid_client"`) && strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic"),
			"401 invalid_client with a Basic challenge: a valid token without resource server credentials (RFC 7662 §2.1)", a)
	},
	"webhook": func(t *testing.T, a answer, _ map[string]string) {
		// WorkOS "Validate the requests": a signature older than the tolerance is refused.
		want(t, a.status == 401 && strings.Contains(a.body, `"error":"invalid_signature"`), "401 invalid_signature: a WorkOS event signed long ago (replay window)", a)
	},
}

func want(t *testing.T, ok bool, what string, a answer) {
	t.Helper()
	if !ok {
		t.Fatalf("want %s; got %d %v %s %+v", what, a.status, a.header, truncate(a.body, 600), a.auth)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// TestEveryEvent feeds every file in events/ to the handler its function's main builds, with
// the placeholders filled as `go run ./events/render` fills them, and checks the answer.
func TestEveryEvent(t *testing.T) {
	fns := functionDirs(t)
	h := newHandlers(t)
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	// register.json first: the client it registers is ${CLIENT_ID} of the other OAuth events.
	sort.SliceStable(files, func(i, j int) bool { return files[i] == "register.json" && files[j] != "register.json" })
	covered := map[string]bool{}
	seen := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(file, ".json")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			check, ok := expectations[name]
			if !ok {
				t.Fatalf("events/%s has no expectation in events_test.go", file)
			}
			fn := functionOf(name, fns)
			if fn == "" {
				t.Fatalf("events/%s names no function (want <function>[-<case>].json, functions: %v)", file, fns)
			}
			covered[fn] = true
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			filled, err := events.Fill(raw, h.values)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			a := h.invoke(t, fn, filled)
			if name == "register" {
				var reg struct {
					ClientID string `json:"client_id"`
				}
				_ = json.Unmarshal([]byte(a.body), &reg)
				h.values[events.ClientID] = reg.ClientID
			}
			check(t, a, h.values)
		})
	}
	for name := range expectations {
		if !seen[name] {
			t.Errorf("expectation %s has no events/%s.json", name, name)
		}
	}
	for _, fn := range fns {
		if !covered[fn] {
			t.Errorf("functions/%s has no event in events/", fn)
		}
	}
}

func functionDirs(t *testing.T) []string {
	entries, err := os.ReadDir(filepath.Join("..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// functionOf maps an event file name to its function: <function> or <function>-<case>.
func functionOf(name string, fns []string) string {
	best := ""
	for _, fn := range fns {
		if (name == fn || strings.HasPrefix(name, fn+"-")) && len(fn) > len(best) {
			best = fn
		}
	}
	return best
}

// handlers holds every function's Lambda handler, built as its main builds it, over
// DynamoDB Local, local-kms and the WorkOS emulator.
type handlers struct {
	authorizer func(context.Context, awsevents.APIGatewayCustomAuthorizerRequestTypeRequest) (awsevents.APIGatewayCustomAuthorizerResponse, error)
	proxy      map[string]web.ProxyHandler
	values     map[string]string
}

func newHandlers(t *testing.T) *handlers {
	t.Helper()
	ctx := context.Background()
	ddb, kmsClient := testenv.DynamoDB(t), testenv.KMS(t)
	table := testenv.UniqueName("authbridge-events")
	if err := store.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	keyID := testenv.NewSigningKey(t, kmsClient)

	workos := emutest.Start(t, issuer+authserver.PathCallback)

	vars := map[string]string{"ISSUER": issuer, "TABLE_NAME": table, "SIGNING_KEY_ID": keyID, "WORKOS_ENDPOINT": workos.URL,
		"WORKOS_CLIENT_ID": workosemu.DefaultClientID, "WORKOS_API_KEY": workosemu.DefaultAPIKey}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.LoadKeySet(ctx, kmsClient, cfg.AcceptedKeyIDs)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	signIn := upstream.NewSignIn(cfg.WorkOSEndpoint, cfg.WorkOSAPIKey, cfg.WorkOSClientID, cfg.Endpoint(authserver.PathCallback))
	srv := &authserver.Server{Config: cfg, Store: store.New(ddb, table), Keys: keys, SignIn: signIn, Log: log,
		Minter:   tokens.NewMinter(kmsClient, cfg.SigningKeyID, cfg.Issuer, cfg.AccessTokenTTL),
		Webhooks: &authserver.Webhooks{Secret: webhookSecret}}

	values, err := events.Tokens(ctx, func(at time.Time) *tokens.Minter {
		return tokens.NewMinter(kmsClient, cfg.SigningKeyID, cfg.Issuer, cfg.AccessTokenTTL).WithClock(func() time.Time { return at })
	}, cfg.Resources[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	values[events.ClientID] = events.Subject.ClientID // until register.json has run

	lambda := func(h http.Handler) web.ProxyHandler { return web.LambdaHandler(h, log) }
	// The OAuth functions are the endpoints table's; the MCP function is not an OAuth endpoint.
	proxy := map[string]web.ProxyHandler{"mcp": lambda(mcpserver.New(cfg, signIn.Client(), log).Handler())}
	for _, e := range authserver.Endpoints() {
		h, err := srv.Handler(e)
		if err != nil {
			t.Fatal(err)
		}
		proxy[e.Function] = lambda(h)
	}
	return &handlers{authorizer: guard.New(cfg, keys, log).Handle, proxy: proxy, values: values}
}

// decodeStrict decodes an event as the Lambda runtime would, refusing members the Go event
// type does not have (a misspelt field in a file would otherwise be silently ignored).
func decodeStrict(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("event does not decode as %T: %v", v, err)
	}
}

func (h *handlers) invoke(t *testing.T, fn string, raw []byte) answer {
	t.Helper()
	ctx := context.Background()
	if fn == "authorizer" {
		var ev awsevents.APIGatewayCustomAuthorizerRequestTypeRequest
		decodeStrict(t, raw, &ev)
		resp, err := h.authorizer(ctx, ev)
		return answer{status: gatewaytest.Status(resp, err, ev.MethodArn), auth: resp}
	}
	handler, ok := h.proxy[fn]
	if !ok {
		t.Fatalf("no handler for function %s: add it to newHandlers", fn)
	}
	var ev awsevents.APIGatewayProxyRequest
	decodeStrict(t, raw, &ev)
	resp, err := handler(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: gatewaytest.ResponseHeader(resp), body: resp.Body}
}
