package gateway

import (
	"fmt"
	"net/url"
	"strings"
)

// resourceNode is one resource of the REST API's resource tree. Like API Gateway, a
// level has literal children, at most one {param} child and at most one {proxy+} child.
type resourceNode struct {
	path       string
	literal    map[string]*resourceNode
	param      *resourceNode
	paramName  string
	greedy     *resourceNode
	greedyName string
	methods    map[string]*Route
}

func newResourceNode(path string) *resourceNode {
	return &resourceNode{path: path, literal: map[string]*resourceNode{}, methods: map[string]*Route{}}
}

// add puts a route into the API's resource tree, refusing what API Gateway refuses.
func (api *API) add(rt *Route) error {
	if !strings.HasPrefix(rt.Path, "/") {
		return fmt.Errorf("path %q must start with /", rt.Path)
	}
	switch rt.Method {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY":
	default:
		return fmt.Errorf("method %q is not an API Gateway method", rt.Method)
	}
	n := api.tree
	trimmed := strings.Trim(rt.Path, "/")
	var segs []string
	if trimmed != "" {
		segs = strings.Split(trimmed, "/")
	}
	for i, seg := range segs {
		child := n.path
		if !strings.HasSuffix(child, "/") {
			child += "/"
		}
		child += seg
		switch {
		case seg == "":
			return fmt.Errorf("path %q has an empty segment", rt.Path)
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}"):
			name := seg[1 : len(seg)-2]
			if i != len(segs)-1 {
				return fmt.Errorf("path %q: a greedy {%s+} must be the last segment", rt.Path, name)
			}
			if n.param != nil || (n.greedy != nil && n.greedyName != name) {
				return fmt.Errorf("path %q: another variable path part already exists at %s (API Gateway allows one)", rt.Path, n.path)
			}
			if n.greedy == nil {
				n.greedy, n.greedyName = newResourceNode(child), name
			}
			n = n.greedy
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			name := seg[1 : len(seg)-1]
			if n.greedy != nil || (n.param != nil && n.paramName != name) {
				return fmt.Errorf("path %q: another variable path part already exists at %s (API Gateway allows one)", rt.Path, n.path)
			}
			if n.param == nil {
				n.param, n.paramName = newResourceNode(child), name
			}
			n = n.param
		default:
			if strings.ContainsAny(seg, "{}") {
				return fmt.Errorf("path %q: segment %q mixes text and a variable", rt.Path, seg)
			}
			c, ok := n.literal[seg]
			if !ok {
				c = newResourceNode(child)
				n.literal[seg] = c
			}
			n = c
		}
	}
	if prev, ok := n.methods[rt.Method]; ok {
		return fmt.Errorf("%s %s is defined twice (events %s.%s and %s.%s)", rt.Method, rt.Path, prev.Function, prev.Event, rt.Function, rt.Event)
	}
	rt.Path = n.path
	n.methods[rt.Method] = rt
	api.Routes = append(api.Routes, rt)
	return nil
}

// match finds the resource for a request path (escaped, as on the wire) and the route
// for the method. Literal segments beat {param}, which beats {proxy+}; a branch that
// leads nowhere falls back to the next choice. It returns a nil route when no resource
// has a method for the path, and the resource's path parameters.
func (api *API) match(method, escapedPath string) (*Route, map[string]string) {
	rest := strings.TrimPrefix(escapedPath, "/")
	var segs []string
	if rest != "" {
		segs = strings.Split(rest, "/")
	}
	params := map[string]string{}
	n := matchNode(api.tree, segs, 0, params)
	if n == nil {
		return nil, nil
	}
	rt := n.methods[method]
	if rt == nil {
		rt = n.methods["ANY"]
	}
	if rt == nil {
		return nil, nil
	}
	if len(params) == 0 {
		params = nil
	}
	return rt, params
}

func matchNode(n *resourceNode, segs []string, i int, params map[string]string) *resourceNode {
	if i == len(segs) || (i == len(segs)-1 && segs[i] == "" && i > 0) { // end, or a trailing slash
		if len(n.methods) > 0 {
			return n
		}
		return nil
	}
	seg := segs[i]
	if c, ok := n.literal[unescape(seg)]; ok {
		if m := matchNode(c, segs, i+1, params); m != nil {
			return m
		}
	}
	if n.param != nil && seg != "" {
		params[n.paramName] = unescape(seg)
		if m := matchNode(n.param, segs, i+1, params); m != nil {
			return m
		}
		delete(params, n.paramName)
	}
	if n.greedy != nil && len(n.greedy.methods) > 0 && seg != "" {
		params[n.greedyName] = unescape(strings.Join(segs[i:], "/"))
		return n.greedy
	}
	return nil
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// FunctionFor returns the logical id of the function the API invokes for method and path
// (escaped, as on the wire, below the stage), or "" when no route matches: what the
// template checks compare the WAF rules against.
func (api *API) FunctionFor(method, escapedPath string) string {
	if rt, _ := api.match(method, escapedPath); rt != nil {
		return rt.Function
	}
	return ""
}
