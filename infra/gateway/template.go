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
// environment) and the REST API (routes, authorizers, gateway responses).
type Template struct {
	Functions map[string]*Function // by logical ID
	API       *API
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

	tree *resourceNode
}

// Route is one method on one resource path.
type Route struct {
	Method     string // GET, POST, ..., or ANY
	Path       string // resource path as in the template: /items/{id}, /files/{proxy+}
	Function   string // logical ID of the integration
	Event      string // the event's name in the function's Events
	Authorizer string // the authorizer's name; empty when the route is not protected
}

// Authorizer is a Lambda REQUEST authorizer from Auth.Authorizers whose identity sources
// are headers (Identity.Headers).
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
	apis := samtemplate.Sorted(st.CFN.GetAllServerlessApiResources())
	if len(apis) != 1 {
		return nil, fail("want one AWS::Serverless::Api, found %d %v (implicit APIs are not emulated)", len(apis), apis)
	}
	id := apis[0]
	api, err := newAPI(st, id, arns)
	if err != nil {
		return nil, fail("Resources.%s: %v", id, err)
	}
	t.API = api
	for _, fnID := range samtemplate.Sorted(fns) {
		for _, name := range samtemplate.Sorted(fns[fnID].Events) {
			if err := api.event(fnID, name, fns[fnID].Events[name]); err != nil {
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
	for _, k := range []string{"Cors", "BinaryMediaTypes", "Variables", "DefinitionBody", "DefinitionUri"} {
		if _, ok := props[k]; ok {
			return nil, fmt.Errorf("%s is not emulated", k)
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
	return api, nil
}

// authorizer reads a SAM Lambda authorizer. Only what the project's template uses is
// emulated: REQUEST authorizers with header identity sources.
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
	if len(a.Headers) == 0 {
		return nil, fmt.Errorf("authorizer Identity.Headers is required")
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
		default:
			return nil, fmt.Errorf("%s is not emulated", k)
		}
	}
	return gr, nil
}

func (api *API) event(fn, name string, ev serverless.Function_EventSource) error {
	if ev.Type != "Api" {
		return nil
	}
	if ev.Properties == nil || ev.Properties.ApiEvent == nil {
		return fmt.Errorf("an Api event needs Path and Method")
	}
	e := ev.Properties.ApiEvent
	if e.RestApiId == nil || *e.RestApiId != api.ID {
		return fmt.Errorf("RestApiId must be !Ref %s (implicit APIs are not emulated)", api.LogicalID)
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
