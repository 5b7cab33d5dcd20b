package authserver_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/authserver"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/testenv"
)

func (s *stack) revoke(t *testing.T, form url.Values, basic ...string) reply {
	t.Helper()
	return s.postFormRaw(t, authserver.PathRevoke, form, basic...)
}

// RFC 7009 §2.2: an unknown, malformed or already revoked token is answered 200, with
// nothing written.
func TestRFC7009_2_2_UnknownTokenIs200(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Revoker", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:7300/cb", "")
	for name, token := range map[string]string{
		"unknown refresh token":  oauth.NewOpaque(oauth.PrefixRefreshToken),
		"opaque garbage":         "garbage",
		"code":                   oauth.NewOpaque(oauth.PrefixCode),
		"hint says access_token": oauth.NewOpaque(oauth.PrefixRefreshToken),
	} {
		s.noWrites(t, name, func() {
			form := url.Values{"token": {token}, "client_id": {clientID}}
			if name == "hint says access_token" {
				form.Set("token_type_hint", "access_token")
			}
			r := s.revoke(t, form)
			if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
		})
	}
	// The refresh token is untouched by all that.
	if r := s.postToken(t, refreshForm(clientID, str(tok, "refresh_token"))); r.Status != http.StatusOK {
		t.Fatalf("refresh after unrelated revocations: %d %s", r.Status, r.Body)
	}
}

// RFC 7009 §2.1: revoking a refresh token ends its grant; every token of the family
// (rotated ones and the newest) is refused afterwards. The hint is only a hint.
func TestRFC7009_2_1_RevokeRefreshTokenRevokesFamily(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Family", "http://127.0.0.1/cb")
	r1 := str(s.tokens(t, clientID, "http://127.0.0.1:7301/cb", ""), "refresh_token")
	r2 := str(s.postToken(t, refreshForm(clientID, r1)).json(t), "refresh_token")
	r3 := str(s.postToken(t, refreshForm(clientID, r2)).json(t), "refresh_token")
	other := str(s.tokens(t, clientID, "http://127.0.0.1:7302/cb", ""), "refresh_token") // another sign-in

	family := s.familyOf(t, r2)
	metrics := &testenv.Buffer{}
	s.Server.Metrics = obs.NewMetrics(metrics, "revoke")
	// Revoke an older (rotated) token of the family, with a misleading hint.
	r := s.revoke(t, url.Values{"token": {r2}, "token_type_hint": {"access_token"}, "client_id": {clientID}})
	if r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(metrics.String(), `"GrantsRevoked":1`) || !strings.Contains(metrics.String(), `"Cause":"client"`) {
		t.Errorf("want GrantsRevoked 1 with Cause client, got %s", metrics.String())
	}
	if revoked, _ := s.Store.FamilyRevoked(context.Background(), family); !revoked {
		t.Fatal("family not revoked")
	}
	wantOAuthError(t, s.postToken(t, refreshForm(clientID, r3)), 400, "invalid_grant")
	// Revocation is idempotent.
	if r := s.revoke(t, url.Values{"token": {r3}, "client_id": {clientID}}); r.Status != http.StatusOK {
		t.Fatalf("second revoke: %d", r.Status)
	}
	// Another grant of the same client is not affected.
	if r := s.postToken(t, refreshForm(clientID, other)); r.Status != http.StatusOK {
		t.Fatalf("other family after revocation: %d %s", r.Status, r.Body)
	}
}

// RFC 7009 §2.1: a confidential client authenticates at the revocation endpoint as at the
// token endpoint; without (or with a wrong) secret it is 401 and nothing is revoked.
func TestRFC7009_2_1_ConfidentialClientMustAuthenticate(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	id, secret := s.confidentialClient(t, "client_secret_post", "https://app.example/cb")
	g := s.authorizeCode(t, id, "https://app.example/cb", "")
	tok := s.postToken(t, with(g.form(), "client_secret", secret))
	if tok.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", tok.Status, tok.Body)
	}
	refresh := str(tok.json(t), "refresh_token")
	for name, r := range map[string]func() reply{
		"no secret": func() reply { return s.revoke(t, url.Values{"token": {refresh}, "client_id": {id}}) },
		"wrong secret": func() reply {
			return s.revoke(t, url.Values{"token": {refresh}, "client_id": {id}, "client_secret": {"abcs_wrong"}})
		},
		"basic method": func() reply { return s.revoke(t, url.Values{"token": {refresh}}, id, secret) },
		"no client":    func() reply { return s.revoke(t, url.Values{"token": {refresh}}) },
	} {
		s.noWrites(t, name, func() { wantOAuthError(t, r(), 401, "invalid_client") })
	}
	s.noWrites(t, "missing token", func() {
		wantOAuthError(t, s.revoke(t, url.Values{"client_id": {id}, "client_secret": {secret}}), 400, "invalid_request")
	})
	r := s.revoke(t, url.Values{"token": {refresh}, "client_id": {id}, "client_secret": {secret}})
	if r.Status != http.StatusOK {
		t.Fatalf("authenticated revoke: %d %s", r.Status, r.Body)
	}
	wantOAuthError(t, s.postToken(t, with(refreshForm(id, refresh), "client_secret", secret)), 400, "invalid_grant")
}

