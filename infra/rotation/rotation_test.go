// Package rotation_test demonstrates the signing-key rotation of README.md ("Rotate the
// signing key") on the local stack exactly as `make dev` runs it: DynamoDB Local,
// local-kms, the WorkOS emulator, every function under the Lambda Runtime Interface
// Emulator behind infra/cmd/local-api, which reads template.yaml.
//
// A "deploy" here is what a `sam deploy` of a new ACCEPTED_KEY_IDS does to the functions:
// their environment changes and every execution environment starts again. The test writes
// the stack's .run/NAME/env.json and restarts local-api with its own command line.
//
// It starts a stack of its own, so it runs only when ROTATION_STACK=1 (make rotation-test).
package rotation_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/testenv"
)

const stackName = "rotation"

// TestSigningKeyRotation walks the four states of a rotation on the running stack:
//
//  0. key A signs and is the only accepted key; a person signs in and gets token T_A.
//  1. publish: key B is created and accepted beside A (deploy); JWKS lists both; T_A works;
//     new tokens are still signed by A.
//  2. switch: the alias moves to B; new tokens carry kid B; T_A still opens /mcp.
//  3. retire: only B is accepted (deploy) and A is scheduled for deletion; T_A is refused
//     with 401 and the resource_metadata challenge; tokens signed by B work; JWKS lists B alone.
func TestSigningKeyRotation(t *testing.T) {
	if os.Getenv("ROTATION_STACK") != "1" {
		t.Skip("starts a local stack: run it with `make rotation-test`")
	}
	started := time.Now()
	s := startStack(t)
	t.Logf("stack up in %s: issuer %s, key A %s", time.Since(started).Round(time.Millisecond), s.issuer, s.keyA)
	ctx := context.Background()

	// 0. Before: A only.
	s.wantJWKS(t, s.keyA)
	client := s.register(t)
	tokenA, refresh := s.signIn(t, client)
	if kid := kidOf(t, tokenA); kid != s.keyA {
		t.Fatalf("first token: kid %s, want key A %s", kid, s.keyA)
	}
	s.wantMCP(t, tokenA, http.StatusOK, "T_A before rotation")

	// 1. Publish B: created, accepted beside A; A still signs.
	keyB := testenv.NewSigningKey(t, s.kms)
	s.deploy(t, s.keyA+","+keyB)
	t.Logf("1 publish: key B %s accepted beside A", keyB)
	s.wantJWKS(t, s.keyA, keyB)
	s.wantMCP(t, tokenA, http.StatusOK, "T_A after B is published")
	var next string
	next, refresh = s.refresh(t, client, refresh)
	if kid := kidOf(t, next); kid != s.keyA {
		t.Fatalf("after publishing B, new tokens must still be signed by A, got kid %s", kid)
	}

	// 2. Switch: the alias moves to B (no function restart: the token function signs
	// through the alias and re-signs once when KMS reports another key).
	if _, err := s.kms.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(s.alias), TargetKeyId: aws.String(keyB)}); err != nil {
		t.Fatal(err)
	}
	t.Logf("2 switch: %s -> key B", s.alias)
	tokenB, refresh := s.refresh(t, client, refresh)
	if kid := kidOf(t, tokenB); kid != keyB {
		t.Fatalf("after the switch: kid %s, want key B %s", kid, keyB)
	}
	s.wantMCP(t, tokenA, http.StatusOK, "T_A after the switch (A still accepted)")
	s.wantMCP(t, tokenB, http.StatusOK, "T_B after the switch")
	s.wantJWKS(t, s.keyA, keyB)

	// 3. Retire A: accepted no more (deploy), then scheduled for deletion.
	s.deploy(t, keyB)
	if _, err := s.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(s.keyA), PendingWindowInDays: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	t.Log("3 retire: only key B accepted, key A scheduled for deletion")
	resp := s.wantMCP(t, tokenA, http.StatusUnauthorized, "T_A after A is retired")
	if h := resp.Header.Get("WWW-Authenticate"); strings.Contains(h, "error=") || !strings.Contains(h, "resource_metadata=") {
		t.Errorf("401 challenge %q", h)
	}
	s.wantMCP(t, tokenB, http.StatusOK, "T_B after A is retired")
	s.wantJWKS(t, keyB)
	tokenB2, _ := s.refresh(t, client, refresh)
	if kid := kidOf(t, tokenB2); kid != keyB {
		t.Fatalf("after retiring A: kid %s, want key B", kid)
	}
	s.wantMCP(t, tokenB2, http.StatusOK, "a new token after A is retired")
	t.Logf("rotation demonstrated in %s", time.Since(started).Round(time.Millisecond))
}

