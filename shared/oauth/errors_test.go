package oauth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// wantCode fails the test unless err carries the OAuth error code want ("" means no error).
func wantCode(t testing.TB, err *Error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error %v", err)
	case want != "" && err == nil:
		t.Fatalf("got no error, want %s", want)
	case want != "" && err.Code != want:
		t.Fatalf("got error %v, want code %s", err, want)
	}
}

func TestErrorCodesAndStatuses(t *testing.T) {
	tests := []struct {
		name   string
		ctor   func(string, ...any) *Error
		code   string
		status int
	}{
		{"RFC 6749 §5.2 invalid_request", ErrInvalidRequest, "invalid_request", http.StatusBadRequest},
		{"RFC 6749 §5.2 invalid_client is 401", ErrInvalidClient, "invalid_client", http.StatusUnauthorized},
		{"RFC 6749 §5.2 invalid_grant", ErrInvalidGrant, "invalid_grant", http.StatusBadRequest},
		{"RFC 6749 §5.2 unauthorized_client", ErrUnauthorizedClient, "unauthorized_client", http.StatusBadRequest},
		{"RFC 6749 §5.2 unsupported_grant_type", ErrUnsupportedGrantType, "unsupported_grant_type", http.StatusBadRequest},
		{"RFC 6749 §5.2 invalid_scope", ErrInvalidScope, "invalid_scope", http.StatusBadRequest},
		{"RFC 8707 §2 invalid_target", ErrInvalidTarget, "invalid_target", http.StatusBadRequest},
		{"RFC 6749 §4.1.2.1 access_denied", ErrAccessDenied, "access_denied", http.StatusForbidden},
		{"RFC 6749 §4.1.2.1 unsupported_response_type", ErrUnsupportedResponseType, "unsupported_response_type", http.StatusBadRequest},
		{"RFC 7591 §3.2.2 invalid_redirect_uri", ErrInvalidRedirectURI, "invalid_redirect_uri", http.StatusBadRequest},
		{"RFC 7591 §3.2.2 invalid_client_metadata", ErrInvalidClientMetadata, "invalid_client_metadata", http.StatusBadRequest},
		{"RFC 7009 §2.2.1 unsupported_token_type", ErrUnsupportedTokenType, "unsupported_token_type", http.StatusBadRequest},
		{"RFC 6749 §4.1.2.1 server_error", ErrServerError, "server_error", http.StatusInternalServerError},
		{"RFC 6749 §4.1.2.1 temporarily_unavailable", ErrTemporarilyUnavailable, "temporarily_unavailable", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.ctor("bad %s %d", "thing", 7)
			if e.Code != tt.code || e.Status != tt.status {
				t.Fatalf("got code %q status %d, want %q %d", e.Code, e.Status, tt.code, tt.status)
			}
			if e.Description != "bad thing 7" {
				t.Fatalf("description %q not formatted", e.Description)
			}
			if got, want := e.Error(), tt.code+": bad thing 7"; got != want {
				t.Fatalf("Error() = %q, want %q", got, want)
			}
		})
	}
}

// allErrorConstructors is every constructor of errors.go, by code.
var allErrorConstructors = map[string]func(string, ...any) *Error{
	"invalid_request": ErrInvalidRequest, "invalid_client": ErrInvalidClient, "invalid_grant": ErrInvalidGrant,
	"unauthorized_client": ErrUnauthorizedClient, "unsupported_grant_type": ErrUnsupportedGrantType,
	"invalid_scope": ErrInvalidScope, "invalid_target": ErrInvalidTarget, "access_denied": ErrAccessDenied,
	"unsupported_response_type": ErrUnsupportedResponseType, "invalid_redirect_uri": ErrInvalidRedirectURI,
	"invalid_client_metadata": ErrInvalidClientMetadata, "unsupported_token_type": ErrUnsupportedTokenType,
	"server_error": ErrServerError, "temporarily_unavailable": ErrTemporarilyUnavailable,
}

// wantDescriptionCharset fails unless d uses only RFC 6749 §5.2's error_description
// characters, checked byte by byte independently of AllowedInDescription.
func wantDescriptionCharset(t testing.TB, what, d string) {
	t.Helper()
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c == 0x20 || c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e) {
			t.Fatalf("%s: error_description %q has byte 0x%02x at %d, outside RFC 6749 §5.2 (%%x20-21 / %%x23-5B / %%x5D-7E)", what, d, c, i)
		}
	}
}

// hostileValues are client-supplied values a description might echo.
var hostileValues = []string{
	`"quoted"`, `back\slash`, "§4.1", "trunc…", "g\u043e\u043ed.example.com", "caf\u00e9", "\x00nul", "line\nbreak",
	"tab\there", "\x7fdel", "\u202eevil", "\xff\xfe invalid UTF-8", "emoji \U0001F600", "\u2028", "%22%5C",
}

// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. Every constructor keeps
// to it whatever the format and the arguments (a value a client sent, echoed back).
func TestRFC6749_5_2_ErrorDescriptionCharset(t *testing.T) {
	for code, ctor := range allErrorConstructors {
		for _, v := range hostileValues {
			for _, e := range []*Error{ctor("%s", v), ctor("value %q refused", v), ctor(v), ctor("RFC 6749 §5.2 … %v", []string{v})} {
				if e.Code != code {
					t.Fatalf("code %q, want %q", e.Code, code)
				}
				wantDescriptionCharset(t, code+" with "+strconv.Quote(v), e.Description)
				if !AllowedInDescription(e.Description) {
					t.Fatalf("AllowedInDescription(%q) = false for a constructor's output", e.Description)
				}
			}
		}
	}
	// The mapping keeps texts readable.
	for in, want := range map[string]string{
		`grant type "x" is not supported`:  "grant type 'x' is not supported",
		"RFC 7636 §4.1":                    "RFC 7636 section 4.1",
		"abc…":                             "abc...",
		`a\b`:                              "a/b",
		"g\u043e\u043ed":                   "g??d",
		"plain text (RFC 6749) [x] {y} ~!": "plain text (RFC 6749) [x] {y} ~!",
	} {
		if got := ErrInvalidRequest("%s", in).Description; got != want {
			t.Errorf("description of %q = %q, want %q", in, got, want)
		}
	}
	for _, v := range []string{"", "ok", " !#[]^~"} {
		if !AllowedInDescription(v) {
			t.Errorf("AllowedInDescription(%q) = false", v)
		}
	}
	for _, v := range []string{`"`, `\`, "\x1f", "\x7f", "é", "§"} {
		if AllowedInDescription(v) {
			t.Errorf("AllowedInDescription(%q) = true", v)
		}
	}
}

// RFC 6749 §5.2: the descriptions the protocol rules build from client input (a duplicated
// parameter's name, an unknown grant or response type, a scheme) keep to the charset.
func TestRFC6749_5_2_ErrorDescriptionCharsetOfEchoedValues(t *testing.T) {
	for _, v := range hostileValues {
		q := url.Values{v: {"1", "2"}, "client_id": {"c"}}
		_, err, _ := ParseAuthorizeQuery(q)
		if err != nil {
			wantDescriptionCharset(t, "duplicated parameter "+strconv.Quote(v), err.Description)
		}
		for _, member := range []string{"grant_types", "response_types"} {
			body := mustJSON(t, map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, member: []string{"authorization_code", "code", v}})
			if _, err := ParseClientMetadata(body, testSupported); err != nil {
				wantDescriptionCharset(t, member+" "+strconv.Quote(v), err.Description)
			}
		}
		if err := ValidateRedirectURI("https://" + v + "/cb"); err != nil {
			wantDescriptionCharset(t, "redirect host "+strconv.Quote(v), err.Description)
		}
	}
}

// RFC 6749 §5.2: the description texts written in the code read well in the allowed
// charset — no section signs, ellipses, double quotes (%q) or other non-ASCII characters
// that the constructors would have to replace. Scans every Go file under shared/.
func TestRFC6749_5_2_ErrorDescriptionTextsInSource(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// Only the constructors may build an Error: a literal would skip DescriptionCharset.
			if lit, ok := n.(*ast.CompositeLit); ok && isErrorType(lit.Type, filepath.Base(filepath.Dir(path)) == "oauth") && filepath.Base(path) != "errors.go" {
				t.Errorf("%s: an oauth.Error literal bypasses the constructors and their RFC 6749 §5.2 charset", fset.Position(lit.Pos()))
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 || !isErrorConstructor(call.Fun) {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, _ := strconv.Unquote(lit.Value)
			scanned++
			if strings.Contains(text, "%q") || !AllowedInDescription(strings.ReplaceAll(text, "%", "")) {
				t.Errorf("%s: description %q uses characters outside RFC 6749 §5.2; write them in ASCII ('section', '...', single quotes)", fset.Position(lit.Pos()), text)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("only %d description texts found; the scan is not looking where the constructors are called", scanned)
	}
}

// isErrorType reports whether typ names Error, as oauth.Error or, inside this package
// (inOAuth), Error.
func isErrorType(typ ast.Expr, inOAuth bool) bool {
	switch t := typ.(type) {
	case *ast.Ident:
		return inOAuth && t.Name == "Error"
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		return ok && x.Name == "oauth" && t.Sel.Name == "Error"
	}
	return false
}

// isErrorConstructor reports whether fun names one of errors.go's constructors, called as
// oauth.ErrX or, inside this package, ErrX.
func isErrorConstructor(fun ast.Expr) bool {
	var name string
	switch f := fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); !ok || x.Name != "oauth" {
			return false
		}
		name = f.Sel.Name
	}
	for code := range allErrorConstructors {
		if name == "Err"+camel(code) {
			return true
		}
	}
	return false
}

func camel(code string) string {
	var b strings.Builder
	for _, part := range strings.Split(code, "_") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return strings.NewReplacer("Uri", "URI").Replace(b.String())
}
