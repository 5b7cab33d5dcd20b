package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.ParseFS(pageFiles, "pages/*.html"))

// pageCSP forbids framing (clickjacking on the consent page: MCP security best practices)
// and every resource the pages don't need.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// SecureHTMLHeaders sets the headers every Authbridge HTML page carries.
func SecureHTMLHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// ConsentPage is what the consent page shows. Every string is escaped by html/template.
type ConsentPage struct {
	ClientName    string
	ClientID      string
	RedirectHost  string
	Scopes        []ScopeLine
	LoopbackOnly  bool
	Resource      string
	FormAction    string
	RequestID     string
	CSRFToken     string
	UnverifiedApp bool
}

// ScopeLine is one requested scope and what it lets the client do.
type ScopeLine struct{ Name, Description string }

// ErrorPage is a page for errors that must not be redirected to the client.
type ErrorPage struct {
	Title   string
	Message string
	Code    string
}

// RenderConsent writes the consent page.
func RenderConsent(w http.ResponseWriter, p ConsentPage) { render(w, http.StatusOK, "consent.html", p) }

// RenderError writes an error page with the given status.
func RenderError(w http.ResponseWriter, status int, p ErrorPage) { render(w, status, "error.html", p) }

func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be shown.</p>")
	}
	SecureHTMLHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
