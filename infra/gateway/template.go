package gateway

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/authbridge/authbridge/infra/samtemplate"
)

// Template is what the emulator reads from a SAM template: the functions (with their
// environment) and the REST APIs (routes, authorizers, gateway responses).
type Template struct {
	Functions map[string]*Function // by logical ID
	// API is the stack's main API: the only one, or the one mapped at the root of the
	// custom domain.
	API *API
	// APIs are all the template's APIs, by logical ID; with more than one, each is mapped
	// on the custom domain (API.BasePath).
	APIs map[string]*API
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// Name is the function's name (Ref of the function): AWS_LAMBDA_FUNCTION_NAME.
	Name string
	// Dir is the folder under functions/ that holds the function's main package and the
	// folder of its bootstrap under the local build directory (FunctionDir).
	Dir                 string
	Handler             string
	Timeout             time.Duration // default 3 s
	MemorySize          int           // MB, default 128
	ReservedConcurrency int           // ReservedConcurrentExecutions (0 when not set)
	// Env is Environment.Variables, Globals first, then the function's own.
	Env map[string]string
	// LambdaEnv holds the variables Lambda itself derives from the configuration
	// (LoggingConfig: AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL).
	LambdaEnv map[string]string
}

// API is the template's AWS::Serverless::Api.
type API struct {
	LogicalID string
	// ID is the REST API id (Ref of the API): apiId in events, methodArn.
	ID                string
	StageName         string
	Routes            []*Route
	Authorizers       map[string]*Authorizer
	DefaultAuthorizer string
	// GatewayResponses by type (UNAUTHORIZED, ACCESS_DENIED, ...).
	GatewayResponses map[string]*GatewayResponse
	// Variables are the stage variables (stageVariables in events; nil when none).
	Variables map[string]string
	// BasePath is the API's mapping on the custom domain without slashes ("mcp/crm"); ""
	// for the root, or when the template has no custom domain.
	BasePath string

	tree *resourceNode
}

// Route is one method on one resource path.
type Route struct {
	Method     string // GET, POST, ..., or ANY
	Path       string // resource path as in the template: /items/{id}, /files/{proxy+}
	Function   string // logical ID of the integration ("" for an HTTP proxy integration)
	Event      string // the event's name in the function's Events (or "DefinitionBody")
	Authorizer string // the authorizer's name; empty when the route is not protected
	// HTTP is the route's HTTP proxy integration (DefinitionBody), nil for a Lambda one.
	HTTP *HTTPIntegration
}

// Authorizer is a Lambda REQUEST authorizer from Auth.Authorizers whose identity sources
// are headers (Identity.Headers), or none (then ReauthorizeEvery is 0).
type Authorizer struct {
	Name     string
	Function string // logical ID
	Headers  []string
	// TTL is Identity.ReauthorizeEvery (default 300 s; 0 disables the cache).
	TTL time.Duration
}

// GatewayResponse customizes a gateway response type.
type GatewayResponse struct {
	StatusCode int               // 0: the type's default
	Headers    map[string]string // header name -> value (the static mapping value, unquoted)
	// Template is ResponseTemplates' application/json body ("" keeps the default body);
	// $context.authorizer.x, $context.requestId and $stageVariables.x are filled in.
	Template string
}

// Load reads a SAM template through samtemplate; params sets template parameters (the
// others take their Default).
func Load(path string, params map[string]string) (*Template, error) {
	st, err := samtemplate.Load(path, params)
	if err != nil {
		return nil, err
	}
	return fromSAM(st)
}

// Parse is Load for a template in memory; name is used in error messages.
func Parse(name string, data []byte, params map[string]string) (*Template, error) {
	st, err := samtemplate.Parse(name, data, params)
	if err != nil {
		return nil, err
	}
	return fromSAM(st)
}

