package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
)

// server is the token and introspection endpoints on a fresh table, as the functions run them.
type server struct {
	URL   string
	Store *store.Store
	Table string
	rs    authserver.ResourceServerCredentials
	// tokens handed out, to check that no output carries one.
	secrets []string
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	ddb, kmsClient := testenv.DynamoDB(t), testenv.KMS(t)
	table := testenv.UniqueName("authbridge-grants")
	if err := store.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	keyID := testenv.NewSigningKey(t, kmsClient)
	vars := map[string]string{"ISSUER": "http://127.0.0.1:3000", "TABLE_NAME": table, "SIGNING_KEY_ID": keyID}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.LoadKeySet(ctx, kmsClient, cfg.AcceptedKeyIDs)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(ddb, table)
	srv := &authserver.Server{Config: cfg, Store: st, Keys: keys,
		Minter: tokens.NewMinter(kmsClient, keyID, cfg.Issuer, cfg.AccessTokenTTL),
		// The grants here carry no WorkOS refresh token, so a refresh asks WorkOS nothing; an
		// unexpected call would meet a closed port and answer 503, failing the test.
		SignIn: upstream.NewSignIn("http://127.0.0.1:1", "sk_test", "client_test", cfg.Issuer+authserver.PathCallback)}
	mux := http.NewServeMux()
	for _, e := range authserver.Endpoints() {
		if slices.Contains(e.Paths, authserver.PathToken) || slices.Contains(e.Paths, authserver.PathIntrospect) {
			h, err := srv.Handler(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range e.Paths {
				mux.Handle(p, h)
			}
		}
	}
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	rs, err := authserver.IssueResourceServerCredentials(ctx, st, cfg.Resources, cfg.Issuer+"/mcp")
	if err != nil {
		t.Fatal(err)
	}
	return &server{URL: hs.URL, Store: st, Table: table, rs: rs, secrets: []string{rs.ClientSecret}}
}

// client registers a public MCP client with the refresh_token grant.
func (s *server) client(t *testing.T, name string) string {
	t.Helper()
	id := oauth.NewOpaque(oauth.PrefixClientID)
	if err := s.Store.PutClient(context.Background(), store.Client{ID: id, Name: name, RedirectURIs: []string{"http://127.0.0.1/cb"},
		GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}, ResponseTypes: []string{"code"},
		TokenEndpointAuthMethod: "none", Scope: "mcp:tools"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// signIn is one person's sign-in through a client: the code the callback would store, then
// the real code exchange at the token endpoint. It returns the access and refresh tokens.
func (s *server) signIn(t *testing.T, clientID string, u store.User) (access, refresh string) {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	code := oauth.NewOpaque(oauth.PrefixCode)
	if err := s.Store.PutCode(context.Background(), oauth.HashSecret(code), store.Code{
		Request: store.AuthRequest{ClientID: clientID, RedirectURI: "http://127.0.0.1:7400/cb", Scope: "mcp:tools",
			Resource: "http://127.0.0.1:3000/mcp", CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:])},
		User: u, FamilyID: oauth.NewOpaque("abf_"), ExpiresAt: time.Now().Add(5 * time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	status, body := s.post(t, authserver.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1:7400/cb"}, "code_verifier": {verifier}, "client_id": {clientID}})
	if status != http.StatusOK {
		t.Fatalf("code exchange: %d %v", status, body)
	}
	access, refresh = body["access_token"].(string), body["refresh_token"].(string)
	s.secrets = append(s.secrets, code, access, refresh)
	return access, refresh
}

// refresh uses the refresh token and returns the token endpoint's status and error code.
func (s *server) refresh(t *testing.T, clientID, token string) (int, string) {
	t.Helper()
	status, body := s.post(t, authserver.PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {clientID}})
	if status == http.StatusOK {
		s.secrets = append(s.secrets, body["access_token"].(string), body["refresh_token"].(string))
	}
	code, _ := body["error"].(string)
	return status, code
}

// active is introspection's answer for the access token (RFC 7662 §2.2).
func (s *server) active(t *testing.T, access string) bool {
	t.Helper()
	status, body := s.post(t, authserver.PathIntrospect, url.Values{"token": {access}}, s.rs.ClientID, s.rs.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("introspect: %d %v", status, body)
	}
	return body["active"] == true
}

func (s *server) post(t *testing.T, path string, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// grants runs the command and returns its stdout as JSON lines; nothing on stdout carries a
// token, code or secret handed out so far.
func (s *server) grants(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	return s.grantsWith(t, nil, args...)
}

// grantsWith runs the command with env on top of the process's environment (where the AWS
// endpoints of DynamoDB Local and local-kms are) and TABLE_NAME; stderr must stay empty.
func (s *server) grantsWith(t *testing.T, env map[string]string, args ...string) []map[string]any {
	t.Helper()
	var out, stderr bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "TABLE_NAME" {
			return s.Table
		}
		return os.Getenv(k)
	}
	if err := run(args, getenv, &out, &stderr); err != nil {
		t.Fatalf("grants %v: %v", args, err)
	}
	if stderr.Len() > 0 {
		t.Fatalf("grants %v wrote to stderr: %s", args, stderr.String())
	}
	for _, secret := range s.secrets {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("grants %v printed a secret: %s", args, out.String())
		}
	}
	lines := []map[string]any{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var l map[string]any
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("grants %v: %v in %q", args, err, out.String())
		}
		lines = append(lines, l)
	}
	return lines
}

var (
	ada   = store.User{ID: "user_ada", Email: "ada@example.com", OrganizationID: "org_acme", SessionID: "session_ada"}
	bob   = store.User{ID: "user_bob", Email: "bob@example.com", OrganizationID: "org_acme"}
	carol = store.User{ID: "user_carol", Email: "carol@example.com"} // no organization
)

// The runbook's promise (README, "Cut off a person or an app"): list shows a person's grants
// without a secret; revoke -user ends exactly that person's grants at once — their refresh
// tokens get invalid_grant, introspection answers active:false for their access tokens —
// while everyone else's keep working; -org reaches everyone of the organization;
// delete-client removes the app and ends every grant made through it.
func TestOperatorCutsOffAPersonAndAnApp(t *testing.T) {
	s := newServer(t)
	cursor, claude := s.client(t, "Cursor"), s.client(t, "Claude")
	adaCursorAccess, adaCursorRefresh := s.signIn(t, cursor, ada)
	adaClaudeAccess, adaClaudeRefresh := s.signIn(t, claude, ada)
	bobAccess, bobRefresh := s.signIn(t, cursor, bob)
	carolAccess, carolRefresh := s.signIn(t, claude, carol)

	listed := s.grants(t, "list", "-user", ada.ID)
	if len(listed) != 2 {
		t.Fatalf("list -user: %v, want Ada's two grants", listed)
	}
	keys := []string{"client_id", "client_name", "created", "expires", "family_id", "last_used", "org_id", "resource", "revoked", "scope", "user_id"}
	byClient := map[string]map[string]any{}
	for _, l := range listed {
		byClient[l["client_id"].(string)] = l // same second: the order between them is the family ids'
	}
	for i, client := range []struct{ id, name string }{{cursor, "Cursor"}, {claude, "Claude"}} {
		l := byClient[client.id]
		var got []string
		for k := range l {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, keys) || l["client_id"] != client.id || l["client_name"] != client.name || l["user_id"] != ada.ID ||
			l["org_id"] != ada.OrganizationID || l["scope"] != "mcp:tools" || l["resource"] != "http://127.0.0.1:3000/mcp" ||
			l["revoked"] != false || !strings.HasPrefix(l["family_id"].(string), "abf_") {
			t.Errorf("grant %d: %v", i, l)
		}
		for _, k := range []string{"created", "last_used", "expires"} {
			if _, err := time.Parse(time.RFC3339, l[k].(string)); err != nil {
				t.Errorf("grant %d: %s %q is not RFC 3339", i, k, l[k])
			}
		}
	}
	if got := s.grants(t, "list", "-org", "org_acme"); len(got) != 3 {
		t.Errorf("list -org: %d grants, want Ada's two and Bob's", len(got))
	}
	if got := s.grants(t, "list", "-client", claude); len(got) != 2 {
		t.Errorf("list -client: %d grants, want Ada's and Carol's", len(got))
	}

	// Cut off Ada.
	if got := s.grants(t, "revoke", "-user", ada.ID); len(got) != 1 || got[0]["user_id"] != ada.ID || got[0]["matched"] != 2.0 || got[0]["revoked"] != 2.0 {
		t.Fatalf("revoke -user: %v", got)
	}
	for name, refresh := range map[string][2]string{"Cursor": {cursor, adaCursorRefresh}, "Claude": {claude, adaClaudeRefresh}} {
		if status, code := s.refresh(t, refresh[0], refresh[1]); status != http.StatusBadRequest || code != "invalid_grant" {
			t.Errorf("Ada's refresh token at %s after revoke: %d %s, want 400 invalid_grant", name, status, code)
		}
	}
	if s.active(t, adaCursorAccess) || s.active(t, adaClaudeAccess) {
		t.Error("introspection still answers active for Ada's access tokens")
	}
	if !s.active(t, bobAccess) || !s.active(t, carolAccess) {
		t.Error("revoking Ada ended someone else's access")
	}
	if status, _ := s.refresh(t, cursor, bobRefresh); status != http.StatusOK {
		t.Errorf("Bob's refresh after Ada's revocation: %d", status)
	}
	if got := s.grants(t, "revoke", "-user", ada.ID); got[0]["matched"] != 2.0 || got[0]["revoked"] != 0.0 {
		t.Errorf("revoke again: %v, want 2 matched, 0 revoked", got)
	}
	for _, l := range s.grants(t, "list", "-org", "org_acme") {
		if l["revoked"] != (l["user_id"] == ada.ID) {
			t.Errorf("after revoke -user: %v", l)
		}
	}

	// Remove Claude: the registration goes, and Carol's grant through it ends.
	if got := s.grants(t, "delete-client", claude); len(got) != 1 || got[0]["client_id"] != claude || got[0]["deleted"] != true ||
		got[0]["matched"] != 2.0 || got[0]["revoked"] != 1.0 {
		t.Fatalf("delete-client: %v", got)
	}
	if _, err := s.Store.GetClient(context.Background(), claude); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("client after delete-client: %v", err)
	}
	if got := s.grants(t, "delete-client", claude); got[0]["deleted"] != false || got[0]["matched"] != 2.0 || got[0]["revoked"] != 0.0 {
		t.Errorf("delete-client again: %v, want deleted false (nothing was there), 2 matched, 0 revoked", got)
	}
	if status, code := s.refresh(t, claude, carolRefresh); status != http.StatusUnauthorized || code != "invalid_client" {
		t.Errorf("Carol's refresh through a deleted client: %d %s, want 401 invalid_client", status, code)
	}
	if s.active(t, carolAccess) {
		t.Error("introspection still answers active for an access token of a deleted client")
	}
	if got := s.grants(t, "list", "-client", claude); len(got) != 2 || got[0]["client_name"] != "" || got[0]["revoked"] != true || got[1]["revoked"] != true {
		t.Errorf("list -client of a deleted client: %v, want both grants revoked, no name", got)
	}

	// The whole organization (Bob is left).
	if got := s.grants(t, "revoke", "-org", "org_acme"); got[0]["org_id"] != "org_acme" || got[0]["matched"] != 3.0 || got[0]["revoked"] != 1.0 {
		t.Errorf("revoke -org: %v", got)
	}
	if s.active(t, bobAccess) {
		t.Error("revoke -org left Bob's access token active")
	}
}

// Usage errors print nothing on stdout and touch nothing.
func TestUsageErrorsPrintNothing(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"TABLE_NAME": "never-called"}[k] }
	for name, args := range map[string][]string{
		"no subcommand":             nil,
		"unknown subcommand":        {"purge", "-user", "user_1"},
		"no filter":                 {"list"},
		"two filters":               {"revoke", "-user", "user_1", "-org", "org_1"},
		"empty filter":              {"revoke", "-user", ""},
		"extra argument":            {"list", "-user", "user_1", "x"},
		"unknown flag":              {"list", "-email", "ada@example.com"},
		"delete-client without id":  {"delete-client"},
		"delete-client with a flag": {"delete-client", "-client", "abc_1"},
		"delete-client with two":    {"delete-client", "abc_1", "abc_2"},
	} {
		var out bytes.Buffer
		if err := run(args, getenv, &out, io.Discard); err == nil || out.Len() != 0 {
			t.Errorf("%s: err %v, stdout %q; want an error and nothing on stdout", name, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := run([]string{"list", "-user", "user_1"}, func(string) string { return "" }, &out, io.Discard); err == nil || out.Len() != 0 {
		t.Errorf("without TABLE_NAME: %v %q", err, out.String())
	}
}

// An operator's revocation is counted like the functions' (README, Logs and metrics):
// GrantsRevoked{Function=grants, Cause=operator} with the number revoked, sent to CloudWatch
// with PutMetricData. No CloudWatch runs here: the endpoint records the request the SDK sends
// (only a deployment shows the metric on the dashboard). Nothing is sent when nothing was
// revoked.
func TestOperatorRevocationsAreCounted(t *testing.T) {
	s := newServer(t)
	cursor := s.client(t, "Cursor")
	s.signIn(t, cursor, ada)
	s.signIn(t, cursor, bob)
	var requests []string
	cw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests = append(requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Amz-Target")+" "+string(body))
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		if strings.Contains(r.Header.Get("Content-Type"), "cbor") {
			w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
			_, _ = w.Write([]byte{0xa0}) // an empty CBOR map: PutMetricData returns nothing
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer cw.Close()
	env := map[string]string{"AWS_ENDPOINT_URL_CLOUDWATCH": cw.URL}

	if got := s.grantsWith(t, env, "revoke", "-org", "org_acme"); got[0]["revoked"] != 2.0 {
		t.Fatalf("revoke -org: %v", got)
	}
	if len(requests) != 1 {
		t.Fatalf("%d CloudWatch requests, want 1 PutMetricData: %q", len(requests), requests)
	}
	for _, want := range []string{"PutMetricData", "Authbridge", "GrantsRevoked", "Function", "grants", "Cause", "operator"} {
		if !strings.Contains(requests[0], want) {
			t.Errorf("the metric request lacks %q: %q", want, requests[0])
		}
	}
	s.grantsWith(t, env, "revoke", "-org", "org_acme") // nothing left to revoke
	if len(requests) != 1 {
		t.Errorf("a revoke that revoked nothing sent a metric: %q", requests[1:])
	}
	s.grants(t, "revoke", "-user", ada.ID) // a local table without a CloudWatch endpoint: none
	if len(requests) != 1 {
		t.Errorf("sent a metric without a CloudWatch endpoint for a local table: %q", requests[1:])
	}
}
