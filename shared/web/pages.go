package web

import (
	"net/http"
	"regexp"
	"strings"
)

// pageCSP forbids framing (clickjacking on the consent page: MCP security best practices)
// and every resource the pages don't need. form-action is not covered by default-src (CSP3
// §6.4.1), so each page names it: 'none' unless the page has a form (formActionPolicy).
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// StrictTransportSecurity is sent on every response (RFC 6797 §6.1): two years, subdomains
// included, so a browser never reaches the issuer over plain HTTP after its first visit.
const StrictTransportSecurity = "max-age=63072000; includeSubDomains"

// SetTransportSecurity sets Strict-Transport-Security on a response.
func SetTransportSecurity(w http.ResponseWriter) {
	w.Header().Set("Strict-Transport-Security", StrictTransportSecurity)
}

// SecureHTMLHeaders sets the headers every Authbridge HTML page carries; the page has no
// form (form-action 'none').
func SecureHTMLHeaders(w http.ResponseWriter) { secureHTMLHeaders(w, nil) }

// formSourceRE is what a form target may look like in the policy: a scheme source
// ("cursor:", "https:") or a scheme, an ASCII host and an optional port. Anything else
// (a space, ';' or ',' could change the policy) is left out, which only blocks that target.
var formSourceRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:(//[a-z0-9.-]+(:[0-9]{1,5})?)?$`)

// formActionPolicy is the page's form-action directive: 'self' (the form posts to
// Authbridge) and the places the submission is then redirected to, because Chromium checks
// form-action on every redirect of a form submission.
func formActionPolicy(targets []string) string {
	if targets == nil {
		return "form-action 'none'"
	}
	sources := []string{"'self'"}
	for _, t := range targets {
		if formSourceRE.MatchString(t) {
			sources = append(sources, t)
		}
	}
	return "form-action " + strings.Join(sources, " ")
}

func secureHTMLHeaders(w http.ResponseWriter, formTargets []string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP+"; "+formActionPolicy(formTargets))
	SetTransportSecurity(w)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// ConsentPage is what the consent page shows. Every string is escaped (html.go).
type ConsentPage struct {
	ClientName string
	ClientID   string
	// RedirectHost is where the browser goes afterwards, in ASCII (punycode for an
	// internationalised name): what the browser really resolves.
	RedirectHost string
	// RedirectHostUnicode is the same host in Unicode, set only when it differs from
	// RedirectHost; the page then warns that it may imitate another name.
	RedirectHostUnicode string
	// RedirectHostInvalid: the host is not a valid domain name; the page warns.
	RedirectHostInvalid bool
	Scopes              []ScopeLine
	LoopbackOnly        bool
	Resource            string
	// SignedInAs names the person WorkOS just verified, for a consent asked after sign-in.
	SignedInAs    string
	FormAction    string
	RequestID     string
	CSRFToken     string
	UnverifiedApp bool
	// VerifiedDomain is set for a client identified by a Client ID Metadata Document (MCP
	// authorization 2026-07-28): the domain that serves the document vouches for the name and
	// redirect URIs, so the page names it instead of "not verified".
	VerifiedDomain string
	// LoopbackRedirect marks a metadata-document client whose redirect URI is a loopback
	// address: the domain vouches for the document, not for the program listening locally.
	LoopbackRedirect bool
	// FormTargets are the CSP sources the form's submission may be redirected to besides
	// Authbridge itself (the sign-in service, the client's redirect URI).
	FormTargets []string
}

// ScopeLine is one requested scope and what it lets the client do; Granted marks a scope
// the person already allowed (incremental consent).
type ScopeLine struct {
	Name, Description string
	Granted           bool
}

// ErrorPage is a page for errors that must not be redirected to the client.
type ErrorPage struct {
	Title      string
	Message    string
	Code       string
	ClientName string // the application the request came from, when known
	// RetryURL, when set, is offered as a "Try again" link: the same step again (a dependency
	// was unavailable, nothing was spent).
	RetryURL string
}

// ConnectedAppsPage is what the connected-apps page shows a signed-in person. Every string
// is escaped (html.go).
type ConnectedAppsPage struct {
	SignedInAs string
	Apps       []ConnectedApp
	// Notice is the outcome of the last action, one of the page's own sentences.
	Notice     string
	FormAction string
	CSRFToken  string
}

// ConnectedApp is one application holding grants of the person: every live grant of that
// client, taken together.
type ConnectedApp struct {
	ClientID string
	Name     string // as the client registered it (not verified), or its verified domain
	Deleted  bool   // the registration is gone while grants remain
	// Identified: a Client ID Metadata Document client, named by the domain that vouches for
	// it rather than by a name it gave itself.
	Identified bool
	// RedirectHosts are the hosts of its redirect URIs, in ASCII (punycode).
	RedirectHosts []string
	Scopes        []string
	Resources     []string
	GrantedAt     string // the first grant, formatted
	LastUsedAt    string // the latest use of any of its grants, formatted
}

// RenderConnectedApps writes the connected-apps page; its forms post to the page itself.
func RenderConnectedApps(w http.ResponseWriter, p ConnectedAppsPage) {
	render(w, http.StatusOK, connectedAppsHTML(p), []string{})
}

// RenderConsent writes the consent page.
func RenderConsent(w http.ResponseWriter, p ConsentPage) {
	targets := append([]string{}, p.FormTargets...) // never nil: the page has a form
	render(w, http.StatusOK, consentHTML(p), targets)
}

// RenderError writes an error page with the given status.
func RenderError(w http.ResponseWriter, status int, p ErrorPage) {
	render(w, status, errorHTML(p), nil)
}

func render(w http.ResponseWriter, status int, body []byte, formTargets []string) {
	secureHTMLHeaders(w, formTargets)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfterSeconds) // RFC 9110 §10.2.3
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// The pages. Each is written as markup (p.m, as is) and values (p.text and p.url, escaped):
// html.go says why there is no html/template. A page's text changes here; TestPagesGolden
// (testdata/pages) shows the whole page and must be updated with it (go test -update).

// head opens every page, titled title.
func (p *page) head(title string) {
	p.el(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>`, title, ` · Authbridge</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; background: #f5f6f8; color: #1d2330; margin: 0; }
  main { max-width: 30rem; margin: 4rem auto; background: #fff; border-radius: 12px; padding: 2rem 2.25rem; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  h1 { font-size: 1.35rem; margin: 0 0 1rem; }
  .muted { color: #5b6475; font-size: .9rem; }
  .warn { background: #fff6e5; border: 1px solid #f0c36d; border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; font-size: .92rem; }
  ul.scopes { padding-left: 1.1rem; }
  ul.scopes li { margin: .35rem 0; }
  code { background: #eef0f4; padding: .05rem .3rem; border-radius: 4px; word-break: break-all; }
  .buttons { display: flex; gap: .75rem; margin-top: 1.5rem; }
  button { flex: 1; font-size: 1rem; padding: .7rem 1rem; border-radius: 8px; border: 1px solid #c9ced8; background: #fff; cursor: pointer; }
  button.primary { background: #2449d8; border-color: #2449d8; color: #fff; }
  button.danger { color: #b3261e; border-color: #e3b4b0; }
  .notice { background: #eaf4ec; border: 1px solid #9fd0a9; border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; font-size: .92rem; }
  .app { border: 1px solid #e1e4ea; border-radius: 10px; padding: 1rem 1.1rem; margin: 1rem 0; }
  .app h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
  .app dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: .5rem 0 .75rem; font-size: .92rem; }
  .app dt { color: #5b6475; }
  .app dd { margin: 0; }
  form.inline { margin: 0; }
  a.retry { display: inline-block; font-size: 1rem; padding: .7rem 1.4rem; border-radius: 8px; background: #2449d8; color: #fff; text-decoration: none; }
  form.inline button { flex: none; }
</style>
</head>
<body><main>`)
}

// foot closes every page.
func (p *page) foot() { p.m("</main></body></html>\n") }

func consentHTML(d ConsentPage) []byte {
	var p page
	p.head("Allow access?")
	p.m("\n<h1>Allow <strong>")
	if d.ClientName != "" {
		p.text(d.ClientName)
	} else {
		p.m("an unnamed application")
	}
	p.m("</strong> to use your account?</h1>\n<p class=\"muted\">Application id <code>")
	p.text(d.ClientID)
	p.m("</code>")
	if d.UnverifiedApp {
		p.m(" · registered itself; its name is not verified")
	}
	p.m("</p>\n")
	if d.VerifiedDomain != "" {
		p.el("<p>Identified by <strong><code>", d.VerifiedDomain, "</code></strong>: this domain publishes the application's name and addresses.</p>")
	}
	p.m("\n")
	if d.LoopbackRedirect {
		p.el(`<div class="warn" role="alert"><strong>Local address.</strong> <code>`, d.VerifiedDomain, "</code> vouches for this application, but it receives your sign-in at a local address (localhost), where any program on this computer could listen. Only continue if you just started it yourself.</div>")
	}
	p.m("\n")
	if d.SignedInAs != "" {
		p.el("<p>You are signed in as <strong>", d.SignedInAs, "</strong>.</p>")
	}
	p.m("\n<p>")
	if d.SignedInAs != "" {
		p.m("If you allow it, you will be")
	} else {
		p.m("After you sign in, you will be")
	}
	p.el(" sent back to <strong><code>", d.RedirectHost, "</code></strong>")
	if d.RedirectHostUnicode != "" {
		p.el(" (shown by some programs as <code>", d.RedirectHostUnicode, "</code>)")
	}
	p.m(".</p>\n")
	if d.RedirectHostUnicode != "" {
		p.el(`<div class="warn" role="alert"><strong>Look-alike address.</strong> This address uses international characters, which can imitate a familiar name. Its real form is <code>`, d.RedirectHost, "</code>. Only continue if you expected exactly this address.</div>")
	}
	p.m("\n")
	if d.RedirectHostInvalid {
		p.el(`<div class="warn" role="alert"><strong>Unusual address.</strong> <code>`, d.RedirectHost, "</code> is not a valid domain name. Only continue if you expected exactly this address.</div>")
	}
	p.m("\n")
	if d.LoopbackOnly {
		p.m(`<div class="warn" role="alert"><strong>This application runs on a computer, not a website.</strong> It receives your sign-in at a local address (localhost). Only continue if you just started it yourself.</div>`)
	}
	p.m("\n<p>It will be able to:</p>\n<ul class=\"scopes\">")
	for _, sc := range d.Scopes {
		p.el("<li><code>", sc.Name, "</code> — ")
		p.text(sc.Description)
		if sc.Granted {
			p.m(` <span class="muted">(already allowed)</span>`)
		}
		p.m("</li>")
	}
	p.m("</ul>\n<p class=\"muted\">Access to <code>")
	p.text(d.Resource)
	p.m("</code></p>\n<form method=\"post\" action=\"")
	p.url(d.FormAction)
	p.m("\">\n  <input type=\"hidden\" name=\"request_id\" value=\"")
	p.text(d.RequestID)
	p.m("\">\n  <input type=\"hidden\" name=\"csrf_token\" value=\"")
	p.text(d.CSRFToken)
	p.m(`">
  <div class="buttons">
    <button type="submit" name="decision" value="deny">Deny</button>
    <button type="submit" name="decision" value="approve" class="primary">Approve</button>
  </div>
</form>
`)
	p.foot()
	return p.b.Bytes()
}

func errorHTML(d ErrorPage) []byte {
	var p page
	p.head(d.Title)
	p.el("\n<h1>", d.Title, "</h1>\n")
	if d.ClientName != "" {
		p.el("<p>The request came from the application <strong>", d.ClientName, "</strong>.</p>")
	}
	p.el("\n<p>", d.Message, "</p>\n")
	if d.Code != "" {
		p.m("<p class=\"muted\">Error: <code>")
		p.text(d.Code)
		p.m("</code></p>")
	}
	p.m("\n")
	if d.RetryURL != "" {
		p.m("<p><a class=\"retry\" href=\"")
		p.url(d.RetryURL)
		p.m("\">Try again</a></p>\n<p class=\"muted\">Nothing was lost: trying again continues where you were.</p>\n")
	} else {
		p.m("<p class=\"muted\">Return to the application you came from and start signing in again.</p>")
	}
	p.m("\n")
	p.foot()
	return p.b.Bytes()
}

func connectedAppsHTML(d ConnectedAppsPage) []byte {
	var p page
	p.head("Connected apps")
	p.el("\n<h1>Connected apps</h1>\n<p>Signed in as <strong>", d.SignedInAs, "</strong>.</p>\n")
	if d.Notice != "" {
		p.el(`<div class="notice" role="status">`, d.Notice, "</div>")
	}
	p.m("\n")
	if len(d.Apps) == 0 {
		p.m("\n<p>No application holds access to your account.</p>\n<form method=\"post\" action=\"")
		p.url(d.FormAction)
		p.m("\">\n  <input type=\"hidden\" name=\"csrf_token\" value=\"")
		p.text(d.CSRFToken)
		p.m(`">
  <div class="buttons"><button type="submit" name="action" value="sign_out">Sign out</button></div>
</form>
`)
	} else {
		p.m("\n<p class=\"muted\">These applications can act on your behalf. Revoking one ends its access at once: it cannot refresh its tokens, and it must ask you again before it gets new ones. A token it already holds stops working when it expires, within minutes.</p>\n")
		for _, a := range d.Apps {
			p.connectedApp(a, d)
		}
		p.m("\n<form method=\"post\" action=\"")
		p.url(d.FormAction)
		p.m("\">\n  <input type=\"hidden\" name=\"csrf_token\" value=\"")
		p.text(d.CSRFToken)
		p.m(`">
  <div class="buttons">
    <button type="submit" name="action" value="sign_out">Sign out</button>
    <button type="submit" name="action" value="revoke_all" class="danger">Revoke all</button>
  </div>
</form>
`)
	}
	p.m("\n")
	p.foot()
	return p.b.Bytes()
}

// connectedApp is one application's section of the connected-apps page d.
func (p *page) connectedApp(a ConnectedApp, d ConnectedAppsPage) {
	p.m("\n<section class=\"app\" data-client-id=\"")
	p.text(a.ClientID)
	p.m("\">\n  <h2>")
	if a.Name != "" {
		p.text(a.Name)
	} else {
		p.m("An unnamed application")
	}
	p.el("</h2>\n  <dl>\n    <dt>Application id</dt><dd><code>", a.ClientID, "</code>")
	switch {
	case a.Deleted:
		p.m(" · no longer registered")
	case a.Identified:
		p.m(" · identified by its domain")
	default:
		p.m(" · registered itself; its name is not verified")
	}
	p.m("</dd>\n    <dt>Sends you back to</dt><dd>")
	p.codes(a.RedirectHosts, ", ", `<span class="muted">unknown</span>`)
	p.m("</dd>\n    <dt>Allowed</dt><dd>")
	p.codes(a.Scopes, " ", `<span class="muted">no scopes</span>`)
	p.m("</dd>\n    <dt>For</dt><dd>")
	p.codes(a.Resources, ", ", "")
	p.el("</dd>\n    <dt>Granted</dt><dd>", a.GrantedAt, "</dd>\n    <dt>Last used</dt><dd>")
	p.text(a.LastUsedAt)
	p.m("</dd>\n  </dl>\n  <form class=\"inline\" method=\"post\" action=\"")
	p.url(d.FormAction)
	p.m("\">\n    <input type=\"hidden\" name=\"csrf_token\" value=\"")
	p.text(d.CSRFToken)
	p.m("\">\n    <input type=\"hidden\" name=\"client_id\" value=\"")
	p.text(a.ClientID)
	p.m("\">\n    <button type=\"submit\" name=\"action\" value=\"revoke\" class=\"danger\" aria-label=\"Revoke access for ")
	if a.Name != "" {
		p.text(a.Name)
	} else {
		p.m("an unnamed application")
	}
	p.m("\">Revoke access</button>\n  </form>\n</section>\n")
}

// codes writes each value as <code>, separated by sep, or none (markup) when there is none.
func (p *page) codes(values []string, sep, none string) {
	if len(values) == 0 {
		p.m(none)
	}
	for i, v := range values {
		if i > 0 {
			p.m(sep)
		}
		p.el("<code>", v, "</code>")
	}
}