type stack struct {
	root, run, issuer, alias, keyA string
	kms                            *kms.Client
	http                           *http.Client
}

func startStack(t *testing.T) *stack {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	port := os.Getenv("ROTATION_PORT")
	if port == "" {
		port = "3950"
	}
	s := &stack{root: root, run: filepath.Join(root, ".run", stackName), http: &http.Client{Timeout: 30 * time.Second}}
	down := func() {
		cmd := exec.Command(filepath.Join(root, "infra/local/stack.sh"), "down", stackName)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("stack.sh down: %v\n%s", err, out)
		}
	}
	t.Cleanup(down)
	up := exec.Command(filepath.Join(root, "infra/local/stack.sh"), "up", stackName, port)
	up.Env = append(os.Environ(), "STACK_ENV=")
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("stack.sh up %s %s: %v\n%s", stackName, port, err, out)
	}
	env := readEnvFile(t, filepath.Join(s.run, "stack.env"))
	s.issuer = env["ISSUER"]
	params := s.envJSON(t)
	s.alias, s.keyA = params["SIGNING_KEY_ID"], params["ACCEPTED_KEY_IDS"]
	if s.issuer == "" || s.alias == "" || s.keyA == "" || strings.Contains(s.keyA, ",") {
		t.Fatalf("unexpected stack: issuer %q alias %q accepted %q", s.issuer, s.alias, s.keyA)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	s.kms = kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(params["AWS_ENDPOINT_URL_KMS"]) })
	return s
}

func (s *stack) envJSON(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.run, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]string
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("env.json: %v", err)
	}
	return doc["Parameters"]
}