func fromSAM(st *samtemplate.Template) (*Template, error) {
	t := &Template{Functions: map[string]*Function{}}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", st.Path, fmt.Sprintf(format, args...))
	}
	fns := st.CFN.GetAllServerlessFunctionResources()
	arns := map[string]string{} // function ARN -> logical ID, for authorizers
	for id, f := range fns {
		fn, err := function(st, id, f)
		if err != nil {
			return nil, fail("Resources.%s: %v", id, err)
		}
		t.Functions[id] = fn
		arn, _ := st.GetAtt(id, "Arn")
		arns[arn] = id
	}
	apiIDs := samtemplate.Sorted(st.CFN.GetAllServerlessApiResources())
	if len(apiIDs) == 0 {
		return nil, fail("no AWS::Serverless::Api (implicit APIs are not emulated)")
	}
	t.APIs = map[string]*API{}
	byID := map[string]*API{} // REST API id -> API
	for _, id := range apiIDs {
		api, err := newAPI(st, id, arns)
		if err != nil {
			return nil, fail("Resources.%s: %v", id, err)
		}
		t.APIs[id] = api
		byID[api.ID] = api
	}
	if err := t.mapAPIs(st, byID); err != nil {
		return nil, fail("%v", err)
	}
	for _, fnID := range samtemplate.Sorted(fns) {
		for _, name := range samtemplate.Sorted(fns[fnID].Events) {
			if err := t.event(byID, fnID, name, fns[fnID].Events[name]); err != nil {
				return nil, fail("Resources.%s.Properties.Events.%s: %v", fnID, name, err)
			}
		}
	}
	return t, nil
}

var kebabBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// FunctionDir is the folder name of a function's logical ID: TokenFunction -> token,
// ResourceMetadataFunction -> resource-metadata (the Makefile's build-%Function rule).
func FunctionDir(logicalID string) string {
	base := strings.TrimSuffix(logicalID, "Function")
	if base == "" {
		base = logicalID
	}
	return strings.ToLower(kebabBoundary.ReplaceAllString(base, "${1}-${2}"))
}

func function(st *samtemplate.Template, id string, f *serverless.Function) (*Function, error) {
	name, err := st.Ref(id)
	if err != nil {
		return nil, err
	}
	fn := &Function{LogicalID: id, Name: name, Dir: FunctionDir(id), Timeout: 3 * time.Second, MemorySize: 128,
		Env: map[string]string{}, LambdaEnv: map[string]string{}}
	if f.Handler != nil {
		fn.Handler = *f.Handler
	}
	if f.Timeout != nil {
		fn.Timeout = time.Duration(*f.Timeout) * time.Second
	}
	if f.MemorySize != nil {
		fn.MemorySize = *f.MemorySize
	}
	if f.ReservedConcurrentExecutions != nil {
		fn.ReservedConcurrency = *f.ReservedConcurrentExecutions
	}
	if f.Environment != nil {
		for k, v := range f.Environment.Variables {
			fn.Env[k] = v
		}
	}
	// Lambda sets AWS_LAMBDA_LOG_FORMAT, and with JSON AWS_LAMBDA_LOG_LEVEL, from
	// LoggingConfig (Lambda docs: "Configuring advanced logging controls").
	lc, _ := st.Props(id)["LoggingConfig"].(map[string]any)
	if format, ok := lc["LogFormat"].(string); ok {
		fn.LambdaEnv["AWS_LAMBDA_LOG_FORMAT"] = format
		if lvl, ok := lc["ApplicationLogLevel"].(string); ok && format == "JSON" {
			fn.LambdaEnv["AWS_LAMBDA_LOG_LEVEL"] = lvl
		}
	}
	return fn, nil
}

func newAPI(st *samtemplate.Template, id string, functionARNs map[string]string) (*API, error) {
	apiID, err := st.Ref(id)
	if err != nil {
		return nil, err
	}
	props := st.Props(id)
	api := &API{LogicalID: id, ID: apiID, StageName: samtemplate.Scalar(props["StageName"]),
		Authorizers: map[string]*Authorizer{}, GatewayResponses: map[string]*GatewayResponse{}, tree: newResourceNode("/")}
	if api.StageName == "" {
		return nil, fmt.Errorf("StageName is required")
	}
	for _, k := range []string{"Cors", "BinaryMediaTypes", "DefinitionUri"} {
		if _, ok := props[k]; ok {
			return nil, fmt.Errorf("%s is not emulated", k)
		}
	}
	if vars, ok := props["Variables"].(map[string]any); ok && len(vars) > 0 {
		api.Variables = map[string]string{}
		for k, v := range vars {
			api.Variables[k] = samtemplate.Scalar(v)
		}
	}
	responses, _ := props["GatewayResponses"].(map[string]any)
	for _, typ := range samtemplate.Sorted(responses) {
		gr, err := gatewayResponse(typ, responses[typ])
		if err != nil {
			return nil, fmt.Errorf("GatewayResponses.%s: %v", typ, err)
		}
		api.GatewayResponses[typ] = gr
	}
	auth, _ := props["Auth"].(map[string]any)
	authorizers, _ := auth["Authorizers"].(map[string]any)
	for _, name := range samtemplate.Sorted(authorizers) {
		a, err := authorizer(name, authorizers[name], functionARNs)
		if err != nil {
			return nil, fmt.Errorf("Auth.Authorizers.%s: %v", name, err)
		}
		api.Authorizers[name] = a
	}
	if d := samtemplate.Scalar(auth["DefaultAuthorizer"]); d != "" && d != "NONE" {
		if api.Authorizers[d] == nil {
			return nil, fmt.Errorf("Auth.DefaultAuthorizer: no authorizer %q in Auth.Authorizers", d)
		}
		api.DefaultAuthorizer = d
	}
	if body, ok := props["DefinitionBody"]; ok {
		if err := api.definitionBody(body); err != nil {
			return nil, fmt.Errorf("DefinitionBody: %v", err)
		}
	}
	return api, nil
}

