package authserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/clientid"
	"github.com/authbridge/authbridge/shared/oauth"
)

// Client ID Metadata Documents (MCP authorization 2026-07-28, Client Registration): a client
// uses an https URL as its client_id and the server trusts the document at that URL. These
// tests run the whole server against DynamoDB Local, local-kms and the WorkOS emulator; the
// documents' hosts are played by documentHosts, which validates each document with the
// fetcher's own rules (clientid.ParseDocument). The fetch itself (HTTPS, public addresses,
// no redirects, size, timeout, caching) is tested against a real TLS server in
// shared/clientid and end to end in infra/e2e/test/cimd.test.mjs.

const (
	docClientID = "https://app.example.com/oauth/client.json"
	docRedirect = "https://app.example.com/oauth/callback"
)

// documentHosts answers Fetch from documents by URL; fail, when set for a URL, is the fetch
// error instead (as clientid.Fetcher reports it).
type documentHosts struct {
	supported oauth.Scope
	mu        sync.Mutex
	docs      map[string]string
	fail      map[string]error
	fetches   int
}

func serveDocuments(st *stack) *documentHosts {
	d := &documentHosts{supported: oauth.Scope(st.Server.Config.Scopes), docs: map[string]string{}, fail: map[string]error{}}
	st.Server.ClientDocuments = d
	return d
}

func (d *documentHosts) Fetch(_ context.Context, id string) (clientid.Document, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fetches++
	if err := d.fail[id]; err != nil {
		return clientid.Document{}, err
	}
	body, ok := d.docs[id]
	if !ok {
		return clientid.Document{}, fmt.Errorf("%w: HTTP 404", clientid.ErrNotFound)
	}
	return clientid.ParseDocument([]byte(body), id, d.supported)
}

func (d *documentHosts) publish(id string, doc map[string]any) {
	body, _ := json.Marshal(doc)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs[id] = string(body)
}

func (d *documentHosts) fetchCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fetches
}

func publicDocument(id string, redirects ...string) map[string]any {
	return map[string]any{
		"client_id": id, "client_name": "Example Notes", "redirect_uris": redirects,
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	}
}

// jwtClaims decodes a JWT's payload (the signature is verified by the guard's own tests).
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// MCP authorization 2026-07-28: the server metadata says metadata documents are accepted.
func TestMCPCIMD_AdvertisedInServerMetadata(t *testing.T) {
	st := newStack(t, nil)
	r := do(t, http.MethodGet, st.Issuer+authserver.PathASMetadata, "", "")
	if got := r.json(t)["client_id_metadata_document_supported"]; got != true {
		t.Fatalf("client_id_metadata_document_supported = %v, want true", got)
	}
}

// A client known only by its document signs a person in, gets tokens, refreshes and revokes,
// without a registration: the table holds no client item until the person approves, and then
// only the approved redirect URI.
func TestMCPCIMD_ClientSignsInWithItsDocument(t *testing.T) {
	st := newStack(t, nil)
	docs := serveDocuments(st)
	docs.publish(docClientID, publicDocument(docClientID, docRedirect))

	// The consent page names the domain that vouches for the client, not "not verified".
	verifier, challenge := pkce()
	q := authorizeParams(docClientID, docRedirect, challenge, "s1", st.Issuer+"/mcp", "")
	resp, page := newBrowser(t).get(st.authorizeURL(q))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", resp.StatusCode, pageText(page))
	}
	text := pageText(page)
	for _, want := range []string{"Example Notes", "Identified by <strong><code>app.example.com</code>"} {
		if !strings.Contains(text, want) {
			t.Errorf("consent page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "not verified") || strings.Contains(text, "Local address") {
		t.Errorf("consent page of a document client with an https redirect:\n%s", text)
	}

	final := st.signIn(t, newBrowser(t), q, "ada@example.com")
	code := final.Query().Get("code")
	if code == "" || !strings.HasPrefix(final.String(), docRedirect) {
		t.Fatalf("redirect %s, want a code at %s", final, docRedirect)
	}
	g := grant{ClientID: docClientID, RedirectURI: docRedirect, Code: code, Verifier: verifier, Resource: st.Issuer + "/mcp"}
	r := st.postToken(t, g.form())
	if r.Status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	tok := r.json(t)
	if got := jwtClaims(t, str(tok, "access_token"))["client_id"]; got != docClientID {
		t.Errorf("access token client_id = %v, want %s", got, docClientID)
	}
	rt := str(tok, "refresh_token")
	if rt == "" {
		t.Fatal("no refresh token for a document listing the refresh_token grant")
	}
	r = st.postToken(t, refreshForm(docClientID, rt))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	rt2 := str(r.json(t), "refresh_token")
	// Another client, registered or not, cannot use this client's refresh token.
	other := st.publicClient(t, "Other", "https://other.example.com/cb")
	wantOAuthError(t, st.postToken(t, refreshForm(other, rt2)), http.StatusBadRequest, "invalid_grant")

	// What the table holds for the client: its approvals only, with an expiry.
	out, err := st.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(st.Table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CLIENT#" + docClientID}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Fatal("no item records the approved redirect URI")
	}
	for name := range out.Item {
		if name != "pk" && name != "approved_redirect_uris" && name != "expires_at" {
			t.Errorf("the document client's item has %q; it holds approvals only (the document is the registration)", name)
		}
	}
	if got := avString(out.Item["approved_redirect_uris"]); !strings.Contains(got, docRedirect) {
		t.Errorf("approved_redirect_uris = %s", got)
	}

	// RFC 9700 §4.11.2: once approved, the redirect URI receives errors directly.
	bad := authorizeParams(docClientID, docRedirect, challenge, "s2", st.Issuer+"/mcp", "")
	bad.Set("code_challenge_method", "plain")
	resp, _ = newBrowser(t).get(st.authorizeURL(bad))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, docRedirect) || !strings.Contains(loc, "error=invalid_request") {
		t.Errorf("refused request of an approved document client: %d Location %q", resp.StatusCode, loc)
	}

	// RFC 7009: the client revokes its refresh token; it is then refused.
	rr := st.postFormRaw(t, authserver.PathRevoke, url.Values{"token": {rt2}, "client_id": {docClientID}})
	if rr.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rr.Status, rr.Body)
	}
	wantOAuthError(t, st.postToken(t, refreshForm(docClientID, rt2)), http.StatusBadRequest, "invalid_grant")
}