// deploy gives the functions a new ACCEPTED_KEY_IDS as a stack update would: env.json
// changes and local-api (with every function under it) starts again, same command line.
func (s *stack) deploy(t *testing.T, accepted string) {
	t.Helper()
	started := time.Now()
	path := filepath.Join(s.run, "env.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["Parameters"]["ACCEPTED_KEY_IDS"] = accepted
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}

	pidFile := filepath.Join(s.run, "api.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	argv := procList(t, pid, "cmdline")
	environ := procList(t, pid, "environ")
	if len(argv) == 0 || filepath.Base(argv[0]) != "local-api" {
		t.Fatalf("api.pid %d is not local-api: %q", pid, argv)
	}
	// stack.sh starts local-api with setsid: its process group is its pid.
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(15 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("local-api %d did not stop", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}

	logf, err := os.OpenFile(filepath.Join(s.run, "api.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = s.root, environ, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // `stack.sh down` stops its group
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() //nolint:errcheck // reaps it when `stack.sh down` stops it
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := s.http.Get(s.issuer + "/.well-known/oauth-authorization-server")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("local-api did not answer after the restart (see %s/api.log)", s.run)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("deployed ACCEPTED_KEY_IDS=%s in %s", accepted, time.Since(started).Round(time.Millisecond))
}

func procList(t *testing.T, pid int, file string) []string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		t.Fatalf("read /proc/%d/%s: %v", pid, file, err)
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

// wantJWKS checks the published kids, in order (the signing key first).
func (s *stack) wantJWKS(t *testing.T, kids ...string) {
	t.Helper()
	resp, err := s.http.Get(s.issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct {
			Kid, Kty, Crv, Alg string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var got []string
	for _, k := range jwks.Keys {
		got = append(got, k.Kid)
	}
	if !slices.Equal(got, kids) {
		t.Fatalf("JWKS kids %v, want %v", got, kids)
	}
	t.Logf("JWKS lists %v", got)
}

// wantMCP calls tools/list with the token and checks the status.
func (s *stack) wantMCP(t *testing.T, token string, status int, what string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.issuer+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("%s: /mcp answered %d, want %d: %s", what, resp.StatusCode, status, body)
	}
	if status == http.StatusOK && !strings.Contains(string(body), `"tools"`) {
		t.Fatalf("%s: no tools in %s", what, body)
	}
	t.Logf("%s (kid %s): /mcp %d", what, kidOf(t, token), resp.StatusCode)
	return resp
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// --- the OAuth client and the person's browser ---------------------------------------

const redirectURI = "http://127.0.0.1:9/callback" // never visited: the test reads the redirect

func (s *stack) register(t *testing.T) string {
	t.Helper()
	body := `{"client_name":"rotation test","redirect_uris":["` + redirectURI + `"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}`
	resp, err := s.http.Post(s.issuer+"/api/ext/auth/register", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil || out.ClientID == "" {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	return out.ClientID
}

var (
	formRE   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
	buttonRE = regexp.MustCompile(`name="decision"`)
)

// signIn runs the authorization code flow with PKCE as Ada, through the consent page and
// the WorkOS emulator, and returns the access and refresh tokens.
func (s *stack) signIn(t *testing.T, clientID string) (string, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {"rotation"}, "resource": {s.issuer + "/mcp"}, "scope": {"mcp:tools orgs:read"}}
	page := s.issuer + "/api/ext/auth/authorize?" + q.Encode()
	resp, body := get(t, b, page)
	if resp.StatusCode == http.StatusOK && buttonRE.MatchString(body) { // consent
		resp, body = submit(t, b, page, body, `name="decision"`, url.Values{"decision": {"approve"}})
	}
	for hops := 0; resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther; hops++ {
		loc, err := resp.Location()
		if err != nil || hops > 8 {
			t.Fatalf("redirect: %v", err)
		}
		if strings.HasPrefix(loc.String(), redirectURI) {
			code := loc.Query().Get("code")
			if code == "" {
				t.Fatalf("no code in %s", loc)
			}
			return s.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
				"client_id": {clientID}, "code_verifier": {verifier}, "resource": {s.issuer + "/mcp"}})
		}
		page = loc.String()
		resp, body = get(t, b, page)
		for step := 0; resp.StatusCode == http.StatusOK && step < 3; step++ { // WorkOS sign-in, organization picker
			marker := `name="email"`
			extra := url.Values{"email": {"ada@example.com"}}
			if !strings.Contains(body, marker) {
				marker, extra = "selected_organization_id", nil
			}
			resp, body = submit(t, b, page, body, marker, extra)
		}
	}
	t.Fatalf("sign-in stopped at %d: %.300s", resp.StatusCode, body)
	return "", ""
}

func (s *stack) refresh(t *testing.T, clientID, refresh string) (string, string) {
	t.Helper()
	return s.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {clientID}})
}

func (s *stack) token(t *testing.T, form url.Values) (string, string) {
	t.Helper()
	resp, err := s.http.PostForm(s.issuer+"/api/ext/auth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("token (%s): %d %s %v", form.Get("grant_type"), resp.StatusCode, out.Error, err)
	}
	return out.AccessToken, out.RefreshToken
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// submit posts the first form of page containing marker, with its inputs and extra.
func submit(t *testing.T, c *http.Client, pageURL, page, marker string, extra url.Values) (*http.Response, string) {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[2], marker) {
			continue
		}
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		for k, v := range extra {
			form[k] = v
		}
		base, _ := url.Parse(pageURL)
		action, _ := url.Parse(html.UnescapeString(m[1]))
		resp, err := c.PostForm(base.ResolveReference(action).String(), form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	t.Fatalf("no form with %s on %s: %.300s", marker, pageURL, page)
	return nil, ""
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness"))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
