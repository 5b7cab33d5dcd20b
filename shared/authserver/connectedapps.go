package authserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/web"
)

// The connected-apps page: a person signs in through WorkOS (as in the authorization flow,
// through the same callback), sees every application holding a grant of theirs, and revokes
// one or all of them.

// appsCookie carries the page's session: __Host- prefix, Secure, HttpOnly, SameSite=Lax
// (Strict would not be sent on the redirect from the callback, which a cross-site WorkOS
// redirect started). The value is random; only its hash is stored.
const appsCookie = "__Host-authbridge-apps"

// appsSessionTTL bounds a sign-in to the page.
const appsSessionTTL = 15 * time.Minute

// The page's notices, chosen by a word in its query string (never text from the request).
var appsNotices = map[string]string{
	"revoked":     "Access revoked. The application can no longer refresh its tokens.",
	"revoked_all": "Access revoked for every application.",
	"nothing":     "Nothing to revoke: that application no longer holds access.",
}

// connectedAppsHandler serves GET and POST /api/ext/auth/connected-apps.
func (s *Server) connectedAppsHandler() http.Handler {
	return s.endpoint(PathConnectedApps, web.Methods(http.HandlerFunc(s.connectedApps), http.MethodGet, http.MethodPost))
}

func (s *Server) connectedApps(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		s.changeConnectedApps(w, r)
		return
	}
	session, cookie, err := s.appsSession(r)
	if errors.Is(err, store.ErrNotFound) {
		// Not signed in (or the session ended): through WorkOS, bound to this browser.
		browser, fresh := browserID(r)
		if fresh {
			setBrowserCookie(w, browser, s.Config.ConsentTTL)
		}
		s.startUpstream(w, r, store.UpstreamState{BrowserHash: oauth.HashSecret(browser), ForConnectedApps: true}, http.StatusFound)
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	apps, err := s.connectedAppsOf(r, session.User.ID)
	if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	signedInAs := session.User.Email
	if signedInAs == "" {
		signedInAs = session.User.ID
	}
	web.RenderConnectedApps(w, web.ConnectedAppsPage{
		SignedInAs: signedInAs, Apps: apps, Notice: appsNotices[r.URL.Query().Get("notice")],
		FormAction: s.Config.Endpoint(PathConnectedApps), CSRFToken: appsCSRFToken(cookie),
	})
}

// changeConnectedApps answers the page's forms: revoke one app, revoke all, sign out. The
// session cookie and the CSRF token derived from it must match (MCP security best practices:
// CSRF protection), and a cross-origin Origin is refused outright.
func (s *Server) changeConnectedApps(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" && origin != s.issuerOrigin() {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("the form was sent from another site"))
		return
	}
	form, oerr := web.ParseForm(r)
	if oerr != nil {
		s.errorPage(w, r, http.StatusBadRequest, oerr)
		return
	}
	session, cookie, err := s.appsSession(r)
	if errors.Is(err, store.ErrNotFound) {
		web.RenderError(w, http.StatusForbidden, web.ErrorPage{Title: "Your session has ended",
			Message: "Nothing was changed. Open the connected apps page again to sign in.", Code: "access_denied"})
		return
	} else if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(form.Get("csrf_token")), []byte(appsCSRFToken(cookie))) != 1 {
		s.errorPage(w, r, http.StatusForbidden, oauth.ErrAccessDenied("the form did not come from this page"))
		return
	}
	switch action := form.Get("action"); action {
	case "sign_out":
		if err := s.Store.DeleteAppsSession(ctx, oauth.HashSecret(cookie)); err != nil {
			s.unavailablePage(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: appsCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		web.RenderError(w, http.StatusOK, web.ErrorPage{Title: "Signed out", Message: "You are signed out of the connected apps page. You can close this window."})
	case "revoke", "revoke_all":
		clientID := form.Get("client_id")
		if action == "revoke" && (clientID == "" || len(clientID) > 512) {
			s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("no application was chosen"))
			return
		}
		n, err := s.revokeApps(r, session.User.ID, clientID)
		if err != nil {
			s.unavailablePage(w, r, err)
			return
		}
		notice := map[string]string{"revoke": "revoked", "revoke_all": "revoked_all"}[action]
		if n == 0 {
			notice = "nothing"
		}
		s.log().InfoContext(ctx, "person revoked apps", "outcome", "revoked", "families", n)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, s.Config.Endpoint(PathConnectedApps)+"?notice="+notice, http.StatusSeeOther)
	default:
		s.errorPage(w, r, http.StatusBadRequest, oauth.ErrInvalidRequest("unknown action"))
	}
}