// RFC 7009 §2.1: a token issued to another client is refused and stays valid.
func TestRFC7009_2_1_TokenOfAnotherClient(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	owner := s.publicClient(t, "Owner", "http://127.0.0.1/cb")
	thief := s.publicClient(t, "Thief", "http://127.0.0.1/cb")
	refresh := str(s.tokens(t, owner, "http://127.0.0.1:7303/cb", ""), "refresh_token")
	s.noWrites(t, "other client's token", func() {
		r := s.revoke(t, url.Values{"token": {refresh}, "client_id": {thief}})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("revoking another client's token: %d %s", r.Status, r.Body)
		}
		code := str(r.json(t), "error")
		if code != "unauthorized_client" && code != "invalid_grant" {
			t.Fatalf("error %q", code)
		}
		wantOAuthError(t, r, 400, code)
	})
	if r := s.postToken(t, refreshForm(owner, refresh)); r.Status != http.StatusOK {
		t.Fatalf("owner's token after another client's revoke: %d %s", r.Status, r.Body)
	}
}

// RFC 7009 §2.1: the request is a POST with a form body.
func TestRFC7009_2_1_RevokeRequestFormat(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "Format", "http://127.0.0.1/cb")
	refresh := str(s.tokens(t, clientID, "http://127.0.0.1:7304/cb", ""), "refresh_token")
	s.noWrites(t, "format", func() {
		wantOAuthError(t, do(t, http.MethodPost, s.Issuer+authserver.PathRevoke, "application/json", `{"token":"`+refresh+`"}`), 400, "invalid_request")
		wantOAuthError(t, do(t, http.MethodPost, s.Issuer+authserver.PathRevoke, formType, "token="+refresh+"&token=x&client_id="+clientID), 400, "invalid_request")
		if r := do(t, http.MethodGet, s.Issuer+authserver.PathRevoke+"?token="+refresh+"&client_id="+clientID, "", ""); r.Status != http.StatusMethodNotAllowed {
			t.Fatalf("GET revoke: %d", r.Status)
		}
	})
}

// RFC 7009 §2.2.1: access tokens (RFC 9068 JWTs, checked without a lookup) cannot be
// revoked, and the endpoint says so with unsupported_token_type instead of a 200 that does
// nothing. A JWT is recognised by its shape whatever the hint; an opaque token by the hint
// access_token. Nothing is written, and the grant stays usable.
func TestRFC7009_2_2_1_AccessTokenIsUnsupportedTokenType(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	clientID := s.publicClient(t, "AccessRevoker", "http://127.0.0.1/cb")
	tok := s.tokens(t, clientID, "http://127.0.0.1:7305/cb", "")
	access := str(tok, "access_token")
	for name, form := range map[string]url.Values{
		"access token":                     {"token": {access}, "client_id": {clientID}},
		"access token, hint access_token":  {"token": {access}, "token_type_hint": {"access_token"}, "client_id": {clientID}},
		"access token, hint refresh_token": {"token": {access}, "token_type_hint": {"refresh_token"}, "client_id": {clientID}},
		"unknown JWT":                      {"token": {"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}, "client_id": {clientID}},
		"opaque token, hint access_token":  {"token": {"garbage"}, "token_type_hint": {"access_token"}, "client_id": {clientID}},
	} {
		s.noWrites(t, name, func() { wantOAuthError(t, s.revoke(t, form), 400, "unsupported_token_type") })
	}
	// The client still authenticates first (RFC 7009 §2.1).
	s.noWrites(t, "unknown client", func() {
		wantOAuthError(t, s.revoke(t, url.Values{"token": {access}, "client_id": {"abc_unknown"}}), 401, "invalid_client")
	})
	if r := s.postToken(t, refreshForm(clientID, str(tok, "refresh_token"))); r.Status != http.StatusOK {
		t.Fatalf("refresh after refused access-token revocations: %d %s", r.Status, r.Body)
	}
}
