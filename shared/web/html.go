package web

import (
	"bytes"
	"strings"
)

// page is an HTML page being written. Markup is written as is (m): only the page's own text,
// never a value. Every value goes through text (a text node, <title>, or a double-quoted
// attribute) or url (an href or action), which escape it as html/template would there,
// byte for byte, so that a value never becomes markup.
//
// The pages do not use html/template: executing a template calls reflect's MethodByName,
// which makes the linker keep every exported method of every type the binary converts to an
// interface (the whole DynamoDB client, among others): 1.7 to 3.1 MB in each function that
// shows a page (issue 14, infra/sizes).
type page struct{ b bytes.Buffer }

// m writes markup, as is.
func (p *page) m(markup string) { p.b.WriteString(markup) }

// text writes s escaped for a text node or a double-quoted attribute value.
func (p *page) text(s string) { _, _ = htmlEscaper.WriteString(&p.b, s) }

// el writes value, escaped as text, between two pieces of markup: el("<code>", v, "</code>").
func (p *page) el(before, value, after string) { p.m(before); p.text(value); p.m(after) }

// url writes s as the value of a double-quoted URL attribute (href, action): a URL with a
// scheme other than http, https or mailto (javascript:, data:, vbscript:…) becomes
// "#ZgotmplZ", as html/template makes it; the rest is percent-encoded where RFC 3986 does
// not allow a byte (valid escapes kept), then escaped as text.
func (p *page) url(s string) {
	if !isSafeURL(s) {
		p.m("#ZgotmplZ")
		return
	}
	p.text(normalizeURL(s))
}

// htmlEscaper is html/template's escaping of a text node or a quoted attribute: the five
// characters of html.EscapeString (& < > " '), '+' (against UTF-7 sniffing) and NUL, which
// the HTML parser would replace.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// isSafeURL reports whether s is relative or has the scheme http, https or mailto.
func isSafeURL(s string) bool {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") {
		return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto")
	}
	return true
}

// normalizeURL percent-encodes every byte of s that is neither unreserved nor reserved in
// RFC 3986 (a space, a quote, '<', non-ASCII…), and a '%' that does not start a valid escape.
func normalizeURL(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
