package authserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/authbridge/authbridge/infra/workosemu"
	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/testenv"
)

// docs/decisions.md "Refresh follows the WorkOS session": a refresh refreshes the person's
// WorkOS session too. WorkOS rotates its token: the one the family held is dead at WorkOS
// afterwards, the new one is kept sealed under the new refresh token (neither is in the table
// or the logs in the clear), and the next refresh works with it.
func TestRefreshFollowsWorkOSSession_RotatesTheWorkOSToken(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Follower", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7501/cb", ""), "refresh_token")
	w1 := s.workosRefreshOf(t, r1)

	r := s.postToken(t, refreshForm(clientID, r1))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	r2 := str(r.json(t), "refresh_token")
	w2 := s.workosRefreshOf(t, r2)
	if w2 == w1 {
		t.Fatal("the WorkOS refresh token was not rotated")
	}
	if status, code := s.workosRefresh(t, w1); status != http.StatusBadRequest || code != "invalid_grant" {
		t.Fatalf("the old WorkOS refresh token at WorkOS: %d %s, want 400 invalid_grant", status, code)
	}
	r3 := s.postToken(t, refreshForm(clientID, r2))
	if r3.Status != http.StatusOK {
		t.Fatalf("refresh with the rotated WorkOS token: %d %s", r3.Status, r3.Body)
	}
	claims := s.verifyAccess(t, str(r3.json(t), "access_token"))
	if claims["sub"] != adaUserID || claims["email"] != "ada@example.com" {
		t.Fatalf("claims after a WorkOS refresh: %v", claims)
	}
	s.noSecretAnywhere(t, w1, w2, s.workosRefreshOf(t, str(r3.json(t), "refresh_token")))
}

// The session revoked at WorkOS (an administrator, or the person signing out everywhere):
// the next refresh is invalid_grant and the family is revoked, so another refresh token of
// the family (the rotated one, still within the reuse grace window) gets nothing either.
func TestRefreshFollowsWorkOSSession_RevokedSessionRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Revoked", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7502/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	family, w2 := s.familyOf(t, r2), s.workosRefreshOf(t, r2)
	metrics := &testenv.Buffer{}
	s.Server.Metrics = obs.NewMetrics(metrics, "token")

	s.emulator(t, http.MethodPost, "/_emulator/sessions/"+s.sessionOf(t, adaUserID)+"/revoke")
	s.wantSessionEnded(t, clientID, r2, family)
	// Issue 11: revocations are counted by cause.
	if !strings.Contains(metrics.String(), `"GrantsRevoked":1`) || !strings.Contains(metrics.String(), `"Cause":"upstream_session"`) {
		t.Errorf("want GrantsRevoked 1 with Cause upstream_session, got %s", metrics.String())
	}
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
	s.noSecretAnywhere(t, w2, r1, r2)
}

// The user deleted at WorkOS ends all their sessions: likewise invalid_grant, family revoked.
func TestRefreshFollowsWorkOSSession_DeletedUserRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Deleted", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7503/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	family := s.familyOf(t, r2)

	s.emulator(t, http.MethodDelete, "/_emulator/users/"+adaUserID)
	s.wantSessionEnded(t, clientID, r2, family)
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r1)), 400, "invalid_grant")
}

// RFC 6749 §5.2 / §4.1.2.1 temporarily_unavailable: WorkOS unreachable is not the session's
// end. The refresh answers 503 with Retry-After and writes nothing (no rotation, no
// revocation), and the same refresh token works once WorkOS is back.
func TestRefreshFollowsWorkOSSession_WorkOSDownIsTemporary(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Outage", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7504/cb", ""), "refresh_token")
	w1 := s.workosRefreshOf(t, r1)

	s.WorkOSDown.Store(true)
	s.noWrites(t, "a refresh while WorkOS is down", func() {
		r := s.postToken(t, refreshForm(clientID, r1))
		wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	})
	s.WorkOSDown.Store(false)
	r := s.postToken(t, refreshForm(clientID, r1))
	if r.Status != http.StatusOK {
		t.Fatalf("the same refresh token once WorkOS is back: %d %s", r.Status, r.Body)
	}
	s.noSecretAnywhere(t, w1, s.workosRefreshOf(t, str(r.json(t), "refresh_token")))
}

