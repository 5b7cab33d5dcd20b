// Package doctor checks a deployment the way each MCP client discovers, registers with and
// calls it (Clients), and prints one row per client and step, the fix of each failure, and
// a handoff summary for a security reviewer. It only reads, with one exception on request:
// Options.Register sends one registration (Authbridge cannot delete one, RFC 7592 is not
// implemented) and one authorization request. infra/cmd/doctor is the command.
package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Status is a row's result. FAIL rows make the run fail.
type Status string

const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Warn Status = "WARN" // works, with a risk or for part of the client's uses only
	Info Status = "INFO"
	Skip Status = "SKIP" // not reached: an earlier step failed
)

// Row is one client and step.
type Row struct {
	Client string // Client.Key
	Step   string
	Status Status
	// Detail is what doctor saw; for FAIL and WARN, the reason.
	Detail string
	// Fix is what to change, for FAIL and WARN.
	Fix string
}

// Options configure a run.
type Options struct {
	// MCPURL is the MCP endpoint as clients are given it.
	MCPURL string
	// HTTP sends the requests; redirects are never followed. nil: a client with a 15 s timeout.
	HTTP *http.Client
	// Out receives the table and the summary; nil: nothing is printed.
	Out io.Writer
	// Register sends RegisterAs's registration (left unused: it expires) and an
	// authorization request with PKCE and resource for it. Off: nothing is written.
	Register   bool
	RegisterAs string // a Client.Key; default "cursor"
}

// Report is a run's result.
type Report struct {
	MCPURL  string
	Rows    []Row
	Summary []string // the handoff summary, one line each
}

// Failed reports whether any client would fail.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Rows, func(row Row) bool { return row.Status == Fail })
}

type doctor struct {
	o     Options
	http  *http.Client
	mcp   *url.URL
	cache map[string]answer
	rows  []Row
	// the registration sent with -register: its client, client_id, or the reason it failed
	registered map[string]string
}

// Run checks the deployment behind o.MCPURL. The error is for an unusable URL only; a
// deployment that fails is a Report with FAIL rows.
func Run(ctx context.Context, o Options) (*Report, error) {
	u, err := url.Parse(o.MCPURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("doctor: %q is not an http(s) URL without query or fragment", o.MCPURL)
	}
	if o.RegisterAs == "" {
		o.RegisterAs = "cursor"
	}
	if _, ok := ClientByKey(o.RegisterAs); !ok {
		return nil, fmt.Errorf("doctor: -register-as %q is not one of the clients", o.RegisterAs)
	}
	hc := &http.Client{Timeout: 15 * time.Second}
	if o.HTTP != nil {
		c := *o.HTTP
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d := &doctor{o: o, http: hc, mcp: u, cache: map[string]answer{}, registered: map[string]string{}}
	for _, c := range Clients {
		d.checkClient(ctx, c)
	}
	rep := &Report{MCPURL: o.MCPURL, Rows: d.rows, Summary: d.summary(ctx)}
	if o.Out != nil {
		rep.Print(o.Out)
	}
	return rep, nil
}

// ---- what every client sees first ----

const protocolVersion = "2025-11-25"

var initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + protocolVersion +
	`","capabilities":{},"clientInfo":{"name":"authbridge-doctor","version":"1"}}}`

// challenge is the unauthenticated initialize request every client sends first.
func (d *doctor) challenge(ctx context.Context, origin string) answer {
	h := []string{"Content-Type", "application/json", "Accept", "application/json, text/event-stream"}
	if origin != "" {
		h = append(h, "Origin", origin)
	}
	return d.fetch(ctx, request{method: http.MethodPost, url: d.mcp.String(), body: initializeBody, header: h})
}

// prmFallbacks are the RFC 9728 §3.1 well-known URLs of the MCP URL: path-inserted, then root.
func (d *doctor) prmFallbacks() []string {
	origin := d.origin()
	path := strings.TrimSuffix(d.mcp.EscapedPath(), "/")
	out := []string{}
	if path != "" {
		out = append(out, origin+"/.well-known/oauth-protected-resource"+path)
	}
	return append(out, origin+"/.well-known/oauth-protected-resource")
}

func (d *doctor) origin() string { return d.mcp.Scheme + "://" + d.mcp.Host }

// prm is protected resource metadata as read.
type prm struct {
	URL                  string
	Resource             string
	AuthorizationServers []string
	Scopes               []string
	BearerMethods        []string
}

func readPRM(a answer) (prm, string) {
	if a.Err != nil || a.Status != http.StatusOK {
		return prm{}, a.String()
	}
	m := a.jsonObject()
	if m == nil {
		return prm{}, "200, but not a JSON object"
	}
	p := prm{URL: a.URL, Resource: str(m, "resource"), AuthorizationServers: strs(m, "authorization_servers"),
		Scopes: strs(m, "scopes_supported"), BearerMethods: strs(m, "bearer_methods_supported")}
	if p.Resource == "" {
		return prm{}, "200, but no \"resource\""
	}
	return p, ""
}

// asMetadata is an authorization server metadata document as read.
type asMetadata struct {
	URL  string
	Kind WellKnown
	Doc  map[string]any
}

func (m asMetadata) s(k string) string   { return str(m.Doc, k) }
func (m asMetadata) l(k string) []string { return strs(m.Doc, k) }
func (m asMetadata) has(k string) bool   { _, ok := m.Doc[k]; return ok }
func (m asMetadata) oidc() bool          { return m.Kind == OIDCInserted || m.Kind == OIDCAppended }
func (m asMetadata) flag(k string) bool  { b, _ := m.Doc[k].(bool); return b }

// metadataURL derives the authorization server metadata URL of kind w from issuer.
func metadataURL(issuer string, w WellKnown) (string, bool) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return "", false
	}
	origin := u.Scheme + "://" + u.Host
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	switch w {
	case OAuthInserted:
		return origin + "/.well-known/oauth-authorization-server" + path, true
	case OIDCInserted:
		return origin + "/.well-known/openid-configuration" + path, true
	case OIDCAppended:
		return origin + path + "/.well-known/openid-configuration", true
	case OAuthRoot:
		return origin + "/.well-known/oauth-authorization-server", true
	}
	return "", false
}

