package doctor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
)

// registration checks that the client can get a client_id: the registration endpoint
// answers, and the client's registration fits what the metadata advertises and
// Authbridge's registration rules. Nothing is sent unless Options.Register names it.
func (d *doctor) registration(ctx context.Context, c Client, meta *asMetadata, cimd bool, p prm) {
	regURL := meta.s("registration_endpoint")
	if regURL == "" {
		if cimd {
			d.add(c, "registration", Info, "no registration_endpoint: the client uses its metadata document", "")
			return
		}
		d.add(c, "registration", Fail, "no registration_endpoint in the metadata, and this client has no client ID metadata document to use instead",
			"advertise registration_endpoint and serve RFC 7591 dynamic registration")
		return
	}
	// RFC 7591 §3.2.2: an empty registration is refused with 400 and an error; nothing is stored.
	a := d.fetch(ctx, request{method: http.MethodPost, url: regURL, body: "{}", header: []string{"Content-Type", "application/json"}})
	if m := a.jsonObject(); a.Status != http.StatusBadRequest || str(m, "error") == "" {
		d.add(c, "registration", Fail, fmt.Sprintf("%s answered %s to an empty registration, not 400 with an RFC 7591 error", regURL, a),
			"route POST "+regURL+" to the registration endpoint, without authentication")
		return
	}
	d.add(c, "registration", Pass, regURL+" answers (400 "+str(a.jsonObject(), "error")+" to an empty registration; nothing written)", "")

	if probs := shapeProblems(c.Registration, meta); len(probs) > 0 {
		d.add(c, "registration shape", Fail, strings.Join(probs, "; "),
			"accept what the client sends: advertise and support its grant types, response types and token_endpoint_auth_method, and its redirect URIs (RFC 8252)")
	} else {
		d.add(c, "registration shape", Pass, fmt.Sprintf("%s, %s, %d redirect URI(s): fit the metadata and Authbridge's rules (checked, not sent)",
			c.Registration.TokenEndpointAuthMethod, strings.Join(c.Registration.GrantTypes, "+"), len(c.Registration.RedirectURIs)), "")
	}
	if d.o.Register && c.Key == d.o.RegisterAs {
		d.liveRegistration(ctx, c, meta, p, regURL)
	}
}

// shapeProblems compares a registration with the metadata (RFC 8414 §2 defaults when a
// member is absent) and with Authbridge's own registration rules (shared/oauth).
func shapeProblems(r Registration, meta *asMetadata) []string {
	var probs []string
	authMethods := meta.l("token_endpoint_auth_methods_supported")
	if !meta.has("token_endpoint_auth_methods_supported") {
		authMethods = []string{"client_secret_basic"}
	}
	if !slices.Contains(authMethods, r.TokenEndpointAuthMethod) {
		probs = append(probs, fmt.Sprintf("token_endpoint_auth_method %s is not in %v", r.TokenEndpointAuthMethod, authMethods))
	}
	grants := meta.l("grant_types_supported")
	if !meta.has("grant_types_supported") {
		grants = []string{"authorization_code", "implicit"}
	}
	for _, g := range r.GrantTypes {
		if !slices.Contains(grants, g) {
			probs = append(probs, fmt.Sprintf("grant type %s is not in grant_types_supported %v", g, grants))
		}
	}
	for _, rt := range r.ResponseTypes {
		if !slices.Contains(meta.l("response_types_supported"), rt) {
			probs = append(probs, fmt.Sprintf("response type %s is not in response_types_supported", rt))
		}
	}
	body, _ := json.Marshal(r)
	if _, err := oauth.ParseClientMetadata(body, oauth.Scope(meta.l("scopes_supported"))); err != nil {
		probs = append(probs, "Authbridge's registration rules refuse it: "+err.Description)
	}
	return probs
}

