package web_test

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/web"
)

var update = flag.Bool("update", false, "rewrite testdata/pages/*.html from the pages as rendered now")

// hostile is what an attacker could put in any string a page shows: a registered client name,
// a redirect host, a scope, a WorkOS email, an error description.
const hostile = `<script>alert("x'&+")</script>` + "\x00"

// pageFixtures are the pages the golden files in testdata/pages hold. They were first
// rendered by the html/template templates the pages used until issue 14, and the writer that
// replaced them renders them byte for byte (hostile strings and odd URLs included).
var pageFixtures = map[string]func(w http.ResponseWriter){
	"consent-basic": func(w http.ResponseWriter) {
		web.RenderConsent(w, web.ConsentPage{
			ClientName: "Claude", ClientID: "abc_123", RedirectHost: "claude.ai",
			Scopes:   []web.ScopeLine{{Name: "mcp", Description: "use the MCP tools as you"}},
			Resource: "https://auth.example.com/mcp", FormAction: "https://auth.example.com/api/ext/auth/consent",
			RequestID: "abr_request", CSRFToken: "abx_csrf", UnverifiedApp: true,
			FormTargets: []string{"https://claude.ai"},
		})
	},
	"consent-every-warning": func(w http.ResponseWriter) {
		web.RenderConsent(w, web.ConsentPage{
			ClientID: "https://app.example.com/client.json", RedirectHost: "xn--pple-43d.com",
			RedirectHostUnicode: "аpple.com", RedirectHostInvalid: true, LoopbackOnly: true,
			Scopes: []web.ScopeLine{
				{Name: "mcp", Description: "use the MCP tools as you", Granted: true},
				{Name: "offline_access", Description: "stay signed in"},
			},
			Resource: "https://crm.example.com/mcp", SignedInAs: "ada@example.com",
			FormAction: "/api/ext/auth/consent", RequestID: "abr_r", CSRFToken: "abx_c",
			VerifiedDomain: "app.example.com", LoopbackRedirect: true,
		})
	},
	"consent-hostile": func(w http.ResponseWriter) {
		p := web.ConsentPage{Scopes: []web.ScopeLine{{}, {Granted: true}}, FormAction: "javascript:alert(1)"}
		fillStrings(&p, "FormAction")
		web.RenderConsent(w, p)
	},
	"error-basic": func(w http.ResponseWriter) {
		web.RenderError(w, http.StatusBadRequest, web.ErrorPage{Title: "This sign-in request can't continue",
			Message: "redirect_uri is not registered for this client", Code: "invalid_request"})
	},
	"error-retry": func(w http.ResponseWriter) {
		web.RenderError(w, http.StatusServiceUnavailable, web.ErrorPage{Title: "Try again", Message: "The sign-in service did not answer.",
			ClientName: "Cursor",
			RetryURL:   "https://auth.example.com/api/ext/auth/authorize?client_id=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcb&scope=mcp+offline_access&state=a%20b"})
	},
	"error-odd-url": func(w http.ResponseWriter) {
		web.RenderError(w, http.StatusServiceUnavailable, web.ErrorPage{Title: "t", Message: "m",
			RetryURL: `/api/ext/auth/authorize?x=a b"c'd<e>f&g=é%zz(h)!*~` + "\x00%4"})
	},
	"error-hostile": func(w http.ResponseWriter) {
		p := web.ErrorPage{RetryURL: "JavaScript:alert(document.cookie)"}
		fillStrings(&p, "RetryURL")
		web.RenderError(w, http.StatusForbidden, p)
	},
	"error-data-url": func(w http.ResponseWriter) {
		web.RenderError(w, http.StatusForbidden, web.ErrorPage{Title: "t", Message: "m", RetryURL: "data:text/html,<script>alert(1)</script>"})
	},
	"apps-none": func(w http.ResponseWriter) {
		web.RenderConnectedApps(w, web.ConnectedAppsPage{SignedInAs: "ada@example.com",
			FormAction: "https://auth.example.com/api/ext/auth/connected-apps", CSRFToken: "abx_csrf"})
	},
	"apps-several": func(w http.ResponseWriter) {
		web.RenderConnectedApps(w, web.ConnectedAppsPage{SignedInAs: "ada@example.com", Notice: "Access revoked for Claude.",
			FormAction: "https://auth.example.com/api/ext/auth/connected-apps", CSRFToken: "abx_csrf",
			Apps: []web.ConnectedApp{
				{ClientID: "abc", Name: "Claude", RedirectHosts: []string{"claude.ai", "claude.com"}, Scopes: []string{"mcp", "offline_access"},
					Resources: []string{"https://auth.example.com/mcp", "https://crm.example.com/mcp"}, GrantedAt: "1 Dec 2026", LastUsedAt: "2 Dec 2026"},
				{ClientID: "def", Deleted: true, Resources: []string{"https://auth.example.com/mcp"}, GrantedAt: "3 Dec 2026", LastUsedAt: "4 Dec 2026"},
				{ClientID: "ghi", Name: "Cursor", RedirectHosts: []string{"127.0.0.1"}, Scopes: []string{"mcp"}},
			}})
	},
	"apps-hostile": func(w http.ResponseWriter) {
		p := web.ConnectedAppsPage{Apps: []web.ConnectedApp{{}, {Deleted: true}}, FormAction: "vbscript:msgbox"}
		for i := range p.Apps {
			p.Apps[i].RedirectHosts, p.Apps[i].Scopes, p.Apps[i].Resources = []string{"", ""}, []string{"", ""}, []string{"", ""}
		}
		fillStrings(&p, "FormAction")
		web.RenderConnectedApps(w, p)
	},
}