// A document whose redirect URI is a loopback address: the domain vouches for the document,
// not for whatever listens on the person's machine, and the consent page says so.
func TestMCPCIMD_LoopbackRedirectWarnedOnConsent(t *testing.T) {
	st := newStack(t, nil)
	docs := serveDocuments(st)
	id := "https://cli.example.com/client.json"
	docs.publish(id, publicDocument(id, "http://127.0.0.1/callback"))
	_, challenge := pkce()
	resp, page := newBrowser(t).get(st.authorizeURL(authorizeParams(id, "http://127.0.0.1:53117/callback", challenge, "s", st.Issuer+"/mcp", "")))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s", resp.StatusCode, pageText(page))
	}
	text := pageText(page)
	for _, want := range []string{"Identified by <strong><code>cli.example.com</code>", "Local address", "any program on this computer"} {
		if !strings.Contains(text, want) {
			t.Errorf("consent page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "runs on a computer, not a website") {
		t.Errorf("the registration's loopback warning shown beside the document's:\n%s", text)
	}
}

// Every refused document is shown on Authbridge's own page with its reason (never a redirect
// to a URI nobody vouched for, RFC 6749 §4.1.2.1), and nothing is written.
func TestMCPCIMD_RefusedDocumentsAtAuthorize(t *testing.T) {
	st := newStack(t, nil)
	docs := serveDocuments(st)
	mismatch := "https://mismatch.example.com/client.json"
	docs.publish(mismatch, publicDocument("https://someone-else.example.com/client.json", docRedirect))
	secret := "https://secret.example.com/client.json"
	withSecret := publicDocument(secret, docRedirect)
	withSecret["client_secret"] = "s3cr3t"
	docs.publish(secret, withSecret)
	jwtClient := "https://jwt.example.com/client.json"
	jwtDoc := publicDocument(jwtClient, docRedirect)
	jwtDoc["token_endpoint_auth_method"] = "private_key_jwt"
	jwtDoc["jwks_uri"] = "https://jwt.example.com/jwks.json"
	docs.publish(jwtClient, jwtDoc)
	badRedirect := "https://badredirect.example.com/client.json"
	docs.publish(badRedirect, publicDocument(badRedirect, "https://badredirect.example.com/cb#frag"))
	notPublic := "https://internal.example.com/client.json"
	docs.fail[notPublic] = fmt.Errorf("%w: %w: internal.example.com resolves to 10.0.0.7", clientid.ErrHTTPStatus, clientid.ErrAddressNotPublic)
	redirected := "https://moved.example.com/client.json"
	docs.fail[redirected] = fmt.Errorf("%w: HTTP 302", clientid.ErrRedirect)
	big := "https://big.example.com/client.json"
	docs.fail[big] = fmt.Errorf("%w: more than 5120 bytes", clientid.ErrTooLarge)
	slow := "https://slow.example.com/client.json"
	docs.fail[slow] = fmt.Errorf("%w: %w", clientid.ErrHTTPStatus, context.DeadlineExceeded)

	for _, tc := range []struct {
		id, reason string
	}{
		{"https://10.0.0.7/client.json", "not one that can name a client ID metadata document"},
		{"https://absent.example.com/client.json", "not found"},
		{mismatch, "does not match its URL"},
		{secret, "client_secret"},
		{jwtClient, "private_key_jwt"},
		{badRedirect, "redirect"},
		{notPublic, "address not public"},
		{redirected, "redirect"},
		{big, "too large"},
		{slow, "could not be fetched"},
	} {
		st.noWrites(t, tc.id, func() {
			_, challenge := pkce()
			resp, page := newBrowser(t).get(st.authorizeURL(authorizeParams(tc.id, docRedirect, challenge, "s", st.Issuer+"/mcp", "")))
			text := pageText(page)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(text, tc.reason) {
				t.Errorf("%s: %d Location %q, want 400 naming %q:\n%s", tc.id, resp.StatusCode, resp.Header.Get("Location"), tc.reason, text)
			}
		})
	}
}

// The token endpoint: a client whose document is refused is invalid_client (RFC 6749 §5.2);
// one whose host cannot be reached gets 503 to retry; a code is bound to the client that asked.
func TestMCPCIMD_TokenEndpoint(t *testing.T) {
	st := newStack(t, nil)
	docs := serveDocuments(st)
	docs.publish(docClientID, publicDocument(docClientID, docRedirect))
	g := st.authorizeCode(t, docClientID, docRedirect, "")

	other := "https://other.example.com/client.json"
	docs.publish(other, publicDocument(other, docRedirect))
	f := g.form()
	f.Set("client_id", other)
	st.noWrites(t, "code of another client", func() {
		wantOAuthError(t, st.postToken(t, f), http.StatusBadRequest, "invalid_grant")
	})
	f.Set("client_id", "https://gone.example.com/client.json")
	st.noWrites(t, "client without a document", func() {
		wantOAuthError(t, st.postToken(t, f), http.StatusUnauthorized, "invalid_client")
	})
	// A document client never authenticates with a secret.
	f = g.form()
	f.Set("client_secret", "anything")
	st.noWrites(t, "secret sent", func() {
		r := st.postToken(t, f)
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest {
			t.Errorf("secret sent by a public document client: %d %s", r.Status, r.Body)
		}
	})
	docs.mu.Lock()
	docs.fail[docClientID] = fmt.Errorf("%w: HTTP 502", clientid.ErrHTTPStatus)
	docs.mu.Unlock()
	st.noWrites(t, "document host down", func() {
		r := st.postToken(t, g.form())
		wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	})
	// The host is back: the same code is still good (nothing was spent).
	docs.mu.Lock()
	delete(docs.fail, docClientID)
	docs.mu.Unlock()
	if r := st.postToken(t, g.form()); r.Status != http.StatusOK {
		t.Fatalf("code exchange after the host came back: %d %s", r.Status, r.Body)
	}
	if docs.fetchCount() == 0 {
		t.Fatal("the token endpoint never consulted the document")
	}
}

// The connected-apps page lists a document client by the host of its client_id (the domain
// that vouched for it) and the redirect host the person approved, from the table alone: it
// never fetches a document, which a hostile client's host could slow until the page that
// revokes that client fails. It reads the same whether the document is there or gone.
func TestMCPCIMD_ConnectedAppsListsDocumentClient(t *testing.T) {
	st := newStack(t, nil)
	docs := serveDocuments(st)
	docs.publish(docClientID, publicDocument(docClientID, docRedirect))
	if r := st.postToken(t, st.authorizeCode(t, docClientID, docRedirect, "").form()); r.Status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", r.Status, r.Body)
	}
	fetches := docs.fetchCount()
	section := appSection(st.openApps(t, newBrowser(t), "ada@example.com"), docClientID)
	if !strings.Contains(section, "app.example.com") || !strings.Contains(section, "identified by its domain") || strings.Contains(section, "not verified") {
		t.Fatalf("the page's section of the document client:\n%s", section)
	}
	docs.mu.Lock()
	delete(docs.docs, docClientID)
	docs.mu.Unlock()
	section = appSection(st.openApps(t, newBrowser(t), "ada@example.com"), docClientID)
	if section == "" || strings.Contains(section, "Example Notes") || !strings.Contains(section, "app.example.com") {
		t.Fatalf("with the document gone, the section should name the client_id's host:\n%s", section)
	}
	if got := docs.fetchCount(); got != fetches {
		t.Errorf("the connected-apps page fetched %d metadata documents; it must read the table only", got-fetches)
	}
}

