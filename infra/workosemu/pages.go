package workosemu

import "html/template"

type field struct{ Name, Value string }

type userChoice struct{ ID, Name, Email string }

type orgChoice struct{ ID, Name, Role string }

// pageData feeds the one HTML template. Kind selects the page: signin, signup, organization,
// error or message. Every value is escaped by html/template.
type pageData struct {
	Kind      string
	Title     string
	Message   string
	Error     string
	Hidden    []field
	Users     []userChoice
	Orgs      []orgChoice
	OrgName   string
	UserID    string
	Email     string
	FirstName string
	LastName  string
	SignUpURL string
	SignInURL string
}

// The forms are stable so that scripts can drive them: every form posts to
// /user_management/authorize/complete with the authorize parameters as hidden fields and an
// `action` field (user, email, signup, organization, cancel).
var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · WorkOS emulator</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}
h1{font-size:1.4rem}form{margin:.5rem 0}button{width:100%;padding:.6rem;margin:.2rem 0;cursor:pointer}
input[type=email],input[type=text]{width:100%;padding:.5rem;box-sizing:border-box;margin:.2rem 0 .6rem}
.error{color:#a30000}.note{color:#555;font-size:.85rem}.muted{color:#555}
</style>
</head>
<body>
<p class="note">WorkOS emulator (local development only)</p>
{{- define "hidden"}}{{range .}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}{{end}}
{{- if eq .Kind "signin"}}
<h1>Sign in{{if .OrgName}} to {{.OrgName}}{{end}}</h1>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
{{range .Users}}<form method="post" action="/user_management/authorize/complete" id="user-{{.ID}}">{{template "hidden" $.Hidden}}
<input type="hidden" name="action" value="user">
<input type="hidden" name="user_id" value="{{.ID}}">
<button type="submit">{{.Name}} <span class="muted">&lt;{{.Email}}&gt;</span></button>
</form>
{{end}}<form method="post" action="/user_management/authorize/complete" id="email-form">{{template "hidden" .Hidden}}
<input type="hidden" name="action" value="email">
<label>Email <input type="email" name="email" value="{{.Email}}" autocomplete="email" required></label>
<button type="submit">Continue</button>
</form>
{{if .SignUpURL}}<p><a href="{{.SignUpURL}}" id="sign-up-link">Create an account</a></p>{{end}}
<form method="post" action="/user_management/authorize/complete" id="cancel-form">{{template "hidden" .Hidden}}
<input type="hidden" name="action" value="cancel">
<button type="submit">Cancel</button>
</form>
{{- else if eq .Kind "signup"}}
<h1>Create an account</h1>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/user_management/authorize/complete" id="signup-form">{{template "hidden" .Hidden}}
<input type="hidden" name="action" value="signup">
<label>Email <input type="email" name="email" value="{{.Email}}" autocomplete="email" required></label>
<label>First name <input type="text" name="first_name" value="{{.FirstName}}" maxlength="100"></label>
<label>Last name <input type="text" name="last_name" value="{{.LastName}}" maxlength="100"></label>
<button type="submit">Sign up</button>
</form>
<p><a href="{{.SignInURL}}" id="sign-in-link">Already have an account? Sign in</a></p>
{{- else if eq .Kind "organization"}}
<h1>Choose an organization</h1>
<p class="muted">Signing in as {{.Email}}</p>
{{range .Orgs}}<form method="post" action="/user_management/authorize/complete" id="org-{{.ID}}">{{template "hidden" $.Hidden}}
<input type="hidden" name="action" value="organization">
<input type="hidden" name="user_id" value="{{$.UserID}}">
<input type="hidden" name="selected_organization_id" value="{{.ID}}">
<button type="submit">{{.Name}} <span class="muted">({{.Role}})</span></button>
</form>
{{end}}
{{- else}}
<h1>{{.Title}}</h1>
<p{{if eq .Kind "error"}} class="error" id="error"{{end}}>{{.Message}}</p>
{{- end}}
</body>
</html>
`))