// discover tries the client's metadata URLs in order; it returns the first document and
// what each URL before it answered.
func (d *doctor) discover(ctx context.Context, issuer string, order []WellKnown) (*asMetadata, []string) {
	var tried []string
	seen := map[string]bool{}
	for _, w := range order {
		u, ok := metadataURL(issuer, w)
		if !ok || seen[u] {
			continue
		}
		seen[u] = true
		a := d.get(ctx, u, "MCP-Protocol-Version", protocolVersion)
		if m := a.jsonObject(); a.Status == http.StatusOK && m != nil && str(m, "issuer") != "" {
			return &asMetadata{URL: u, Kind: w, Doc: m}, tried
		}
		tried = append(tried, u+" → "+a.String())
	}
	return nil, tried
}

// ---- one client ----

func (d *doctor) add(c Client, step string, st Status, detail, fix string) {
	d.rows = append(d.rows, Row{Client: c.Key, Step: step, Status: st, Detail: detail, Fix: fix})
}

func (d *doctor) checkClient(ctx context.Context, c Client) {
	// 1. The unauthenticated request. MCP authorization 2025-06-18 ("Authorization Server
	// Location"), RFC 9728 §5.1: 401 with WWW-Authenticate: Bearer resource_metadata="…".
	ch := d.challenge(ctx, "")
	rm := ""
	switch {
	case ch.Err != nil:
		d.add(c, "401 challenge", Fail, "the MCP URL did not answer: "+ch.Err.Error(), "check the URL and that the deployment is reachable from here")
		return
	case ch.Status != http.StatusUnauthorized:
		reason, fix := fmt.Sprintf("an unauthenticated initialize got %s, not 401", ch), "protect the MCP route with the bearer-token check (Authbridge: the Lambda authorizer on /mcp) so that a request without a token gets 401"
		if ch.Status == http.StatusForbidden || ch.Status == http.StatusNotFound {
			fix = "give clients the MCP URL the API serves (the stage prefix, e.g. /Prod, belongs in it when there is no custom domain)"
		}
		d.add(c, "401 challenge", Fail, reason, fix)
		return
	default:
		params, ok := parseChallenges(ch.Header.Values("WWW-Authenticate"), "Bearer")
		rm = params["resource_metadata"]
		switch {
		case !ok:
			d.add(c, "401 challenge", Fail, "401 without a WWW-Authenticate: Bearer challenge",
				`answer 401 with WWW-Authenticate: Bearer resource_metadata="<protected resource metadata URL>" (RFC 9728 §5.1; Authbridge: the UNAUTHORIZED gateway response of template.yaml)`)
		case rm == "":
			d.add(c, "401 challenge", Fail, "the Bearer challenge has no resource_metadata parameter",
				`add resource_metadata="<protected resource metadata URL>" to the Bearer challenge (RFC 9728 §5.1)`)
		default:
			d.add(c, "401 challenge", Pass, "401, Bearer resource_metadata="+rm, "")
		}
	}

	// 2. Protected resource metadata (RFC 9728 §3): from the challenge, else the well-known
	// URLs for clients that fall back to them.
	var sources []string
	if rm != "" {
		sources = []string{rm}
	} else if c.PRMFallback {
		sources = d.prmFallbacks()
	} else {
		d.add(c, "resource metadata", Skip, "this client finds the metadata only through the challenge", "")
		return
	}
	var p prm
	var tried []string
	for _, s := range sources {
		got, why := readPRM(d.get(ctx, s, "MCP-Protocol-Version", protocolVersion))
		if why == "" {
			p = got
			break
		}
		tried = append(tried, s+" → "+why)
	}
	if p.URL == "" {
		d.add(c, "resource metadata", Fail, "no protected resource metadata: "+strings.Join(tried, "; "),
			"serve the RFC 9728 document, without authentication, at the URL the challenge names")
		return
	}
	if len(p.AuthorizationServers) == 0 {
		d.add(c, "resource metadata", Fail, p.URL+" lists no authorization_servers", "list the issuer in authorization_servers (RFC 9728 §2)")
		return
	}
	detail := p.URL
	if rm == "" {
		detail += " (found by the well-known fallback)"
	}
	d.add(c, "resource metadata", Pass, detail, "")

	// RFC 9728 §3.3: resource must be the URL the client asked for; the client sends it as
	// the RFC 8707 resource parameter, which becomes the token's audience.
	if p.Resource != d.mcp.String() {
		why := fmt.Sprintf("resource is %q, the MCP URL is %q", p.Resource, d.mcp.String())
		if strings.TrimSuffix(p.Resource, "/") == strings.TrimSuffix(d.mcp.String(), "/") {
			why += " (a trailing slash apart)"
		}
		d.add(c, "resource (RFC 8707)", Fail, why,
			"make resource byte-identical to the MCP URL clients use (Authbridge: PROTECTED_RESOURCES, with the stage prefix when there is one)")
	} else {
		d.add(c, "resource (RFC 8707)", Pass, "resource = MCP URL; sent as resource, the token's audience", "")
	}

	// 3. Authorization server metadata in the client's order.
	issuer := p.AuthorizationServers[0]
	meta, tried := d.discover(ctx, issuer, c.Discovery)
	if meta == nil {
		d.add(c, "AS metadata", Fail, "none of the client's URLs answered: "+strings.Join(tried, "; "),
			"serve RFC 8414 metadata at "+d.firstURL(issuer, c.Discovery)+" (or OpenID discovery at {issuer}/.well-known/openid-configuration)")
		d.legacy(ctx, c, false)
		return
	}
	detail = meta.URL
	if len(tried) > 0 {
		detail += " (after " + strings.Join(tried, "; ") + ")"
	}
	d.add(c, "AS metadata", Pass, detail, "")

	// RFC 8414 §3.3 (and OpenID Discovery §4.3): issuer identical to the URL the document was
	// derived from, or the client must not use it.
	if got := meta.s("issuer"); got != issuer {
		why := fmt.Sprintf("issuer is %q, authorization_servers says %q", got, issuer)
		if strings.TrimSuffix(got, "/") == strings.TrimSuffix(issuer, "/") {
			why += ": they differ by a trailing slash"
		}
		d.add(c, "issuer", Fail, why,
			"make the metadata's issuer and the resource metadata's authorization_servers entry byte-identical (Authbridge: ISSUER, no trailing slash, with the stage prefix)")
		return
	}
	d.add(c, "issuer", Pass, "issuer = "+issuer, "")
	if c.OIDCStrict && meta.oidc() {
		// OpenID Discovery §3: these are REQUIRED; the TS SDK validates the document against them.
		var missing []string
		for _, k := range []string{"jwks_uri", "subject_types_supported", "id_token_signing_alg_values_supported", "response_types_supported"} {
			if !meta.has(k) {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			d.add(c, "OpenID fields", Fail, meta.URL+" is read as OpenID discovery and lacks "+strings.Join(missing, ", "),
				"add the OpenID Discovery §3 required fields to the document")
		}
	}

	// MCP authorization 2025-11-25: clients MUST refuse a server without S256 in
	// code_challenge_methods_supported (OAuth 2.1 §4.1.1: PKCE).
	if slices.Contains(meta.l("code_challenge_methods_supported"), "S256") {
		d.add(c, "PKCE S256", Pass, "code_challenge_methods_supported includes S256", "")
	} else {
		d.add(c, "PKCE S256", Fail, fmt.Sprintf("code_challenge_methods_supported is %v", meta.l("code_challenge_methods_supported")),
			`advertise code_challenge_methods_supported: ["S256"] and enforce PKCE`)
	}

	// RFC 9207 §3: lets the client detect mix-up attacks; clients work without it.
	if meta.flag("authorization_response_iss_parameter_supported") {
		d.add(c, "iss parameter", Pass, "authorization_response_iss_parameter_supported: true", "")
	} else {
		d.add(c, "iss parameter", Warn, "authorization_response_iss_parameter_supported is not true: no mix-up defence",
			"send iss in the authorization response and advertise it (RFC 9207)")
	}

	// 4. How the client gets a client_id: its metadata document URL (MCP 2025-11-25), else
	// dynamic registration (RFC 7591).
	cimd := c.CIMD != "" && meta.flag("client_id_metadata_document_supported")
	if c.CIMD != "" {
		if cimd {
			d.add(c, "client ID metadata", Pass, "client_id_metadata_document_supported: the client uses "+c.CIMD+" as client_id", "")
		} else {
			d.add(c, "client ID metadata", Info, "client_id_metadata_document_supported is not true: the client registers instead", "")
		}
	}
	d.registration(ctx, c, meta, cimd, p)
	if c.LegacySeen {
		d.legacy(ctx, c, true)
	}
	if c.BrowserOrigin != "" {
		d.cors(ctx, c, p, meta)
	}
}

func (d *doctor) firstURL(issuer string, order []WellKnown) string {
	u, _ := metadataURL(issuer, order[0])
	return u
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func strs(m map[string]any, k string) []string {
	l, _ := m[k].([]any)
	out := []string{}
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