// mapAPIs reads the custom domain's API mappings (AWS::ApiGateway::BasePathMapping and
// AWS::ApiGatewayV2::ApiMapping). One API and no mapping: it is served at the root.
// Several APIs: each must be mapped (the local stack plays the custom domain), one at
// the root.
func (t *Template) mapAPIs(st *samtemplate.Template, byID map[string]*API) error {
	mapped := map[string]bool{}
	domains := map[string]bool{}
	add := func(id, apiID, basePath, domain string) error {
		api := byID[apiID]
		if api == nil {
			return fmt.Errorf("%s: %q is not an AWS::Serverless::Api of this template", "Resources."+id, apiID)
		}
		if mapped[api.LogicalID] {
			return fmt.Errorf("%s: %s is mapped twice (one mapping per API is emulated)", "Resources."+id, api.LogicalID)
		}
		basePath = strings.Trim(basePath, "/")
		if basePath == "(none)" {
			basePath = ""
		}
		for _, other := range t.APIs {
			if mapped[other.LogicalID] && other.BasePath == basePath {
				return fmt.Errorf("%s: base path %q is mapped twice", "Resources."+id, basePath)
			}
		}
		mapped[api.LogicalID], domains[domain] = true, true
		api.BasePath = basePath
		if basePath == "" {
			t.API = api
		}
		return nil
	}
	for id, r := range samtemplate.Resources(st.Doc, "AWS::ApiGateway::BasePathMapping") {
		p, _ := r["Properties"].(map[string]any)
		if err := add(id, samtemplate.Scalar(p["RestApiId"]), samtemplate.Scalar(p["BasePath"]), samtemplate.Scalar(p["DomainName"])); err != nil {
			return err
		}
	}
	for id, r := range samtemplate.Resources(st.Doc, "AWS::ApiGatewayV2::ApiMapping") {
		p, _ := r["Properties"].(map[string]any)
		if err := add(id, samtemplate.Scalar(p["ApiId"]), samtemplate.Scalar(p["ApiMappingKey"]), samtemplate.Scalar(p["DomainName"])); err != nil {
			return err
		}
	}
	if len(domains) > 1 {
		return fmt.Errorf("API mappings on %d custom domains: one is emulated", len(domains))
	}
	if len(mapped) == 0 {
		if len(t.APIs) != 1 {
			return fmt.Errorf("%d AWS::Serverless::Api %v and no API mapping: several APIs are emulated only as mappings on a custom domain", len(t.APIs), samtemplate.Sorted(t.APIs))
		}
		for _, api := range t.APIs {
			t.API = api
		}
		return nil
	}
	for _, id := range samtemplate.Sorted(t.APIs) {
		if !mapped[id] {
			return fmt.Errorf("%s has no API mapping on the custom domain (not emulated)", "Resources."+id)
		}
	}
	if t.API == nil {
		return fmt.Errorf("no API is mapped at the root of the custom domain")
	}
	return nil
}

