package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"regexp"
	"strings"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.ParseFS(pageFiles, "pages/*.html"))

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

// ConsentPage is what the consent page shows. Every string is escaped by html/template.
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
// is escaped by html/template.
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
	Name     string // as the client registered it (not verified)
	Deleted  bool   // the registration is gone while grants remain
	// RedirectHosts are the hosts of its redirect URIs, in ASCII (punycode).
	RedirectHosts []string
	Scopes        []string
	Resources     []string
	GrantedAt     string // the first grant, formatted
	LastUsedAt    string // the latest use of any of its grants, formatted
}

// RenderConnectedApps writes the connected-apps page; its forms post to the page itself.
func RenderConnectedApps(w http.ResponseWriter, p ConnectedAppsPage) {
	render(w, http.StatusOK, "apps.html", p, []string{})
}

// RenderConsent writes the consent page.
func RenderConsent(w http.ResponseWriter, p ConsentPage) {
	targets := append([]string{}, p.FormTargets...) // never nil: the page has a form
	render(w, http.StatusOK, "consent.html", p, targets)
}

// RenderError writes an error page with the given status.
func RenderError(w http.ResponseWriter, status int, p ErrorPage) {
	render(w, status, "error.html", p, nil)
}

func render(w http.ResponseWriter, status int, name string, data any, formTargets []string) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be shown.</p>")
		formTargets = nil
	}
	secureHTMLHeaders(w, formTargets)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfterSeconds) // RFC 9110 §10.2.3
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