// Moving off dynamic registration (DYNAMIC_REGISTRATION=off): the metadata names no
// registration endpoint (RFC 8414 §2: OPTIONAL), a registration gets 404 and writes nothing,
// and a client with a metadata document still signs in.
func TestMCPCIMD_RegistrationOffLeavesDocuments(t *testing.T) {
	st := newStack(t, map[string]string{"DYNAMIC_REGISTRATION": "off"})
	docs := serveDocuments(st)
	docs.publish(docClientID, publicDocument(docClientID, docRedirect))
	meta := do(t, http.MethodGet, st.Issuer+authserver.PathASMetadata, "", "").json(t)
	if _, named := meta["registration_endpoint"]; named {
		t.Errorf("registration_endpoint = %v with registration off", meta["registration_endpoint"])
	}
	if meta["client_id_metadata_document_supported"] != true {
		t.Error("metadata documents not advertised")
	}
	st.noWrites(t, "registration while off", func() {
		r := do(t, http.MethodPost, st.Issuer+authserver.PathRegister, "application/json",
			`{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"none"}`)
		if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "Client ID Metadata Document") {
			t.Errorf("register: %d %s", r.Status, r.Body)
		}
	})
	if r := st.postToken(t, st.authorizeCode(t, docClientID, docRedirect, "").form()); r.Status != http.StatusOK {
		t.Fatalf("document client with registration off: %d %s", r.Status, r.Body)
	}
}
