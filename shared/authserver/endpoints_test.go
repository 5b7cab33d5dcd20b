package authserver_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/upstream"
)

// TestEndpointsTable: each endpoint has its own function and paths, methods to route, and a
// logical id in template.yaml's naming (functions/<name> -> <Name>Function).
func TestEndpointsTable(t *testing.T) {
	functions, paths := map[string]bool{}, map[string]bool{}
	for _, e := range authserver.Endpoints() {
		if e.Function == "" || functions[e.Function] {
			t.Errorf("function %q: empty or served twice", e.Function)
		}
		functions[e.Function] = true
		if len(e.Paths) == 0 || len(e.Methods) == 0 {
			t.Errorf("%s: no paths or no methods", e.Function)
		}
		for _, p := range e.Paths {
			if !strings.HasPrefix(p, "/") || paths[p] {
				t.Errorf("%s: path %q is relative or served twice", e.Function, p)
			}
			paths[p] = true
		}
		if slices.Contains(e.Methods, http.MethodOptions) {
			t.Errorf("%s: OPTIONS is routed by CORS, not listed in Methods", e.Function)
		}
	}
	for fn, id := range map[string]string{"token": "TokenFunction", "resource-metadata": "ResourceMetadataFunction", "jwks": "JwksFunction"} {
		if got := (authserver.Endpoint{Function: fn}).LogicalID(); got != id {
			t.Errorf("LogicalID of %s = %s, want %s", fn, got, id)
		}
	}
	if got := authserver.TokenEndpoint.RoutedMethods(); !slices.Equal(got, []string{"POST", "OPTIONS"}) {
		t.Errorf("token routed methods %v", got)
	}
	if got := authserver.AuthorizeEndpoint.RoutedMethods(); !slices.Equal(got, []string{"GET"}) {
		t.Errorf("authorize routed methods %v (no CORS on the browser pages)", got)
	}
}

// without returns a copy of s lacking dependency d.
func without(t *testing.T, s authserver.Server, d authserver.Dependency) *authserver.Server {
	t.Helper()
	switch d {
	case authserver.NeedStore:
		s.Store = nil
	case authserver.NeedMinter:
		s.Minter = nil
	case authserver.NeedKeys:
		s.Keys = nil
	case authserver.NeedSignIn:
		s.SignIn = nil
	case authserver.NeedWebhooks:
		s.Webhooks = nil
	default:
		t.Fatalf("dependency %s: teach this test to remove it", d)
	}
	return &s
}

// TestHandlerRefusesAnIncompleteServer: for every endpoint of the table, a Server missing
// any dependency the endpoint needs is refused with an error naming that dependency and the
// function (so wiring stops the cold start instead of answering 500s), and a complete
// Server yields a handler that answers without a server error.
func TestHandlerRefusesAnIncompleteServer(t *testing.T) {
	complete := *newStack(t, nil).Server
	for _, e := range authserver.Endpoints() {
		t.Run(e.Function, func(t *testing.T) {
			h, err := complete.Handler(e)
			if err != nil {
				t.Fatalf("complete server refused: %v", err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(e.Methods[0], e.Paths[0], nil))
			if rec.Code >= 500 {
				t.Fatalf("%s %s: %d %s", e.Methods[0], e.Paths[0], rec.Code, rec.Body)
			}

			for _, need := range e.Needs {
				_, err := without(t, complete, need).Handler(e)
				if err == nil || !strings.Contains(err.Error(), string(need)) || !strings.Contains(err.Error(), e.LogicalID()) {
					t.Errorf("without %s: %v, want an error naming %s and %s", need, err, need, e.LogicalID())
				}
			}
			_, err = (&authserver.Server{}).Handler(e)
			if err == nil || !strings.Contains(err.Error(), "Config") {
				t.Errorf("empty server: %v, want an error naming Config", err)
			}
			for _, need := range e.Needs {
				if err == nil || !strings.Contains(err.Error(), string(need)) {
					t.Errorf("empty server: %v, want every missing dependency named (%s)", err, need)
				}
			}
		})
	}

	// Present but unusable: a nil *upstream.SignIn inside the interface, a key set without keys.
	s := complete
	s.SignIn = (*upstream.SignIn)(nil)
	if _, err := s.Handler(authserver.CallbackEndpoint); err == nil || !strings.Contains(err.Error(), "SignIn") {
		t.Errorf("nil *upstream.SignIn: %v, want refused", err)
	}
	s = complete
	s.Keys = &tokens.KeySet{}
	if _, err := s.Handler(authserver.JWKSEndpoint); err == nil || !strings.Contains(err.Error(), "Keys") {
		t.Errorf("empty key set: %v, want refused", err)
	}
	if _, err := complete.Handler(authserver.Endpoint{Function: "nowhere", Paths: []string{"/nowhere"}}); err == nil {
		t.Error("an endpoint outside the table must be refused")
	}
	incomplete := without(t, complete, authserver.NeedMinter)
	if _, err := incomplete.Routes(); err == nil || !strings.Contains(err.Error(), "Minter") {
		t.Errorf("Routes without Minter: %v, want refused", err)
	}
}

// TestEndpointsAnswerWhatTheTableRoutes: at every path of every endpoint (path-inserted
// forms included), the methods the table routes reach the handler (no 405), another method
// is refused with 405, and the CORS preflight is answered exactly where the table says so
// (the browser pages never answer it: MCP security best practices).
func TestEndpointsAnswerWhatTheTableRoutes(t *testing.T) {
	s := newStack(t, nil)
	for _, e := range authserver.Endpoints() {
		paths := slices.Clone(e.Paths)
		if e.PathInserted {
			paths = append(paths, e.Paths[0]+"/mcp")
		}
		for _, p := range paths {
			for _, m := range e.Methods {
				// The mux answers an unrouted path with a text/plain 404; the handlers answer JSON or HTML.
				r := do(t, m, s.Issuer+p, "", "")
				unrouted := r.Status == http.StatusNotFound && strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain")
				if r.Status == http.StatusMethodNotAllowed || unrouted {
					t.Errorf("%s %s: %d %s", m, p, r.Status, r.Body)
				}
			}
			if r := do(t, http.MethodPut, s.Issuer+p, "", ""); r.Status != http.StatusMethodNotAllowed {
				t.Errorf("PUT %s: %d, want 405", p, r.Status)
			}
			pre := do(t, http.MethodOptions, s.Issuer+p, "", "", "Origin", inspectorOrigin, "Access-Control-Request-Method", e.Methods[0])
			answered := pre.Status == http.StatusNoContent && pre.Header.Get("Access-Control-Allow-Origin") != ""
			if answered != e.CORS {
				t.Errorf("OPTIONS %s: %d (CORS answered %v), the table says CORS %v", p, pre.Status, answered, e.CORS)
			}
		}
	}
}

// TestTokenEndpointServesEverySupportedGrant: each grant of oauth.SupportedGrants reaches
// client authentication at the token endpoint (here: an unknown client, invalid_client),
// never unsupported_grant_type (RFC 6749 §5.2).
func TestTokenEndpointServesEverySupportedGrant(t *testing.T) {
	s := newStack(t, nil)
	for _, g := range oauth.SupportedGrants() {
		r := s.postToken(t, url.Values{"grant_type": {g}, "client_id": {"abc_unknown"}})
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	}
	wantOAuthError(t, s.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {"abc_unknown"}}), http.StatusBadRequest, "unsupported_grant_type")
}