// fillStrings sets every string reachable in *p (fields, slices of strings, slices of
// structs) to hostile followed by the field's name, except the fields named in keep (the
// URLs, which a fixture sets itself) and FormTargets (the CSP's, not the page's).
func fillStrings(p any, keep ...string) {
	var fill func(v reflect.Value, name string)
	fill = func(v reflect.Value, name string) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(hostile + name)
		case reflect.Struct:
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.Name != "FormTargets" && !slices.Contains(keep, f.Name) {
					fill(v.Field(i), f.Name)
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				fill(v.Index(i), name)
			}
		}
	}
	fill(reflect.ValueOf(p).Elem(), "")
}

// TestPagesGolden: each page renders byte for byte as its golden file (go test -update
// rewrites them after a deliberate change of a page).
func TestPagesGolden(t *testing.T) {
	for name, render := range pageFixtures {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			render(rec)
			file := filepath.Join("testdata", "pages", name+".html")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, rec.Body.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != string(want) {
				t.Errorf("%s differs from %s:\n%s", name, file, firstDifference(got, string(want)))
			}
		})
	}
}

func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	return "got:  …" + got[from:min(len(got), i+80)] + "\nwant: …" + want[from:min(len(want), i+80)]
}

// TestPagesEscapeEveryValue: in the hostile fixtures, where every string a page shows is
// hostile followed by its field's name, each value is shown escaped and none as markup; a
// javascript:, vbscript: or data: URL is never emitted.
func TestPagesEscapeEveryValue(t *testing.T) {
	escaped := `&lt;script&gt;alert(&#34;x&#39;&amp;&#43;&#34;)&lt;/script&gt;` + "\uFFFD"
	for name, fields := range map[string]any{
		"consent-hostile": web.ConsentPage{}, "error-hostile": web.ErrorPage{}, "apps-hostile": web.ConnectedAppsPage{},
	} {
		rec := httptest.NewRecorder()
		pageFixtures[name](rec)
		body := rec.Body.String()
		for _, bad := range []string{"<script", `"x'`, "\x00", "javascript:", "JavaScript:", "vbscript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s shows %q unescaped", name, bad)
			}
		}
		for _, field := range stringFields(reflect.TypeOf(fields)) {
			switch field {
			case "FormAction", "RetryURL": // set to a javascript: or vbscript: URL
				if !strings.Contains(body, `="#ZgotmplZ"`) {
					t.Errorf("%s: %s is not replaced by #ZgotmplZ", name, field)
				}
			default:
				if !strings.Contains(body, escaped+field) {
					t.Errorf("%s does not show %s, escaped", name, field)
				}
			}
		}
	}
	rec := httptest.NewRecorder()
	pageFixtures["error-data-url"](rec)
	if strings.Contains(rec.Body.String(), "data:") || strings.Contains(rec.Body.String(), "<script") {
		t.Errorf("a data: URL is emitted: %s", rec.Body)
	}
}

// stringFields are the names of the string and []string fields of struct type t and of the
// structs in its slices, FormTargets (the CSP's, not the page's) left out.
func stringFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Name == "FormTargets":
		case f.Type.Kind() == reflect.String, f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			names = append(names, f.Name)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			names = append(names, stringFields(f.Type.Elem())...)
		}
	}
	return names
}
