package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/authbridge/authbridge/infra/samtemplate"
)

// HTTPIntegration is an OpenAPI x-amazon-apigateway-integration of type http_proxy
// ("x-amazon-apigateway-integration object" in the API Gateway developer guide).
type HTTPIntegration struct {
	// URI is the upstream URL, with {name} placeholders filled from
	// integration.request.path.name mappings.
	URI string
	// Method is httpMethod: ANY forwards the client's method.
	Method string
	// Timeout is timeoutInMillis (default 29 s).
	Timeout time.Duration
	// Stream is responseTransferMode STREAM: the response is passed on as it arrives.
	Stream bool
	// Params are requestParameters, in a stable order.
	Params []ParamMapping
}

// ParamMapping is one requestParameters entry: integration.request.<Kind>.<Name> from
// Source (method.request.path|header|querystring.x, context.authorizer.x, context.x,
// stageVariables.x or a 'static' value).
type ParamMapping struct {
	Kind   string // header, path or querystring
	Name   string
	Source string
}

// Streaming limits of REST APIs ("Stream the integration response for your proxy
// integrations", response-transfer-mode.html): "You can stream your response for up to 15
// minutes." and "For Regional or private endpoints, the timeout is 5 minutes." (idle).
const (
	streamMaxDuration = 15 * time.Minute
	streamIdleTimeout = 5 * time.Minute
)

var (
	uriPlaceholder = regexp.MustCompile(`\{([A-Za-z0-9_.-]+)\}`)
	// templateVar is a $variable in a gateway response template.
	templateVar = regexp.MustCompile(`\$(context\.authorizer\.[A-Za-z0-9_]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+|[A-Za-z][A-Za-z0-9_.]*)`)
)

// unknownTemplateVars lists the variables of a gateway response template the emulator
// does not fill in.
func unknownTemplateVars(tmpl string) []string {
	var bad []string
	for _, m := range templateVar.FindAllStringSubmatch(tmpl, -1) {
		v := m[1]
		if strings.HasPrefix(v, "context.authorizer.") || strings.HasPrefix(v, "stageVariables.") || v == "context.requestId" {
			continue
		}
		bad = append(bad, "$"+v)
	}
	return bad
}

// renderTemplate fills a gateway response template in: a missing value is empty.
func renderTemplate(tmpl string, rc *reqCtx) string {
	return templateVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		v := m[1:]
		switch {
		case strings.HasPrefix(v, "context.authorizer."):
			return samtemplate.Scalar(rc.authCtx[strings.TrimPrefix(v, "context.authorizer.")])
		case strings.HasPrefix(v, "stageVariables."):
			return rc.api.Variables[strings.TrimPrefix(v, "stageVariables.")]
		case v == "context.requestId":
			return rc.requestID
		}
		return ""
	})
}

// definitionBody reads an OpenAPI DefinitionBody whose operations are HTTP proxy
// integrations; anything else in it is refused.
func (api *API) definitionBody(v any) error {
	body, ok := v.(map[string]any)
	if !ok {
		return errors.New("want an OpenAPI object")
	}
	for k := range body {
		switch k {
		case "openapi", "swagger", "info", "paths":
		default:
			return fmt.Errorf("%s is not emulated (only openapi, info and paths)", k)
		}
	}
	paths, _ := body["paths"].(map[string]any)
	if len(paths) == 0 {
		return errors.New("no paths")
	}
	for _, path := range samtemplate.Sorted(paths) {
		ops, _ := paths[path].(map[string]any)
		for _, key := range samtemplate.Sorted(ops) {
			method := strings.ToUpper(key)
			if key == "x-amazon-apigateway-any-method" {
				method = "ANY"
			}
			op, _ := ops[key].(map[string]any)
			in, err := httpOperation(path, op)
			if err != nil {
				return fmt.Errorf("paths.%s.%s: %v", path, key, err)
			}
			rt := &Route{Method: method, Path: path, Event: "DefinitionBody", Authorizer: api.DefaultAuthorizer, HTTP: in}
			if err := api.add(rt); err != nil {
				return fmt.Errorf("paths.%s.%s: %v", path, key, err)
			}
		}
	}
	return nil
}