// liveRegistration registers the client once and sends one authorization request with PKCE
// S256 and resource, then one without PKCE, which must be refused. Both leave items that
// expire (the unused registration, the consent request); none can be deleted.
func (d *doctor) liveRegistration(ctx context.Context, c Client, meta *asMetadata, p prm, regURL string) {
	body, _ := json.Marshal(c.Registration)
	a := d.fetch(ctx, request{method: http.MethodPost, url: regURL, body: string(body), header: []string{"Content-Type", "application/json"}})
	m := a.jsonObject()
	id := str(m, "client_id")
	if a.Status != http.StatusCreated || id == "" {
		d.registered[c.Key] = "refused: " + a.String()
		d.add(c, "registration (sent)", Fail, fmt.Sprintf("the registration was refused: %s %s", a, str(m, "error_description")),
			"accept the client's registration (RFC 7591 §3.2.1)")
		return
	}
	d.registered[c.Key] = id
	d.add(c, "registration (sent)", Pass, "registered as "+id+"; left unused, it expires (Authbridge: UNUSED_CLIENT_TTL, 24 h by default)", "")

	authz := meta.s("authorization_endpoint")
	redirect := c.Registration.RedirectURIs[0]
	verifier := randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect}, "state": {"doctor"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {p.Resource}}
	ok, why := authorizeAccepted(d.get(ctx, authz+"?"+q.Encode()), redirect)
	if !ok {
		d.add(c, "authorize (sent)", Fail, "the authorization request with PKCE S256 and resource="+p.Resource+" was refused: "+why,
			"accept the RFC 8707 resource the resource metadata names, and S256 code challenges")
	} else {
		d.add(c, "authorize (sent)", Pass, "PKCE S256 and resource accepted ("+why+"; the pending request it left expires unused)", "")
	}
	// OAuth 2.1 §4.1.1: without code_challenge the request must be refused.
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	if ok, why := authorizeAccepted(d.get(ctx, authz+"?"+q.Encode()), redirect); ok {
		d.add(c, "PKCE enforced", Warn, "an authorization request without code_challenge was accepted ("+why+")",
			"refuse authorization requests without code_challenge (OAuth 2.1 §4.1.1)")
	} else {
		d.add(c, "PKCE enforced", Pass, "a request without code_challenge is refused ("+why+")", "")
	}
}