// Within the reuse grace window a retry gets the sealed successor without a second WorkOS
// call: it works while WorkOS is down, and the WorkOS token the successor holds stays live.
func TestRefreshFollowsWorkOSSession_GraceRetryDoesNotCallWorkOS(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Retry", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7505/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")

	s.WorkOSDown.Store(true)
	r := s.postToken(t, refreshForm(clientID, r1))
	if r.Status != http.StatusOK || str(r.json(t), "refresh_token") != r2 {
		t.Fatalf("a retry within the grace window while WorkOS is down: %d %s", r.Status, r.Body)
	}
	s.WorkOSDown.Store(false)
	if r := s.postToken(t, refreshForm(clientID, r2)); r.Status != http.StatusOK {
		t.Fatalf("the successor after the retry: %d %s", r.Status, r.Body)
	}
}

// A family issued before WorkOS refresh tokens were kept has none: its refreshes keep
// today's behaviour (no WorkOS call, the session's end is not noticed) and its successors
// carry none either, until the person signs in again.
func TestRefreshFollowsWorkOSSession_FamilyWithoutWorkOSTokenKeepsTodaysBehaviour(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Legacy", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7506/cb", ""), "refresh_token")
	s.dropWorkOSToken(t, r1)

	s.emulator(t, http.MethodPost, "/_emulator/sessions/"+s.sessionOf(t, adaUserID)+"/revoke")
	r := s.postToken(t, refreshForm(clientID, r1))
	if r.Status != http.StatusOK {
		t.Fatalf("refresh of a family without a WorkOS token: %d %s", r.Status, r.Body)
	}
	next, err := s.Store.GetRefreshToken(context.Background(), oauth.HashSecret(str(r.json(t), "refresh_token")))
	if err != nil || len(next.SealedUpstream) != 0 {
		t.Fatalf("the successor of a family without a WorkOS token: %v, sealed %d bytes", err, len(next.SealedUpstream))
	}
}

// The WorkOS call's cost, as a figure for docs/decisions.md (not a pass/fail bound): the
// median of 40 refreshes that call the emulator against 40 of a family without a WorkOS
// token, alternated, everything else equal (DynamoDB Local, local-kms, on this machine).
// For a steady figure run it alone: go test ./shared/authserver -run LatencyFigure -v
func TestRefreshFollowsWorkOSSession_LatencyFigure(t *testing.T) {
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Timer", "http://127.0.0.1/cb")
	with := str(s.tokens(t, clientID, "http://127.0.0.1:7507/cb", ""), "refresh_token")
	without := str(s.tokens(t, clientID, "http://127.0.0.1:7507/cb", ""), "refresh_token")
	s.dropWorkOSToken(t, without)
	refresh := func(token *string, took *[]time.Duration) {
		start := time.Now()
		r := s.postToken(t, refreshForm(clientID, *token))
		*took = append(*took, time.Since(start))
		if r.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		*token = str(r.json(t), "refresh_token")
	}
	var tookWith, tookWithout []time.Duration
	for range 40 {
		refresh(&with, &tookWith)
		refresh(&without, &tookWithout)
	}
	slices.Sort(tookWith)
	slices.Sort(tookWithout)
	mWith, mWithout := tookWith[len(tookWith)/2], tookWithout[len(tookWithout)/2]
	t.Logf("refresh median: %v with the WorkOS call, %v without: %v added", mWith, mWithout, mWith-mWithout)
}

// dropWorkOSToken removes the sealed WorkOS token from refreshToken's item, as on a token
// issued before they were kept.
func (s *stack) dropWorkOSToken(t *testing.T, refreshToken string) {
	t.Helper()
	pk := "REFRESH#" + base64.RawURLEncoding.EncodeToString(oauth.HashSecret(refreshToken))
	_, err := s.DB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: &s.Table, Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
		UpdateExpression: aws.String("REMOVE upstream_refresh"), ConditionExpression: aws.String("attribute_exists(upstream_refresh)"),
	})
	if err != nil {
		t.Fatalf("drop the WorkOS token: %v", err)
	}
}

