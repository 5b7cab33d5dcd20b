package workosemu

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
)

func TestGetUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.um.GetUser(ctx, usermanagement.GetUserOpts{User: graceID})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != graceID || u.Email != "grace@example.com" || u.FirstName != "Grace" || u.LastName != "Hopper" ||
		!u.EmailVerified || u.CreatedAt != "2024-01-11T09:00:00.000Z" || u.UpdatedAt != u.CreatedAt || u.LastSignInAt != "" {
		t.Fatalf("user %+v", u)
	}

	_, err = e.um.GetUser(ctx, usermanagement.GetUserOpts{User: "user_01NOPE"})
	he := httpErr(t, err, http.StatusNotFound, "not_found")
	if !strings.Contains(he.Message, "User not found") {
		t.Fatalf("message %q", he.Message)
	}

	_, err = e.client("sk_test_wrong").GetUser(ctx, usermanagement.GetUserOpts{User: graceID})
	he = httpErr(t, err, http.StatusUnauthorized, "unauthorized")
	if he.Message != "Unauthorized" {
		t.Fatalf("message %q", he.Message)
	}
}

func TestListOrganizationMemberships(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	list := func(opts usermanagement.ListOrganizationMembershipsOpts) usermanagement.ListOrganizationMembershipsResponse {
		t.Helper()
		res, err := e.um.ListOrganizationMemberships(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ids := func(res usermanagement.ListOrganizationMembershipsResponse) []string {
		out := []string{}
		for _, m := range res.Data {
			out = append(out, m.ID)
		}
		return out
	}

	// Grace's memberships, newest first (the SDK's default order is desc).
	res := list(usermanagement.ListOrganizationMembershipsOpts{UserID: graceID})
	if got := ids(res); !reflect.DeepEqual(got, []string{seedMembershipsAsc[2], seedMembershipsAsc[1]}) {
		t.Fatalf("grace: %v", got)
	}
	m := res.Data[0]
	if m.UserID != graceID || m.OrganizationID != bletchleyID || m.Role.Slug != "admin" ||
		m.Status != usermanagement.Active || m.CreatedAt != "2024-01-11T11:00:00.000Z" {
		t.Fatalf("membership %+v", m)
	}
	if res.ListMetadata.Before != "" || res.ListMetadata.After != "" {
		t.Fatalf("list metadata %+v", res.ListMetadata)
	}

	// Status filter, repeated as statuses=…&statuses=….
	res = list(usermanagement.ListOrganizationMembershipsOpts{OrganizationID: bletchleyID, Statuses: []usermanagement.OrganizationMembershipStatus{usermanagement.Inactive}})
	if got := ids(res); !reflect.DeepEqual(got, []string{seedMembershipsAsc[3]}) || res.Data[0].Status != usermanagement.Inactive {
		t.Fatalf("inactive in bletchley: %v", got)
	}
	res = list(usermanagement.ListOrganizationMembershipsOpts{UserID: alanID, Statuses: []usermanagement.OrganizationMembershipStatus{usermanagement.Inactive, usermanagement.PendingOrganizationMembership}})
	if got := ids(res); len(got) != 2 {
		t.Fatalf("alan inactive+pending: %v", got)
	}
	res = list(usermanagement.ListOrganizationMembershipsOpts{UserID: alanID, Statuses: []usermanagement.OrganizationMembershipStatus{usermanagement.Active}})
	if len(res.Data) != 0 {
		t.Fatalf("alan active: %v", ids(res))
	}

	// Pagination, descending: forward with after, back with before.
	desc := []string{seedMembershipsAsc[4], seedMembershipsAsc[3], seedMembershipsAsc[2], seedMembershipsAsc[1], seedMembershipsAsc[0]}
	p1 := list(usermanagement.ListOrganizationMembershipsOpts{Limit: 2})
	if got := ids(p1); !reflect.DeepEqual(got, desc[0:2]) || p1.ListMetadata.Before != "" || p1.ListMetadata.After != desc[1] {
		t.Fatalf("page 1: %v %+v", got, p1.ListMetadata)
	}
	p2 := list(usermanagement.ListOrganizationMembershipsOpts{Limit: 2, After: p1.ListMetadata.After})
	if got := ids(p2); !reflect.DeepEqual(got, desc[2:4]) || p2.ListMetadata.Before != desc[2] || p2.ListMetadata.After != desc[3] {
		t.Fatalf("page 2: %v %+v", got, p2.ListMetadata)
	}
	p3 := list(usermanagement.ListOrganizationMembershipsOpts{Limit: 2, After: p2.ListMetadata.After})
	if got := ids(p3); !reflect.DeepEqual(got, desc[4:]) || p3.ListMetadata.Before != desc[4] || p3.ListMetadata.After != "" {
		t.Fatalf("page 3: %v %+v", got, p3.ListMetadata)
	}
	back := list(usermanagement.ListOrganizationMembershipsOpts{Limit: 2, Before: p3.ListMetadata.Before})
	if got := ids(back); !reflect.DeepEqual(got, desc[2:4]) || back.ListMetadata.Before != desc[2] || back.ListMetadata.After != desc[3] {
		t.Fatalf("back from page 3: %v %+v", got, back.ListMetadata)
	}
	back = list(usermanagement.ListOrganizationMembershipsOpts{Limit: 2, Before: back.ListMetadata.Before})
	if got := ids(back); !reflect.DeepEqual(got, desc[0:2]) || back.ListMetadata.Before != "" || back.ListMetadata.After != desc[1] {
		t.Fatalf("back to page 1: %v %+v", got, back.ListMetadata)
	}

	// Ascending, with a filter, a cursor that the filter excludes still positions the page.
	asc := list(usermanagement.ListOrganizationMembershipsOpts{Order: usermanagement.Asc, Limit: 10, OrganizationID: enginesID, After: seedMembershipsAsc[2]})
	if got := ids(asc); !reflect.DeepEqual(got, []string{seedMembershipsAsc[4]}) || asc.ListMetadata.Before != seedMembershipsAsc[4] {
		t.Fatalf("asc after a bletchley cursor: %v %+v", got, asc.ListMetadata)
	}

	// Invalid parameters and the bearer check.
	for _, opts := range []usermanagement.ListOrganizationMembershipsOpts{
		{Limit: 101},
		{Limit: -1},
		{Order: "sideways"},
		{Statuses: []usermanagement.OrganizationMembershipStatus{"gone"}},
		{After: "om_01NOPE"},
		{After: seedMembershipsAsc[0], Before: seedMembershipsAsc[1]},
	} {
		_, err := e.um.ListOrganizationMemberships(ctx, opts)
		httpErr(t, err, http.StatusUnprocessableEntity, "invalid_request_parameters")
	}
	_, err := e.client("").ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{})
	httpErr(t, err, http.StatusUnauthorized, "unauthorized")

	one, err := e.um.GetOrganizationMembership(ctx, usermanagement.GetOrganizationMembershipOpts{OrganizationMembership: seedMembershipsAsc[3]})
	if err != nil || one.UserID != alanID || one.Status != usermanagement.Inactive || one.Role.Slug != "member" {
		t.Fatalf("get membership: %v %+v", err, one)
	}
}

func TestGetOrganization(t *testing.T) {
	e := newEnv(t)
	c := &organizations.Client{APIKey: DefaultAPIKey, Endpoint: e.srv.URL, HTTPClient: e.srv.Client()}
	ctx := context.Background()
	o, err := c.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: enginesID})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != enginesID || o.Name != "Analytical Engines Ltd" || len(o.Domains) != 1 ||
		o.Domains[0].Domain != "engines.example.com" || o.Domains[0].OrganizationID != enginesID ||
		o.Domains[0].State != organizations.OrganizationDomainVerified || o.CreatedAt != "2024-01-05T09:00:00.000Z" {
		t.Fatalf("organization %+v", o)
	}
	_, err = c.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: "org_01NOPE"})
	httpErr(t, err, http.StatusNotFound, "not_found")
	bad := &organizations.Client{APIKey: "nope", Endpoint: e.srv.URL, HTTPClient: e.srv.Client()}
	_, err = bad.GetOrganization(ctx, organizations.GetOrganizationOpts{Organization: enginesID})
	httpErr(t, err, http.StatusUnauthorized, "unauthorized")
}

