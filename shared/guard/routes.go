package guard

import (
	"errors"
	"net/url"
	"sort"
	"strings"

	"github.com/authbridge/authbridge/shared/oauth"
)

// Route is a protected route of the API and the resource its tokens must be issued for.
type Route struct {
	// Path is the route's path relative to the API root (below the stage or the custom
	// domain's base path), e.g. "/mcp". It covers Path itself and everything below it.
	Path string
	// Resource is the canonical RFC 8707 resource URI, e.g. "https://auth.example.com/mcp":
	// the audience a token needs on this route (RFC 9068 §4, MCP: tokens issued for itself).
	Resource string
}

// Routes maps API paths to protected resources, longest path first.
type Routes []Route

// NewRoutes derives a route for each protected resource (canonical form, as config holds
// them) that this API serves, from its path relative to the issuer's: with the issuer
// https://h/Prod (a stage URL) the resource https://h/Prod/mcp is the route /mcp, as is
// https://auth.example.com/mcp under the issuer https://auth.example.com. A resource on
// another origin (companion mode: an MCP server on another host that validates Authbridge's
// tokens itself, by introspection) is no route of this API: tokens issued for it must never
// open a route of Authbridge's own.
func NewRoutes(issuer string, resources []string) Routes {
	iu, _ := url.Parse(issuer)
	var rs Routes
	for _, res := range resources {
		u, err := url.Parse(res)
		if err != nil || iu == nil || !oauth.SameOrigin(issuer, res) {
			continue
		}
		p := u.Path
		if rel, ok := strings.CutPrefix(p, iu.Path); ok && (rel == "" || rel[0] == '/') {
			p = rel
		}
		if p == "" {
			p = "/"
		}
		rs = append(rs, Route{Path: p, Resource: res})
	}
	sort.SliceStable(rs, func(i, j int) bool { return len(rs[i].Path) > len(rs[j].Path) })
	return rs
}

// ForPath returns the route that covers path: the longest route path equal to it or a
// parent of it on a segment boundary ("/mcp" covers "/mcp" and "/mcp/x", not "/mcpx").
func (rs Routes) ForPath(path string) (Route, bool) {
	for _, r := range rs {
		if r.Path == "/" || path == r.Path || strings.HasPrefix(path, r.Path) && path[len(r.Path)] == '/' {
			return r, true
		}
	}
	return Route{}, false
}

// MethodARN is the methodArn API Gateway gives a REQUEST authorizer:
// arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{resource path}.
type MethodARN struct {
	Stage  string // arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}
	Method string // GET, POST, …
	Path   string // the request's resource path, with a leading "/"
}

// ParseMethodARN splits a methodArn into its stage ARN, method and path (without allocating:
// the parts are substrings of arn).
func ParseMethodARN(arn string) (MethodARN, error) {
	// arn : partition : execute-api : region : account : apiId/stage/method/path
	colon := 0
	i := 0
	for ; i < len(arn) && colon < 5; i++ {
		if arn[i] == ':' {
			colon++
		}
	}
	if colon != 5 || !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn[:i], ":execute-api:") {
		return MethodARN{}, errors.New("guard: methodArn is not an execute-api ARN")
	}
	rest := arn[i:] // apiId/stage/method[/path]
	api, rest, ok1 := strings.Cut(rest, "/")
	stage, rest, ok2 := strings.Cut(rest, "/")
	method, path, hasPath := strings.Cut(rest, "/")
	if !ok1 || !ok2 || api == "" || stage == "" || method == "" {
		return MethodARN{}, errors.New("guard: methodArn has no api id, stage and method")
	}
	m := MethodARN{Stage: arn[:i+len(api)+1+len(stage)], Method: method, Path: "/"}
	if hasPath {
		m.Path = arn[len(arn)-len(path)-1:] // keeps the "/" before the path
	}
	return m, nil
}

// policyMethods are the HTTP methods a policy names explicitly. In execute-api policy
// resources "*" also matches "/", so "{stage}/*/mcp" would cover "GET/other/mcp" too.
var policyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// policyResources lists the execute-api resources of every method on the route and below
// it, in one stage. Were API Gateway to cache a policy (per identity source: front doors),
// it would apply it to every route behind the authorizer, so it covers the whole route, and
// only the route whose resource the token was verified for.
func policyResources(stage string, r Route) []string {
	p := strings.TrimPrefix(r.Path, "/")
	out := make([]string, 0, 2*len(policyMethods))
	for _, m := range policyMethods {
		if p == "" {
			out = append(out, stage+"/"+m+"/*")
			continue
		}
		out = append(out, stage+"/"+m+"/"+p, stage+"/"+m+"/"+p+"/*")
	}
	return out
}