// revokeApps revokes the person's live grants of clientID (every client when empty), and
// records for each client that the person revoked it, so that a consent they gave it before
// no longer skips the consent page. It returns the number of grants revoked.
func (s *Server) revokeApps(r *http.Request, userID, clientID string) (int, error) {
	ctx := r.Context()
	families, err := s.liveFamilies(r, userID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	revoked := 0
	var clients []string
	for _, f := range families {
		if clientID != "" && f.ClientID != clientID {
			continue
		}
		if !slices.Contains(clients, f.ClientID) {
			// Recorded before the revocation: a failure after it still leaves the record.
			if err := s.Store.PutAppRevoked(ctx, userID, f.ClientID, now, now.Add(s.Config.ConsentTTL)); err != nil {
				return revoked, err
			}
			clients = append(clients, f.ClientID)
		}
		if err := s.Store.RevokeFamily(ctx, f.ID); err != nil {
			s.Metrics.Add(ctx, obs.GrantsRevoked, revoked, obs.Cause(obs.CausePerson))
			return revoked, err
		}
		revoked++
	}
	s.Metrics.Add(ctx, obs.GrantsRevoked, revoked, obs.Cause(obs.CausePerson))
	return revoked, nil
}

// connectedAppsOf lists the applications holding a live grant of the person, most recently
// used first.
func (s *Server) connectedAppsOf(r *http.Request, userID string) ([]web.ConnectedApp, error) {
	ctx := r.Context()
	families, err := s.liveFamilies(r, userID)
	if err != nil {
		return nil, err
	}
	type app struct {
		web.ConnectedApp
		granted, used time.Time
	}
	byClient := map[string]*app{}
	var order []*app
	for _, f := range families {
		a := byClient[f.ClientID]
		if a == nil {
			a = &app{ConnectedApp: web.ConnectedApp{ClientID: f.ClientID}, granted: f.CreatedAt}
			// One GetItem per app, as stored: never a metadata document fetch, which a hostile
			// client's host could slow until the page that revokes it fails.
			client, err := s.Store.GetClient(ctx, f.ClientID)
			uris := client.RedirectURIs
			switch {
			case store.IsDocumentClientID(f.ClientID) && (err == nil || errors.Is(err, store.ErrNotFound)):
				// A metadata-document client: named by the host of its client_id, the domain
				// that vouched for it, with the redirect URIs a person approved.
				a.Name, a.Identified, uris = documentHost(f.ClientID), true, client.ApprovedRedirectURIs
			case errors.Is(err, store.ErrNotFound):
				a.Deleted = true
			case err == nil:
				a.Name = client.Name
			default:
				return nil, err
			}
			for _, uri := range uris {
				if h := displayHost(uri).ascii; !slices.Contains(a.RedirectHosts, h) {
					a.RedirectHosts = append(a.RedirectHosts, h)
				}
			}
			byClient[f.ClientID] = a
			order = append(order, a)
		}
		if f.CreatedAt.Before(a.granted) {
			a.granted = f.CreatedAt
		}
		if f.LastUsedAt.After(a.used) {
			a.used = f.LastUsedAt
		}
		scopes, _ := oauth.ParseScope(f.Scope)
		for _, sc := range scopes {
			if !slices.Contains(a.Scopes, sc) {
				a.Scopes = append(a.Scopes, sc)
			}
		}
		if f.Resource != "" && !slices.Contains(a.Resources, f.Resource) {
			a.Resources = append(a.Resources, f.Resource)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].used.After(order[j].used) })
	out := make([]web.ConnectedApp, len(order))
	for i, a := range order {
		a.GrantedAt, a.LastUsedAt = pageTime(a.granted), pageTime(a.used)
		out[i] = a.ConnectedApp
	}
	return out, nil
}

// liveFamilies are the person's grants that are neither revoked nor expired. The index is
// read again from the table (store.Families): the owner is checked on the item itself, not
// only on the eventually consistent index.
func (s *Server) liveFamilies(r *http.Request, userID string) ([]store.Family, error) {
	families, err := s.Store.Families(r.Context(), store.GrantFilter{UserID: userID})
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := families[:0]
	for _, f := range families {
		if f.UserID == userID && !f.Revoked && now.Before(f.ExpiresAt) {
			live = append(live, f)
		}
	}
	return live, nil
}

func pageTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// appsSession returns the page's session of this browser and its cookie value;
// store.ErrNotFound without a live one.
func (s *Server) appsSession(r *http.Request) (store.AppsSession, string, error) {
	c, err := r.Cookie(appsCookie)
	if err != nil || len(c.Value) != 47 || c.Value[:4] != "abp_" {
		return store.AppsSession{}, "", store.ErrNotFound
	}
	session, err := s.Store.GetAppsSession(r.Context(), oauth.HashSecret(c.Value))
	return session, c.Value, err
}

// appsCSRFToken is the page's CSRF token: derived from the session cookie, which another
// site can neither read nor set (HttpOnly, __Host-), so a forged form cannot carry it.
func appsCSRFToken(sessionCookie string) string {
	sum := sha256.Sum256([]byte("authbridge connected-apps csrf\x00" + sessionCookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// openConnectedApps finishes a sign-in to the connected-apps page at the callback: a new
// session for the person, then the page.
func (s *Server) openConnectedApps(w http.ResponseWriter, r *http.Request, id upstream.Identity) {
	session := oauth.NewOpaque("abp_")
	err := s.Store.PutAppsSession(r.Context(), oauth.HashSecret(session), store.AppsSession{
		User:      store.User{ID: id.UserID, Email: id.Email, FirstName: id.FirstName, LastName: id.LastName, OrganizationID: id.OrganizationID, SessionID: id.SessionID},
		ExpiresAt: s.now().Add(appsSessionTTL),
	})
	if err != nil {
		s.unavailablePage(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: appsCookie, Value: session, Path: "/", MaxAge: int(appsSessionTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s.log().InfoContext(r.Context(), "connected apps signed in", "outcome", "apps_session")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.Config.Endpoint(PathConnectedApps), http.StatusSeeOther)
}

// issuerOrigin is the issuer's origin (scheme://host[:port]), what a browser sends as
// Origin with the page's own forms.
func (s *Server) issuerOrigin() string {
	u, err := url.Parse(s.Config.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
