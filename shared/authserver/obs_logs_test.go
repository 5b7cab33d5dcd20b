package authserver_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
)

// jsonObject decodes one JSON log line's top-level members and fails on a repeated key
// (slog would write one; CloudWatch Logs Insights would see only one of the values).
func jsonObject(t *testing.T, line string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("log line is not a JSON object: %q", line)
	}
	out := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("log line is not valid JSON: %q: %v", line, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("log line is not valid JSON: %q: %v", line, err)
		}
		if _, dup := out[tok.(string)]; dup {
			t.Fatalf("key %q twice in %s", tok, line)
		}
		out[tok.(string)] = v
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		t.Fatalf("log line is not one JSON object: %q", line)
	}
	return out
}

// leaks returns, for each line holding a secret value or 16 characters in a row of one, what
// the secret was.
func leaks(secrets map[string]string, lines []string) []string {
	var found []string
	for _, line := range lines {
		for value, what := range secrets {
			hit := strings.Contains(line, value)
			for i := 0; !hit && i+16 <= len(value); i++ {
				hit = strings.Contains(line, value[i:i+16])
			}
			if hit {
				found = append(found, what+" in: "+line)
			}
		}
	}
	return found
}

// TestObsLogsOfAFullFlow checks issue 5's logging rule on a full flow: every line is one JSON
// object carrying requestId, route, client_id and outcome, and no line carries a client
// secret, code, token (or any part of a JWT), cookie, CSRF token, consent request id, PKCE
// verifier, or WorkOS state or code — not even 16 characters of one.
func TestObsLogsOfAFullFlow(t *testing.T) {
	f := runObservedFlow(t)
	routes := []string{authserver.PathRegister, authserver.PathAuthorize, authserver.PathConsent, authserver.PathCallback,
		authserver.PathToken, authserver.PathRevoke, authserver.PathJWKS, authserver.PathPRM, authserver.PathASMetadata}
	clients := []string{f.Public, f.Confid}

	outcomes := map[string][]map[string]any{}
	for _, line := range f.Logs {
		rec := jsonObject(t, line)
		for _, k := range []string{"timestamp", "level", "message", "requestId", "route", "client_id", "outcome"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("no %q in log line %s", k, line)
			}
		}
		if id, _ := rec["requestId"].(string); id == "" {
			t.Fatalf("empty requestId: %s", line)
		}
		if route, _ := rec["route"].(string); !slices.Contains(routes, route) {
			t.Fatalf("route %v is not an endpoint: %s", rec["route"], line)
		}
		outcome, _ := rec["outcome"].(string)
		if outcome == "" {
			t.Fatalf("empty outcome: %s", line)
		}
		if _, ok := rec["client_id"].(string); !ok {
			t.Fatalf("client_id is not a string: %s", line)
		}
		outcomes[outcome] = append(outcomes[outcome], rec)
	}

	// What the flow did, line by line, with the client it was for.
	for outcome, want := range map[string]int{
		"invalid_redirect_uri": 1, // the refused registration
		"registered":           2,
		"consent_page":         3,
		"approved":             2,
		"upstream_redirect":    5,
		"upstream_error":       1, // WorkOS outage
		"code_issued":          3,
		"issued":               4, // 3 codes + 1 refresh
		"family_revoked":       2, // refresh reuse, code replay
		"invalid_grant":        2,
		"invalid_client":       1,
		"revoked":              2,
	} {
		if got := len(outcomes[outcome]); got != want {
			t.Errorf("%d lines with outcome %q, want %d", got, outcome, want)
		}
		if outcome == "invalid_redirect_uri" {
			continue
		}
		for _, rec := range outcomes[outcome] {
			if !slices.Contains(clients, rec["client_id"].(string)) {
				t.Errorf("outcome %q logged for client %q, want one of the flow's clients", outcome, rec["client_id"])
			}
		}
	}
	// access_denied: the denied consent, and the cancelled sign-in's redirect to the client.
	if got := len(outcomes["access_denied"]); got != 2 {
		t.Errorf("%d access_denied lines, want 2", got)
	}

	// One request, one id: consent approval and the redirect to WorkOS share it; two
	// registrations do not.
	for _, approved := range outcomes["approved"] {
		if !slices.ContainsFunc(outcomes["upstream_redirect"], func(r map[string]any) bool { return r["requestId"] == approved["requestId"] }) {
			t.Errorf("consent approval %v has no redirect line with its request id", approved["requestId"])
		}
	}
	if reg := outcomes["registered"]; len(reg) == 2 && reg[0]["requestId"] == reg[1]["requestId"] {
		t.Errorf("two registrations share request id %v", reg[0]["requestId"])
	}

	// No secret in any line, log or metric (both are CloudWatch Logs events).
	if len(f.Secrets) < 30 {
		t.Fatalf("only %d secrets collected", len(f.Secrets))
	}
	for value, what := range f.Secrets {
		if len(leaks(map[string]string{value: what}, []string{"x" + value[len(value)/3:] + "x"})) == 0 {
			t.Fatalf("the scan would miss part of a %s", what)
		}
	}
	if found := leaks(f.Secrets, append(slices.Clone(f.Logs), f.Metrics...)); len(found) > 0 {
		t.Fatalf("secrets in the logs:\n%s", strings.Join(found, "\n"))
	}
}
