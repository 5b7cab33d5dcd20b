package authserver

import (
	"errors"
	"net/http"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/web"
)

// revokeHandler serves POST /api/ext/auth/revoke (RFC 7009).
func (s *Server) revokeHandler() http.Handler {
	return s.endpoint(PathRevoke, web.CORS(web.Methods(http.HandlerFunc(s.revoke), http.MethodPost)))
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, oerr := web.ParseForm(r)
	if oerr != nil {
		s.tokenError(w, r, "", oerr)
		return
	}
	// RFC 7009 §2.1: the client authenticates as it does at the token endpoint; a refresh
	// token is read with the client (one BatchGetItem).
	var refreshHash []byte
	if token := form.Get("token"); wellFormed(token, oauth.PrefixRefreshToken) {
		refreshHash = oauth.HashSecret(token)
	}
	client, read, oerr := s.authenticateClientWith(ctx, r, form, nil, refreshHash)
	if oerr != nil {
		s.tokenError(w, r, claimedClientID(r, form), oerr)
		return
	}
	obs.SetClientID(ctx, client.ID)
	token := form.Get("token")
	if token == "" {
		s.tokenError(w, r, client.ID, oauth.ErrInvalidRequest("token is required"))
		return
	}
	refreshToken := strings.HasPrefix(token, oauth.PrefixRefreshToken)
	// RFC 7009 §2.2.1 unsupported_token_type: access tokens are short-lived JWTs (RFC 9068)
	// checked without a lookup, so they cannot be recalled; saying so beats a 200 that
	// revokes nothing. An access token is recognised by its JWT shape, or by the hint when
	// the token is not a refresh token (refresh tokens go by their prefix whatever the hint
	// says, RFC 7009 §2.1). Revoking the refresh token ends the grant.
	if !refreshToken && (looksLikeJWT(token) || form.Get("token_type_hint") == "access_token") {
		s.tokenError(w, r, client.ID, oauth.ErrUnsupportedTokenType("access tokens cannot be revoked; revoke the refresh token to end the grant"))
		return
	}
	if refreshToken && read.RefreshRead {
		rt, err := read.Refresh, read.RefreshErr
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			s.tokenError(w, r, client.ID, s.unavailable(ctx, err))
			return
		case rt.ClientID != client.ID:
			// RFC 7009 §2.1: a token issued to another client is refused.
			s.tokenError(w, r, client.ID, oauth.ErrUnauthorizedClient("token was issued to another client"))
			return
		default:
			if err := s.Store.RevokeFamily(ctx, rt.FamilyID); err != nil {
				s.tokenError(w, r, client.ID, s.unavailable(ctx, err))
				return
			}
			s.log().InfoContext(ctx, "refresh token revoked", "outcome", "revoked")
			s.Metrics.Count(ctx, obs.GrantsRevoked, obs.Cause(obs.CauseClient))
		}
	}
	// RFC 7009 §2.2: 200 whether or not the token was known.
	web.NoStore(w)
	w.WriteHeader(http.StatusOK)
}

// looksLikeJWT reports whether token has the JWS compact serialization's shape (RFC 7515
// §7.1): three base64url parts, the first two non-empty.
func looksLikeJWT(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return false
	}
	for _, p := range parts {
		for _, c := range p {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