// Every JSON answer, errors included, is Content-Type: application/json with the right shape.
func TestErrorShapes(t *testing.T) {
	e := newEnv(t)
	bearer := "Bearer " + DefaultAPIKey
	cases := []struct {
		method, path, auth, body string
		status                   int
		code                     string
	}{
		{"GET", "/nope", "", "", 404, "not_found"},
		{"GET", "/", "", "", 404, "not_found"},
		{"GET", "//user_management/users/" + adaID, bearer, "", 404, "not_found"},
		{"GET", "/user_management/users/../users/" + adaID, bearer, "", 404, "not_found"},
		{"GET", "/user_management/users/" + adaID + "/extra", bearer, "", 404, "not_found"},
		{"GET", "/user_management/users/", bearer, "", 404, "not_found"},
		{"GET", "/user_management/users/" + adaID, "", "", 401, "unauthorized"},
		{"GET", "/user_management/users/" + adaID, "Basic " + DefaultAPIKey, "", 401, "unauthorized"},
		{"GET", "/user_management/users/" + adaID, "Bearer " + DefaultAPIKey + "x", "", 401, "unauthorized"},
		{"PATCH", "/user_management/users/" + adaID, bearer, "", 405, "method_not_allowed"},
		{"DELETE", "/user_management/users/user_01NOPE", bearer, "", 404, "not_found"},
		{"DELETE", "/user_management/users/" + adaID, "", "", 401, "unauthorized"},
		{"DELETE", "/user_management/organization_memberships/om_01NOPE", bearer, "", 404, "not_found"},
		{"PUT", "/user_management/organization_memberships/om_01NOPE/deactivate", bearer, "", 404, "not_found"},
		{"PUT", "/user_management/organization_memberships/" + seedMembershipsAsc[0] + "/archive", bearer, "", 404, "not_found"},
		{"POST", "/user_management/organization_memberships/" + seedMembershipsAsc[0] + "/deactivate", bearer, "", 405, "method_not_allowed"},
		{"DELETE", "/_emulator/users/" + adaID, "", "", 401, "unauthorized"},
		{"GET", "/_emulator/users/" + adaID, bearer, "", 405, "method_not_allowed"},
		{"DELETE", "/_emulator/users/user_01NOPE", bearer, "", 404, "not_found"},
		{"POST", "/_emulator/sessions/session_01NOPE/revoke", bearer, "", 404, "not_found"},
		{"POST", "/_emulator/nope", bearer, "", 404, "not_found"},
		{"GET", "/user_management/authenticate", "", "", 405, "method_not_allowed"},
		{"GET", "/sso/jwks/client_other", "", "", 404, "not_found"},
		{"GET", "/organizations/org_01NOPE", bearer, "", 404, "not_found"},
		{"GET", "/user_management/organization_memberships/om_01NOPE", bearer, "", 404, "not_found"},
		{"POST", "/user_management/sessions/revoke", bearer, "{", 400, "invalid_request"},
		{"POST", "/user_management/sessions/revoke", bearer, "{}", 422, "invalid_request_parameters"},
		{"POST", "/user_management/sessions/revoke", "", `{"session_id":"x"}`, 401, "unauthorized"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		p := e.do(req)
		if p.status != tc.status || p.header.Get("Content-Type") != "application/json" || p.header.Get("Location") != "" {
			t.Errorf("%s %s: status %d type %q location %q", tc.method, tc.path, p.status, p.header.Get("Content-Type"), p.header.Get("Location"))
			continue
		}
		var body map[string]string
		if err := json.Unmarshal([]byte(p.body), &body); err != nil || body["code"] != tc.code || body["message"] == "" || len(body) != 2 {
			t.Errorf("%s %s: body %s", tc.method, tc.path, p.body)
		}
	}
}

func TestSigningKeyPersists(t *testing.T) {
	dir := t.TempDir()
	e1 := newEnv(t, func(o *Options) { o.StateDir = dir })
	res, err := e1.authenticate(e1.signInAs(adaID, usermanagement.GetAuthorizationURLOpts{}), "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, SigningKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, info)
	}
	e1.srv.Close()

	e2 := newEnv(t, func(o *Options) { o.StateDir = dir })
	if e2.emu.KeyID() != e1.emu.KeyID() {
		t.Fatalf("kid changed across restarts: %s → %s", e1.emu.KeyID(), e2.emu.KeyID())
	}
	// A token from the first instance verifies against the second instance's JWKS.
	header, _ := verifyJWT(t, res.AccessToken, e2.jwks())
	if header["kid"] != e2.emu.KeyID() {
		t.Fatalf("kid %v", header["kid"])
	}

	// Another state directory means another key.
	e3 := newEnv(t)
	if e3.emu.KeyID() == e1.emu.KeyID() {
		t.Fatal("two state directories share a key")
	}

	// A corrupt key file is an error, not a silent new key.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, SigningKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{ClientID: "c", APIKey: "k", RedirectURIs: []string{testRedirect}, StateDir: bad}); err == nil {
		t.Fatal("corrupt key accepted")
	}
}