// A consent asked after sign-in (another person than the remembered one) keeps that
// person's WorkOS token, sealed under the consent request, for the code its approval
// issues: their grant follows their WorkOS session like any other.
func TestRefreshFollowsWorkOSSession_ConsentAfterSignInKeepsTheWorkOSToken(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	const redirectURI = "http://127.0.0.1:4310/cb"
	clientID := s.publicClient(t, "Consent after", "http://127.0.0.1/cb")
	resource := s.Issuer + "/mcp"
	b := newBrowser(t)
	verifier, challenge := pkce()
	s.exchangeCode(t, s.signIn(t, b, authorizeParams(clientID, redirectURI, challenge, "ada", resource, ""), "ada@example.com"), clientID, redirectURI, verifier, resource)

	verifier, challenge = pkce()
	_, page := b.get(s.toCallbackAs(t, b, authorizeParams(clientID, redirectURI, challenge, "grace", resource, ""), "grace@example.com"))
	form := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Set(in[1], in[2])
	}
	status, loc, _ := s.postConsent(t, b, with(form, "decision", "approve"))
	if status != http.StatusSeeOther {
		t.Fatalf("approval after sign-in: %d %s", status, loc)
	}
	tok, claims := s.exchangeCode(t, mustURL(t, loc), clientID, redirectURI, verifier, resource)
	if claims["sub"] != graceUserID {
		t.Fatalf("sub %v, want Grace", claims["sub"])
	}
	r1 := str(tok, "refresh_token")
	s.workosRefreshOf(t, r1)
	s.emulator(t, http.MethodPost, "/_emulator/sessions/"+s.sessionOf(t, graceUserID)+"/revoke")
	s.wantSessionEnded(t, clientID, r1, s.familyOf(t, r1))
}

// wantSessionEnded refreshes token after its WorkOS session ended: invalid_grant naming the
// session, and the family revoked.
func (s *stack) wantSessionEnded(t *testing.T, clientID, token, family string) {
	t.Helper()
	r := s.postToken(t, refreshForm(clientID, token))
	wantOAuthError(t, r, 400, "invalid_grant")
	if !strings.Contains(str(r.json(t), "error_description"), "WorkOS session") {
		t.Fatalf("error_description does not name the ended session: %s", r.Body)
	}
	if revoked, err := s.Store.FamilyRevoked(context.Background(), family); err != nil || !revoked {
		t.Fatalf("family revoked = %v, %v; want revoked", revoked, err)
	}
	if !strings.Contains(s.Logs.String(), `"outcome":"upstream_session_ended"`) {
		t.Fatal("no log line for the ended session")
	}
}

// workosRefreshOf opens the WorkOS refresh token sealed on refreshToken's item.
func (s *stack) workosRefreshOf(t *testing.T, refreshToken string) string {
	t.Helper()
	rt, err := s.Store.GetRefreshToken(context.Background(), oauth.HashSecret(refreshToken))
	if err != nil {
		t.Fatal(err)
	}
	w, ok := authserver.OpenUpstream(refreshToken, rt.FamilyID, rt.SealedUpstream)
	if !ok || w == "" {
		t.Fatal("no WorkOS refresh token sealed on the refresh token")
	}
	return w
}

// workosRefresh presents a WorkOS refresh token to the emulator as workos-go would.
func (s *stack) workosRefresh(t *testing.T, token string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"client_id": workosemu.DefaultClientID, "client_secret": workosemu.DefaultAPIKey,
		"grant_type": "refresh_token", "refresh_token": token})
	resp, err := http.Post(s.WorkOS+"/user_management/authenticate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(readBody(t, resp)), &out)
	return resp.StatusCode, out.Error
}

// emulator calls one of the emulator's control routes (docs/workos-emulator.md).
func (s *stack) emulator(t *testing.T, method, path string) string {
	t.Helper()
	req, _ := http.NewRequest(method, s.WorkOS+path, nil)
	req.Header.Set("Authorization", "Bearer "+workosemu.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("emulator %s %s: %d %s", method, path, resp.StatusCode, body)
	}
	return body
}

// sessionOf is the id of the user's newest WorkOS session.
func (s *stack) sessionOf(t *testing.T, userID string) string {
	t.Helper()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(s.emulator(t, http.MethodGet, "/_emulator/sessions?user_id="+url.QueryEscape(userID))), &list); err != nil || len(list.Data) == 0 {
		t.Fatalf("no session for %s: %v", userID, err)
	}
	return list.Data[0].ID
}

// verifyAccess checks an access token against the key set and returns its claims.
func (s *stack) verifyAccess(t *testing.T, token string) map[string]any {
	t.Helper()
	return verifyWithJWKS(t, s.Issuer, token)
}

// noSecretAnywhere fails if a WorkOS refresh token appears in the clear in the table or
// in the logs.
func (s *stack) noSecretAnywhere(t *testing.T, secrets ...string) {
	t.Helper()
	logs := s.Logs.String()
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Fatal("a WorkOS refresh token is in the logs")
		}
		for _, it := range s.scanItems(t) {
			if avContains(&types.AttributeValueMemberM{Value: it}, secret) {
				t.Fatalf("a WorkOS refresh token is stored in the clear in %s", avString(it["pk"]))
			}
		}
	}
}