// authorizer reads a SAM Lambda authorizer. Only what the project's template uses is
// emulated: REQUEST authorizers with header identity sources, or none without a cache.
func authorizer(name string, v any, functionARNs map[string]string) (*Authorizer, error) {
	def, _ := v.(map[string]any)
	if def["FunctionPayloadType"] != "REQUEST" {
		return nil, fmt.Errorf("only REQUEST authorizers (FunctionPayloadType: REQUEST) are emulated")
	}
	arn := samtemplate.Scalar(def["FunctionArn"])
	fn, ok := functionARNs[arn]
	if !ok {
		return nil, fmt.Errorf("FunctionArn %q is not the Arn of a function in this template (use !GetAtt <Function>.Arn)", arn)
	}
	a := &Authorizer{Name: name, Function: fn, TTL: 300 * time.Second}
	identity, _ := def["Identity"].(map[string]any)
	for k, v := range identity {
		switch k {
		case "Headers":
			a.Headers = samtemplate.Strings(v)
		case "ReauthorizeEvery":
			n, err := strconv.Atoi(samtemplate.Scalar(v))
			if err != nil || n < 0 || n > 3600 {
				return nil, fmt.Errorf("authorizer Identity.ReauthorizeEvery: want 0 to 3600 seconds, got %v", v)
			}
			a.TTL = time.Duration(n) * time.Second
		default:
			return nil, fmt.Errorf("authorizer Identity.%s is not emulated (only Headers and ReauthorizeEvery)", k)
		}
	}
	// SAM (and API Gateway: identitySource is required only with caching) accepts a REQUEST
	// authorizer without identity sources when ReauthorizeEvery is 0: it is invoked for every
	// request, with or without credentials.
	if len(a.Headers) == 0 && a.TTL > 0 {
		return nil, fmt.Errorf("authorizer Identity.Headers is required unless ReauthorizeEvery is 0 (API Gateway caches by identity source)")
	}
	return a, nil
}

// gatewayResponse reads a SAM gateway response: a status code and headers with static
// values ("'value'"), the only mapping the template uses.
func gatewayResponse(typ string, v any) (*GatewayResponse, error) {
	if _, ok := defaultResponses[typ]; !ok || typ == respLambdaError {
		return nil, fmt.Errorf("the emulator never answers with this type")
	}
	m, _ := v.(map[string]any)
	gr := &GatewayResponse{Headers: map[string]string{}}
	for k, val := range m {
		switch k {
		case "StatusCode":
			n, err := strconv.Atoi(samtemplate.Scalar(val))
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("StatusCode %v is not an HTTP status", val)
			}
			gr.StatusCode = n
		case "ResponseParameters":
			headers, _ := samtemplate.Get(val, "Headers").(map[string]any)
			for h, hv := range headers {
				s := samtemplate.Scalar(hv)
				if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
					return nil, fmt.Errorf("ResponseParameters.Headers.%s: %q: only static values in single quotes are emulated", h, s)
				}
				gr.Headers[h] = s[1 : len(s)-1]
			}
		case "ResponseTemplates":
			tm, _ := val.(map[string]any)
			for ct, body := range tm {
				if ct != "application/json" {
					return nil, fmt.Errorf("ResponseTemplates.%s: only application/json is emulated", ct)
				}
				gr.Template = samtemplate.Scalar(body)
				if bad := unknownTemplateVars(gr.Template); len(bad) > 0 {
					return nil, fmt.Errorf("ResponseTemplates.%s: %v not emulated (only $context.authorizer.*, $context.requestId, $stageVariables.*)", ct, bad)
				}
			}
		default:
			return nil, fmt.Errorf("%s is not emulated", k)
		}
	}
	return gr, nil
}

func (t *Template) event(byID map[string]*API, fn, name string, ev serverless.Function_EventSource) error {
	if ev.Type != "Api" {
		return nil
	}
	if ev.Properties == nil || ev.Properties.ApiEvent == nil {
		return fmt.Errorf("an Api event needs Path and Method")
	}
	e := ev.Properties.ApiEvent
	var api *API
	if e.RestApiId != nil {
		api = byID[*e.RestApiId]
	}
	if api == nil {
		return fmt.Errorf("RestApiId must be !Ref of an AWS::Serverless::Api of this template (implicit APIs are not emulated)")
	}
	rt := &Route{Method: strings.ToUpper(e.Method), Path: e.Path, Function: fn, Event: name, Authorizer: api.DefaultAuthorizer}
	if e.Auth != nil && e.Auth.Authorizer != nil {
		switch a := *e.Auth.Authorizer; {
		case a == "NONE":
			rt.Authorizer = ""
		case api.Authorizers[a] == nil:
			return fmt.Errorf("Auth.Authorizer: no authorizer %q on %s", a, api.LogicalID)
		default:
			rt.Authorizer = a
		}
	}
	return api.add(rt)
}