// authorizeAccepted: the consent page or a redirect onwards to sign-in is acceptance; an
// error (a page, or a redirect back to the client with error=) is refusal.
func authorizeAccepted(a answer, redirect string) (bool, string) {
	if a.Err != nil {
		return false, a.String()
	}
	if loc := a.Header.Get("Location"); a.Status >= 300 && a.Status < 400 {
		if strings.HasPrefix(loc, redirect) {
			if u, err := url.Parse(loc); err == nil && u.Query().Get("error") != "" {
				return false, fmt.Sprintf("%d to the client with error=%s", a.Status, u.Query().Get("error"))
			}
		}
		return true, fmt.Sprintf("%d to sign-in", a.Status)
	}
	if a.Status == http.StatusOK {
		return true, "200, the consent page"
	}
	return false, a.String()
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// legacy checks the MCP 2025-03-26 default endpoints at the MCP URL's origin root. With
// metadata, only for clients seen using them anyway; without, for clients that fall back.
func (d *doctor) legacy(ctx context.Context, c Client, metadataFound bool) {
	if !c.LegacyFallback {
		return
	}
	o := d.origin()
	answers := []answer{
		d.get(ctx, o+"/authorize"),
		d.fetch(ctx, request{method: http.MethodPost, url: o + "/token", header: []string{"Content-Type", "application/x-www-form-urlencoded"}}),
		d.fetch(ctx, request{method: http.MethodPost, url: o + "/register", body: "{}", header: []string{"Content-Type", "application/json"}}),
	}
	var missing []string
	for _, a := range answers {
		// An OAuth endpoint refuses these empty requests with 400 (or 401); API Gateway
		// answers 403 outside the stage or for an unrouted path.
		if a.Err != nil || (a.Status != http.StatusBadRequest && a.Status != http.StatusUnauthorized) {
			missing = append(missing, strings.TrimPrefix(a.URL, o)+" → "+a.String())
		}
	}
	step := "2025-03-26 paths"
	switch {
	case len(missing) == 0 && metadataFound:
		d.add(c, step, Pass, "/authorize, /token and /register answer at "+o, "")
	case len(missing) == 0:
		d.add(c, step, Warn, "no metadata; the client falls back to /authorize, /token, /register at "+o+", which answer",
			"serve authorization server metadata; the fallback is deprecated since MCP 2025-06-18")
	case metadataFound:
		d.add(c, step, Warn, "this client has been seen calling the 2025-03-26 paths directly; they do not answer: "+strings.Join(missing, "; "),
			"serve the API at the root of its host (a custom domain), where /authorize, /token and /register answer")
	default:
		d.add(c, step, Fail, "no metadata and the 2025-03-26 fallback paths do not answer: "+strings.Join(missing, "; "),
			"serve authorization server metadata")
	}
}

// mcpRequestHeaders are what a browser-based client sends to the MCP URL (Streamable HTTP;
// Mcp-Method and Mcp-Name: MCP 2026-07-28's mirrored headers).
const mcpRequestHeaders = "authorization, content-type, mcp-protocol-version, mcp-method, mcp-name"

// cors checks what a client in a browser page at c.BrowserOrigin needs (Fetch standard,
// CORS protocol): the MCP URL's preflight and challenge, and every OAuth endpoint it calls.
func (d *doctor) cors(ctx context.Context, c Client, p prm, meta *asMetadata) {
	sev, fix := Fail, "answer CORS from "+c.BrowserOrigin+": preflights with Access-Control-Allow-Origin, -Methods and -Headers, and every answer with Access-Control-Allow-Origin"
	if !c.BrowserRequired {
		sev = Warn
		fix = "only if the client's page at " + c.BrowserOrigin + " calls the deployment itself, " + fix
	}
	origin := c.BrowserOrigin
	var probs []string
	pre := d.preflight(ctx, d.mcp.String(), origin, http.MethodPost, mcpRequestHeaders)
	probs = append(probs, preflightProblems(pre, origin, http.MethodPost, mcpRequestHeaders)...)
	ch := d.challenge(ctx, origin)
	switch {
	case ch.Err != nil || ch.Status != http.StatusUnauthorized:
		probs = append(probs, "an unauthenticated POST from "+origin+" got "+ch.String()+", not the 401 challenge")
	case !allowsOrigin(ch.Header, origin):
		probs = append(probs, "the 401 has no Access-Control-Allow-Origin for "+origin+": the page cannot read the challenge")
	case !slices.Contains(headerList(ch.Header, "Access-Control-Expose-Headers"), "www-authenticate") &&
		!slices.Contains(headerList(ch.Header, "Access-Control-Expose-Headers"), "*"):
		probs = append(probs, "the 401 does not expose WWW-Authenticate (Access-Control-Expose-Headers)")
	}
	d.corsRow(c, "CORS /mcp", probs, sev, fix+" (Authbridge: the origin in ALLOWED_ORIGINS)", "preflight from "+origin+" allows "+mcpRequestHeaders+"; the 401 exposes WWW-Authenticate")

	probs = nil
	for _, u := range []string{p.URL, meta.URL} {
		pre := d.preflight(ctx, u, origin, http.MethodGet, "mcp-protocol-version")
		probs = append(probs, preflightProblems(pre, origin, http.MethodGet, "mcp-protocol-version")...)
		if a := d.get(ctx, u, "Origin", origin); !allowsOrigin(a.Header, origin) {
			probs = append(probs, "GET "+u+" has no Access-Control-Allow-Origin for "+origin)
		}
	}
	if reg := meta.s("registration_endpoint"); reg != "" {
		pre := d.preflight(ctx, reg, origin, http.MethodPost, "content-type")
		probs = append(probs, preflightProblems(pre, origin, http.MethodPost, "content-type")...)
	}
	if tok := meta.s("token_endpoint"); tok != "" {
		// A form POST needs no preflight, but its answer (an error here: empty form) must be readable.
		a := d.fetch(ctx, request{method: http.MethodPost, url: tok, header: []string{"Content-Type", "application/x-www-form-urlencoded", "Origin", origin}})
		if !allowsOrigin(a.Header, origin) {
			probs = append(probs, "POST "+tok+" has no Access-Control-Allow-Origin for "+origin)
		}
	}
	d.corsRow(c, "CORS OAuth endpoints", probs, sev, fix+" (Authbridge: web.CORS on the endpoint)", "metadata, registration and token answer "+origin)
}

func (d *doctor) corsRow(c Client, step string, probs []string, sev Status, fix, ok string) {
	if len(probs) == 0 {
		d.add(c, step, Pass, ok, "")
		return
	}
	d.add(c, step, sev, strings.Join(probs, "; "), fix)
}

func (d *doctor) preflight(ctx context.Context, u, origin, method, headers string) answer {
	return d.fetch(ctx, request{method: http.MethodOptions, url: u, header: []string{"Origin", origin,
		"Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers}})
}

func allowsOrigin(h http.Header, origin string) bool {
	v := h.Get("Access-Control-Allow-Origin")
	return v == "*" || v == origin
}

// preflightProblems applies the Fetch standard's CORS-preflight check: an ok status, the
// origin allowed, the method allowed unless safelisted, each header listed ("*" does not
// cover Authorization).
func preflightProblems(a answer, origin, method, headers string) []string {
	where := "preflight OPTIONS " + a.URL
	if a.Err != nil || a.Status < 200 || a.Status > 299 {
		return []string{where + " → " + a.String()}
	}
	if !allowsOrigin(a.Header, origin) {
		return []string{where + ": no Access-Control-Allow-Origin for " + origin}
	}
	var probs []string
	methods := headerList(a.Header, "Access-Control-Allow-Methods")
	if method != http.MethodGet && method != http.MethodPost && method != http.MethodHead &&
		!slices.Contains(methods, strings.ToLower(method)) && !slices.Contains(methods, "*") {
		probs = append(probs, where+": "+method+" not in Access-Control-Allow-Methods")
	}
	allowed := headerList(a.Header, "Access-Control-Allow-Headers")
	var missing []string
	for _, h := range strings.Split(headers, ",") {
		h = strings.TrimSpace(h)
		if !slices.Contains(allowed, h) && !(slices.Contains(allowed, "*") && h != "authorization") {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		probs = append(probs, where+": Access-Control-Allow-Headers lacks "+strings.Join(missing, ", "))
	}
	return probs
}