func TestNewValidatesOptions(t *testing.T) {
	dir := t.TempDir()
	ok := Options{ClientID: "c", APIKey: "k", RedirectURIs: []string{testRedirect}, StateDir: dir}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Options){
		"no client id":      func(o *Options) { o.ClientID = "" },
		"no api key":        func(o *Options) { o.APIKey = "" },
		"no state dir":      func(o *Options) { o.StateDir = "" },
		"no redirects":      func(o *Options) { o.RedirectURIs = nil },
		"relative":          func(o *Options) { o.RedirectURIs = []string{"/callback"} },
		"fragment":          func(o *Options) { o.RedirectURIs = []string{testRedirect + "#x"} },
		"http without host": func(o *Options) { o.RedirectURIs = []string{"http:///x"} },
		"bad return_to":     func(o *Options) { o.ReturnToURIs = []string{"nope"} },
		"bad seed":          func(o *Options) { o.Seed = Seed{Users: []SeedUser{{ID: "user_1", Email: "x"}}} },
	} {
		o := ok
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseSeed(t *testing.T) {
	data, err := os.ReadFile("../workos-seed.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSeed(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Users) < 3 || len(s.Organizations) != 2 {
		t.Fatalf("seed %d users %d orgs", len(s.Users), len(s.Organizations))
	}
	bad := map[string]string{
		"unknown field":    `{"users":[],"extra":1}`,
		"trailing":         `{} {}`,
		"duplicate email":  `{"users":[{"id":"user_1","email":"a@x.com"},{"id":"user_2","email":"A@x.com"}]}`,
		"bad user id":      `{"users":[{"id":"usr_1","email":"a@x.com"}]}`,
		"bad email":        `{"users":[{"id":"user_1","email":"Ann <a@x.com>"}]}`,
		"bad timestamp":    `{"users":[{"id":"user_1","email":"a@x.com","created_at":"yesterday"}]}`,
		"undeclared role":  `{"users":[{"id":"user_1","email":"a@x.com"}],"organizations":[{"id":"org_1","name":"O"}],"memberships":[{"id":"om_1","user_id":"user_1","organization_id":"org_1","role":"boss","status":"active"}]}`,
		"bad status":       `{"roles":[{"slug":"m"}],"users":[{"id":"user_1","email":"a@x.com"}],"organizations":[{"id":"org_1","name":"O"}],"memberships":[{"id":"om_1","user_id":"user_1","organization_id":"org_1","role":"m","status":"gone"}]}`,
		"dangling user":    `{"roles":[{"slug":"m"}],"organizations":[{"id":"org_1","name":"O"}],"memberships":[{"id":"om_1","user_id":"user_9","organization_id":"org_1","role":"m","status":"active"}]}`,
		"dangling conn":    `{"connections":[{"id":"conn_1","organization_id":"org_9"}]}`,
		"org without name": `{"organizations":[{"id":"org_1","name":" "}]}`,
	}
	for name, doc := range bad {
		if _, err := ParseSeed([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Hostile input gets a 4xx answer, never a 5xx or a dropped connection.
func TestHostileInput(t *testing.T) {
	e := newEnv(t)
	authorize := "/user_management/authorize"
	huge := strings.Repeat("a", 80<<10)
	cases := []struct{ method, path, contentType, body string }{
		{"GET", authorize + "?client_id=%zz", "", ""},
		{"GET", authorize + "?" + strings.Repeat("a=1&", 2000), "", ""},
		{"POST", authorizeCompletePath, "application/x-www-form-urlencoded", "action=" + huge},
		{"POST", authorizeCompletePath, "application/x-www-form-urlencoded", "%zz=%zz"},
		{"POST", authorizeCompletePath, "multipart/form-data; boundary=x", "--x--"},
		{"POST", authorizeCompletePath, "application/x-www-form-urlencoded", "client_id=" + DefaultClientID + "&redirect_uri=" + testRedirect + "&response_type=code&provider=authkit&action=email&email=%00%FF"},
		{"POST", authorizeCompletePath, "application/x-www-form-urlencoded", "client_id=" + DefaultClientID + "&redirect_uri=" + testRedirect + "&response_type=code&provider=authkit&action=signup&email=a%40b.example&first_name=%FF%FE"},
		{"POST", "/user_management/authenticate", "application/json", `{"client_id":{"$gt":""}}`},
		{"POST", "/user_management/authenticate", "application/json", strings.Repeat("[", 10000)},
		{"POST", "/user_management/authenticate", "application/x-www-form-urlencoded", "client_id=a&client_id=b"},
		{"GET", "/user_management/sessions/logout", "", ""},
		{"GET", "/user_management/sessions/logout?session_id=a&session_id=b", "", ""},
		{"GET", "/user_management/organization_memberships?limit=1e9", "", ""},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
		p := e.do(req)
		if p.status < 400 || p.status >= 500 || p.header.Get("Location") != "" {
			t.Errorf("%s %.60s: status %d location %q", tc.method, tc.path+" "+tc.body, p.status, p.header.Get("Location"))
		}
		if strings.Contains(p.body, "goroutine") || strings.Contains(p.body, "panic") {
			t.Errorf("%s %s: leaked internals: %.200s", tc.method, tc.path, p.body)
		}
	}
}
