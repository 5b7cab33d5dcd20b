package main

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	one := []time.Duration{7 * time.Millisecond}
	if got := percentile(one, 99); got != 7*time.Millisecond {
		t.Errorf("percentile of one = %v", got)
	}
	three := []time.Duration{1, 2, 3}
	if got := percentile(three, 50); got != 2 { // nearest rank: ceil(1.5) = 2nd
		t.Errorf("p50 of 1,2,3 = %v, want 2", got)
	}
}

// The consent page's form as shared/web (consentHTML) renders it.
const consentPage = `<!doctype html><html><head><title>Allow access?</title></head><body>
<h1>Allow <strong>x</strong> to use your account?</h1>
<form method="post" action="/api/ext/auth/consent">
  <input type="hidden" name="request_id" value="req&amp;1">
  <input type="hidden" name="csrf_token" value="csrf-2">
  <div class="buttons">
    <button type="submit" name="decision" value="deny">Deny</button>
    <button type="submit" name="decision" value="approve" class="primary">Approve</button>
  </div>
</form></body></html>`

// The WorkOS emulator's sign-in and organization pages (infra/workosemu/pages.go).
const signInPage = `<!doctype html><html><head><title>Sign in · WorkOS emulator</title></head><body>
<form method="post" action="/user_management/authorize/complete" id="user-u1">
<input type="hidden" name="client_id" value="client_local">
<input type="hidden" name="action" value="user">
<input type="hidden" name="user_id" value="u1">
<button type="submit">Ada</button>
</form>
<form method="post" action="/user_management/authorize/complete" id="email-form">
<input type="hidden" name="client_id" value="client_local">
<input type="hidden" name="state" value="s t">
<input type="hidden" name="action" value="email">
<label>Email <input type="email" name="email" value="" autocomplete="email" required></label>
<button type="submit">Continue</button>
</form>
<form method="post" action="/user_management/authorize/complete" id="cancel-form">
<input type="hidden" name="action" value="cancel">
<button type="submit">Cancel</button>
</form></body></html>`

const orgPage = `<html><body><h1>Choose an organization</h1>
<form method="post" action="/user_management/authorize/complete" id="org-org_A">
<input type="hidden" name="action" value="organization">
<input type="hidden" name="user_id" value="u2">
<input type="hidden" name="selected_organization_id" value="org_A">
<button type="submit">A (member)</button></form>
<form method="post" action="/user_management/authorize/complete" id="org-org_B">
<input type="hidden" name="action" value="organization">
<input type="hidden" name="user_id" value="u2">
<input type="hidden" name="selected_organization_id" value="org_B">
<button type="submit">B (admin)</button></form></body></html>`

func TestParseFormsConsent(t *testing.T) {
	forms := parseForms([]byte(consentPage))
	if len(forms) != 1 {
		t.Fatalf("forms = %d, want 1", len(forms))
	}
	f := forms[0]
	if f.Method != "POST" || f.Action != "/api/ext/auth/consent" || !f.has("request_id") || f.button("decision") == nil {
		t.Fatalf("form = %+v", f)
	}
	got := f.values(url.Values{"decision": {"approve"}})
	want := url.Values{"request_id": {"req&1"}, "csrf_token": {"csrf-2"}, "decision": {"approve"}}
	if got.Encode() != want.Encode() {
		t.Errorf("values = %s, want %s", got.Encode(), want.Encode())
	}
	if title := pageTitle([]byte(consentPage)); title != "Allow access?" {
		t.Errorf("title = %q", title)
	}
}

func TestParseFormsSignIn(t *testing.T) {
	forms := parseForms([]byte(signInPage))
	if len(forms) != 3 {
		t.Fatalf("forms = %d, want 3", len(forms))
	}
	f := findForm(forms, func(f *form) bool { return f.ID == "email-form" })
	if f == nil {
		t.Fatal("no email-form")
	}
	got := f.values(url.Values{"email": {"ada@example.com"}})
	if got.Get("email") != "ada@example.com" || got.Get("action") != "email" || got.Get("state") != "s t" || len(got["email"]) != 1 {
		t.Errorf("values = %v", got)
	}
	if findForm(forms, func(f *form) bool { return f.has("request_id") }) != nil {
		t.Error("the sign-in page has no consent form")
	}

	orgs := filterForms(parseForms([]byte(orgPage)), func(f *form) bool { return strings.HasPrefix(f.ID, "org-") })
	if len(orgs) != 2 || orgs[1].values(nil).Get("selected_organization_id") != "org_B" {
		t.Errorf("organization forms = %+v", orgs)
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tbootstrap\nVmPeak:\t 1262340 kB\nVmHWM:\t   13276 kB\nVmRSS:\t   13276 kB\n"
	if kb, ok := parseVmHWM(strings.NewReader(status)); !ok || kb != 13276 {
		t.Errorf("parseVmHWM = %d, %v", kb, ok)
	}
	if _, ok := parseVmHWM(strings.NewReader("Name:\tkthreadd\n")); ok {
		t.Error("a kernel thread has no VmHWM")
	}
}

func TestFunctionOf(t *testing.T) {
	m := newMemSampler("/repo/.run/load")
	for exe, want := range map[string]string{
		"/repo/.run/load/bin/functions/token/bootstrap":           "token",
		"/repo/.run/load/bin/functions/token/bootstrap (deleted)": "token",
		"/repo/.run/other/bin/functions/token/bootstrap":          "",
		"/repo/.tools/bin/aws-lambda-rie":                         "",
	} {
		got := functionOfExe(m.funcsDir, exe)
		if got != want {
			t.Errorf("functionOfExe(%q) = %q, want %q", exe, got, want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		r    response
		want string
	}{
		{response{body: []byte(`{"error":"invalid_grant","error_description":"x"}`)}, "invalid_grant"},
		{response{body: []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x"}}`)}, "jsonrpc -32602"},
		{response{body: []byte(`{"message":"Unauthorized"}`)}, `"Unauthorized"`},
		{response{header: map[string][]string{"Www-Authenticate": {`Bearer error="invalid_token", resource_metadata="u"`}}}, "invalid_token"},
		{response{body: []byte(`<html>`)}, ""},
	} {
		if tc.r.header == nil {
			tc.r.header = map[string][]string{}
		}
		if got := errorCode(&tc.r); got != tc.want {
			t.Errorf("errorCode(%s) = %q, want %q", tc.r.body, got, tc.want)
		}
	}
}