func httpOperation(path string, op map[string]any) (*HTTPIntegration, error) {
	declared := map[string]bool{} // method request parameters: "path.proxy", "header.x-foo"
	for k, v := range op {
		switch k {
		case "x-amazon-apigateway-integration", "summary", "description", "operationId", "responses":
		case "parameters":
			list, _ := v.([]any)
			for _, p := range list {
				in, name := samtemplate.Scalar(samtemplate.Get(p, "in")), samtemplate.Scalar(samtemplate.Get(p, "name"))
				if in == "query" {
					in = "querystring"
				}
				if in == "header" {
					name = strings.ToLower(name)
				}
				declared[in+"."+name] = true
			}
		default:
			// security and the like: SAM writes them from Auth; in the template they are not
			// emulated.
			return nil, fmt.Errorf("%s is not emulated", k)
		}
	}
	ig, _ := op["x-amazon-apigateway-integration"].(map[string]any)
	if ig == nil {
		return nil, errors.New("no x-amazon-apigateway-integration")
	}
	in := &HTTPIntegration{Timeout: DefaultIntegrationTimeout}
	for k, v := range ig {
		s := samtemplate.Scalar(v)
		switch k {
		case "type":
			if !strings.EqualFold(s, "http_proxy") {
				return nil, fmt.Errorf("integration type %q is not emulated in a DefinitionBody (only http_proxy)", s)
			}
		case "httpMethod":
			in.Method = strings.ToUpper(s)
		case "uri":
			in.URI = s
		case "passthroughBehavior":
			// No request templates: every body passes through.
		case "timeoutInMillis":
			n, err := strconv.Atoi(s)
			if err != nil || n < 50 {
				return nil, fmt.Errorf("timeoutInMillis %v: want 50 or more milliseconds", v)
			}
			in.Timeout = time.Duration(n) * time.Millisecond
		case "responseTransferMode":
			switch s {
			case "STREAM":
				in.Stream = true
			case "BUFFERED":
			default:
				return nil, fmt.Errorf("responseTransferMode %q: want STREAM or BUFFERED", s)
			}
		case "requestParameters":
			m, _ := v.(map[string]any)
			for _, target := range samtemplate.Sorted(m) {
				pm, err := paramMapping(path, target, samtemplate.Scalar(m[target]), declared)
				if err != nil {
					return nil, fmt.Errorf("requestParameters.%s: %v", target, err)
				}
				in.Params = append(in.Params, pm)
			}
		default:
			return nil, fmt.Errorf("x-amazon-apigateway-integration.%s is not emulated", k)
		}
	}
	// "Custom timeout between 50 and 29,000 milliseconds" (API_Integration.html), up to
	// 15 minutes when the response streams (response-streaming-http.html).
	if max := DefaultIntegrationTimeout; !in.Stream && in.Timeout > max || in.Stream && in.Timeout > streamMaxDuration {
		return nil, fmt.Errorf("timeoutInMillis %d is above API Gateway's limit", in.Timeout.Milliseconds())
	}
	switch in.Method {
	case "ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
	default:
		return nil, fmt.Errorf("httpMethod %q", in.Method)
	}
	u, err := url.Parse(uriPlaceholder.ReplaceAllString(in.URI, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("uri %q is not an http(s) URL", in.URI)
	}
	for _, m := range uriPlaceholder.FindAllStringSubmatch(in.URI, -1) {
		found := false
		for _, p := range in.Params {
			found = found || p.Kind == "path" && p.Name == m[1]
		}
		if !found {
			return nil, fmt.Errorf("uri %q: {%s} has no integration.request.path.%s mapping", in.URI, m[1], m[1])
		}
	}
	return in, nil
}

// paramMapping reads one requestParameters entry ("Data sources available for parameter
// mapping", rest-api-parameter-mapping-sources.html).
func paramMapping(path, target, source string, declared map[string]bool) (ParamMapping, error) {
	rest, ok := strings.CutPrefix(target, "integration.request.")
	kind, name, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || name == "" || (kind != "header" && kind != "path" && kind != "querystring") {
		return ParamMapping{}, errors.New("want integration.request.header|path|querystring.<name>")
	}
	pm := ParamMapping{Kind: kind, Name: name, Source: source}
	switch {
	case len(source) >= 2 && source[0] == '\'' && source[len(source)-1] == '\'':
	case strings.HasPrefix(source, "context.authorizer.") && len(source) > len("context.authorizer."):
	case strings.HasPrefix(source, "stageVariables."):
	case source == "context.requestId", source == "context.httpMethod", source == "context.resourcePath", source == "context.stage", source == "context.apiId", source == "context.identity.sourceIp":
	case strings.HasPrefix(source, "method.request."):
		srcKind, srcName, _ := strings.Cut(strings.TrimPrefix(source, "method.request."), ".")
		key := srcKind + "." + srcName
		if srcKind == "header" {
			key = srcKind + "." + strings.ToLower(srcName)
		}
		if srcKind == "path" && !strings.Contains(path, "{"+srcName+"}") && !strings.Contains(path, "{"+srcName+"+}") {
			return ParamMapping{}, fmt.Errorf("%s: the path %s has no {%s}", source, path, srcName)
		}
		// "The method request parameters must be defined before being referenced."
		// (api-gateway-swagger-extensions-integration-requestParameters.html)
		if !declared[key] {
			return ParamMapping{}, fmt.Errorf("%s is not declared in the operation's parameters", source)
		}
	default:
		return ParamMapping{}, fmt.Errorf("source %q is not emulated", source)
	}
	return pm, nil
}

// paramValue is a mapping source's value for this request ("" when it has none).
func (rc *reqCtx) paramValue(source string) string {
	switch {
	case source[0] == '\'':
		return source[1 : len(source)-1]
	case strings.HasPrefix(source, "context.authorizer."):
		return samtemplate.Scalar(rc.authCtx[strings.TrimPrefix(source, "context.authorizer.")])
	case strings.HasPrefix(source, "stageVariables."):
		return rc.api.Variables[strings.TrimPrefix(source, "stageVariables.")]
	case strings.HasPrefix(source, "method.request.path."):
		return rc.pathParams[strings.TrimPrefix(source, "method.request.path.")]
	case strings.HasPrefix(source, "method.request.header."):
		return rc.header(strings.TrimPrefix(source, "method.request.header."))
	case strings.HasPrefix(source, "method.request.querystring."):
		return rc.query[strings.TrimPrefix(source, "method.request.querystring.")]
	}
	switch source {
	case "context.requestId":
		return rc.requestID
	case "context.httpMethod":
		return rc.r.Method
	case "context.resourcePath":
		return rc.route.Path
	case "context.stage":
		return rc.api.StageName
	case "context.apiId":
		return rc.api.ID
	case "context.identity.sourceIp":
		return rc.sourceIP
	}
	return ""
}

// hopByHop are the headers a proxy does not forward (RFC 9110 §7.6.1), besides those the
// Connection header names.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func dropHopByHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// upstreamClient calls upstreams: no proxy from the environment, no redirect following
// (a 3xx goes back to the client), no transparent decompression.
var upstreamClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 nil,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// integrateHTTP forwards the request to the route's HTTP proxy integration.
func (h *Handler) integrateHTTP(w http.ResponseWriter, rc *reqCtx) int {
	in := rc.route.HTTP
	uri := in.URI
	out := http.Header{}
	for k, vs := range rc.r.Header {
		out[k] = append([]string(nil), vs...)
	}
	dropHopByHop(out)
	out.Del("Host")
	out.Set("X-Forwarded-For", rc.headers["X-Forwarded-For"])
	out.Set("X-Amzn-Trace-Id", rc.traceID)
	query := rc.r.URL.Query()
	for _, p := range in.Params {
		v := rc.paramValue(p.Source)
		switch p.Kind {
		case "path":
			// A greedy {proxy+} value keeps its slashes; each segment is escaped again.
			segs := strings.Split(v, "/")
			for i := range segs {
				segs[i] = url.PathEscape(segs[i])
			}
			uri = strings.ReplaceAll(uri, "{"+p.Name+"}", strings.Join(segs, "/"))
		case "header":
			// A mapped header replaces the client's header of that name, and an empty value
			// removes it: the behaviour the front doors rely on, not documented by AWS
			// (see doc.go).
			if v == "" {
				out.Del(p.Name)
			} else {
				out.Set(p.Name, v)
			}
		case "querystring":
			if v == "" {
				query.Del(p.Name)
			} else {
				query.Set(p.Name, v)
			}
		}
	}
	if q := query.Encode(); q != "" {
		uri += "?" + q
	}
	method := in.Method
	if method == "ANY" {
		method = rc.r.Method
	}

	// Until the response headers arrive (and, buffered, the whole body), timeoutInMillis
	// applies; a streamed body then has up to 15 minutes, and 5 minutes of silence at most.
	ctx, cancel := context.WithCancelCause(rc.r.Context())
	defer cancel(nil)
	errTimeout := errors.New("integration timeout")
	timer := time.AfterFunc(in.Timeout, func() { cancel(errTimeout) })
	defer timer.Stop()
	var body io.Reader
	if len(rc.body) > 0 {
		body = bytes.NewReader(rc.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, uri, body)
	if err != nil {
		h.log.Error("building the integration request", "uri", uri, "err", err)
		return h.gatewayResponse(w, rc, respIntegrationFailure)
	}
	req.Header = out
	start := time.Now()
	resp, err := upstreamClient.Do(req)
	fail := func(err error) int {
		switch {
		case rc.r.Context().Err() != nil:
			return 499
		case errors.Is(context.Cause(ctx), errTimeout):
			h.log.Warn("integration timed out", "uri", in.URI, "timeout", in.Timeout)
			return h.gatewayResponse(w, rc, respIntegrationTimeout)
		}
		h.log.Warn("integration failed", "uri", in.URI, "err", err)
		return h.gatewayResponse(w, rc, respIntegrationFailure)
	}
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	hdr := w.Header()
	for k, vs := range resp.Header {
		hdr[k] = vs
	}
	dropHopByHop(hdr)
	h.commonHeaders(hdr, rc)
	h.log.Debug("integration answered", "uri", in.URI, "status", resp.StatusCode, "ms", time.Since(start).Milliseconds())

	if !in.Stream {
		// BUFFERED: "API Gateway waits to receive the complete response before beginning
		// transmission" (response-transfer-mode.html), under the timeout and 10 MB.
		b, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxBodyBytes+1))
		if err != nil {
			return fail(err)
		}
		if len(b) > DefaultMaxBodyBytes {
			h.log.Warn("integration response over 10 MB", "uri", in.URI)
			for k := range hdr {
				delete(hdr, k)
			}
			return h.gatewayResponse(w, rc, respIntegrationFailure)
		}
		hdr.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
		return resp.StatusCode
	}

	// STREAM: status and headers once they are all in, then every chunk as it arrives.
	timer.Stop()
	total := time.AfterFunc(streamMaxDuration, func() { cancel(errTimeout) })
	defer total.Stop()
	idle := time.AfterFunc(streamIdleTimeout, func() { cancel(errTimeout) })
	defer idle.Stop()
	hdr.Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			idle.Reset(streamIdleTimeout)
			if _, werr := w.Write(buf[:n]); werr != nil {
				return resp.StatusCode
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && rc.r.Context().Err() == nil {
				h.log.Warn("integration stream ended", "uri", in.URI, "err", err, "cause", context.Cause(ctx))
			}
			return resp.StatusCode
		}
	}
}
