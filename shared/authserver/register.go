package authserver

import (
	"net/http"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/web"
)

// registrationResponse is RFC 7591 §3.2.1's client information response.
type registrationResponse struct {
	ClientID              string `json:"client_id"`
	ClientIDIssuedAt      int64  `json:"client_id_issued_at"`
	ClientSecret          string `json:"client_secret,omitempty"`
	ClientSecretExpiresAt *int64 `json:"client_secret_expires_at,omitempty"`
	oauth.ClientMetadata
}

// registerHandler serves POST /api/ext/auth/register: RFC 7591 dynamic client registration.
func (s *Server) registerHandler() http.Handler {
	return s.endpoint(PathRegister, web.CORS(web.Methods(http.HandlerFunc(s.register), http.MethodPost)))
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.Config.RegistrationOff { // DYNAMIC_REGISTRATION=off: the metadata names no endpoint
		s.log().InfoContext(ctx, "registration refused", "outcome", "not_found", "reason", "registration_off")
		web.JSON(w, http.StatusNotFound, map[string]string{"error": "not_found",
			"error_description": "dynamic client registration is off on this server: use a Client ID Metadata Document URL as client_id"})
		return
	}
	// RFC 7591 §3.1: the client metadata is sent as a JSON document.
	if !web.HasMediaType(r, "application/json") {
		s.registrationRefused(w, r, oauth.ErrInvalidClientMetadata("content type must be application/json"))
		return
	}
	body, oerr := web.ReadBody(r, oauth.MaxRegistrationBody)
	if oerr != nil {
		s.registrationRefused(w, r, oauth.ErrInvalidClientMetadata("%s", oerr.Description))
		return
	}
	meta, oerr := oauth.ParseClientMetadata(body, s.Config.Scopes)
	if oerr != nil {
		s.registrationRefused(w, r, oerr)
		return
	}

	now := s.now()
	client := store.Client{
		ID:                      oauth.NewOpaque(oauth.PrefixClientID),
		Name:                    meta.ClientName,
		RedirectURIs:            meta.RedirectURIs,
		GrantTypes:              meta.GrantTypes,
		ResponseTypes:           meta.ResponseTypes,
		TokenEndpointAuthMethod: meta.TokenEndpointAuthMethod,
		Scope:                   meta.Scope,
		ClientURI:               meta.ClientURI,
		LogoURI:                 meta.LogoURI,
		IssuedAt:                now,
		ExpiresAt:               now.Add(s.Config.UnusedClientTTL), // cleared on first token
	}
	obs.SetClientID(ctx, client.ID)
	resp := registrationResponse{ClientID: client.ID, ClientIDIssuedAt: now.Unix(), ClientMetadata: meta}
	if meta.Confidential() {
		// RFC 7591 §3.2.1: the secret is returned once; only its hash is kept.
		secret := oauth.NewOpaque(oauth.PrefixClientSecret)
		client.SecretHash = oauth.HashSecret(secret)
		never := int64(0)
		resp.ClientSecret, resp.ClientSecretExpiresAt = secret, &never
	}
	if err := s.Store.PutClient(ctx, client); err != nil {
		s.log().ErrorContext(ctx, "client could not be stored", "outcome", "temporarily_unavailable", "error", err.Error())
		web.OAuthError(w, oauth.ErrTemporarilyUnavailable("registration could not be saved, try again"))
		return
	}
	// client_name (at most 200 characters, control characters removed) tells operators which
	// clients still register (README: moving off dynamic registration).
	s.log().InfoContext(ctx, "client registered", "outcome", "registered", "auth_method", client.TokenEndpointAuthMethod, "client_name", client.Name)
	s.Metrics.Count(ctx, obs.Registrations)
	web.NoStore(w)
	web.JSON(w, http.StatusCreated, resp)
}

func (s *Server) registrationRefused(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	s.log().InfoContext(r.Context(), "registration refused", "outcome", e.Code, "reason", e.Description)
	web.OAuthError(w, e)
}
