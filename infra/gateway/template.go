package gateway

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Template is what the emulator reads from a SAM template: the functions (with their
// environment) and the REST APIs (routes, authorizers, gateway responses, CORS).
type Template struct {
	Path      string
	Region    string               // AWS::Region (default us-east-1)
	AccountID string               // AWS::AccountId (default 123456789012)
	StackName string               // AWS::StackName (default "local")
	Functions map[string]*Function // by logical ID
	APIs      map[string]*API      // by logical ID (ServerlessRestApi for events without RestApiId)
	// Warnings lists template features the emulator ignores.
	Warnings []string
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// Name is the function name (FunctionName, else the logical ID): Ref of the function,
	// AWS_LAMBDA_FUNCTION_NAME.
	Name string
	// Dir is the folder under functions/ that holds the function's main package and the
	// folder of its bootstrap under the local build directory: the logical ID without the
	// "Function" suffix in kebab case (TokenFunction -> token, ResourceMetadataFunction ->
	// resource-metadata), the same rule as the Makefile's build-%Function target.
	Dir           string
	ARN           string
	CodeURI       string
	Handler       string
	Runtime       string
	Architectures []string
	Timeout       time.Duration // default 3 s
	MemorySize    int           // MB, default 128
	// ReservedConcurrency is ReservedConcurrentExecutions (0 when not set).
	ReservedConcurrency int
	// Env is Environment.Variables, Globals first, then the function's own.
	Env map[string]string
	// LambdaEnv holds the variables Lambda itself derives from the configuration
	// (LoggingConfig: AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL).
	LambdaEnv map[string]string
}

// API is a REST API (AWS::Serverless::Api, or the implicit ServerlessRestApi).
type API struct {
	LogicalID string
	// ID is the stand-in REST API id (Ref of the API, apiId in events, methodArn).
	ID                string
	StageName         string
	Routes            []*Route
	Authorizers       map[string]*Authorizer
	DefaultAuthorizer string
	// GatewayResponses by type (UNAUTHORIZED, ACCESS_DENIED, DEFAULT_4XX, ...).
	GatewayResponses map[string]*GatewayResponse
	Cors             *Cors
	StageVariables   map[string]string
	BinaryMediaTypes []string

	noPreflightAuth bool // Auth.AddDefaultAuthorizerToCorsPreflight: false
	tree            *resourceNode
}

// Route is one method on one resource path.
type Route struct {
	Method string // GET, POST, ..., or ANY
	Path   string // resource path as in the template: /items/{id}, /files/{proxy+}
	// Function is the logical ID of the integration; empty for a CORS preflight that the
	// gateway answers itself (SAM's Cors property).
	Function   string
	Event      string // the event's name in the function's Events
	Authorizer string // the authorizer's name; empty when the route is not protected
	Preflight  bool
}

// Authorizer is a Lambda authorizer from Auth.Authorizers.
type Authorizer struct {
	Name     string
	Function string // logical ID
	Type     string // REQUEST or TOKEN (SAM's FunctionPayloadType, default TOKEN)
	// Identity sources of a REQUEST authorizer.
	Headers, QueryStrings, StageVariables, Context []string
	// TokenHeader and ValidationExpression of a TOKEN authorizer.
	TokenHeader          string
	ValidationExpression *regexp.Regexp
	// TTL is Identity.ReauthorizeEvery (default 300 s; 0 disables the cache).
	TTL time.Duration
}

// GatewayResponse customizes a gateway response type.
type GatewayResponse struct {
	StatusCode int // 0: the type's default
	// Headers maps a header name to its mapping expression: a static value in single
	// quotes, or method.request.header.X, method.request.querystring.X,
	// method.request.path.X, stageVariables.X, context.requestId.
	Headers map[string]string
}

// Cors is SAM's Cors property; every value is the header's value, without SAM's quotes.
type Cors struct {
	AllowOrigin      string
	AllowMethods     string
	AllowHeaders     string
	MaxAge           string
	AllowCredentials bool
}

// pseudoParams are the pseudo parameters a caller may set through params.
var pseudoParams = []string{"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition", "AWS::URLSuffix"}

// Load reads a SAM template. params sets template parameters (and the pseudo parameters
// AWS::Region, AWS::AccountId, AWS::StackName); the others take their Default.
func Load(templatePath string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	return Parse(templatePath, data, params)
}

// Parse is Load for a template already in memory; name is used in error messages.
func Parse(name string, data []byte, params map[string]string) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tree, err := toTree(&doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	root, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a template (want a mapping at the top)", name)
	}
	l := &loader{
		t: &Template{Path: name, Functions: map[string]*Function{}, APIs: map[string]*API{}},
		r: &resolver{
			file:       name,
			params:     map[string]*parameter{},
			pseudo:     map[string]string{},
			resources:  map[string]*rawResource{},
			conditions: map[string]any{},
			mappings:   map[string]any{},
			condCache:  map[string]bool{},
			busy:       map[string]bool{},
			apiIDs:     map[string]string{},
		},
		root: root,
	}
	if err := l.load(params); err != nil {
		return nil, err
	}
	return l.t, nil
}

type loader struct {
	t    *Template
	r    *resolver
	root map[string]any
}

func (l *loader) warnf(format string, args ...any) {
	l.t.Warnings = append(l.t.Warnings, fmt.Sprintf(format, args...))
}

func (l *loader) load(params map[string]string) error {
	r := l.r
	if !hasServerlessTransform(l.root["Transform"]) {
		l.warnf("Transform AWS::Serverless-2016-10-31 is missing; reading the template as SAM anyway")
	}
	// Parameters.
	if ps, ok := l.root["Parameters"].(map[string]any); ok {
		for _, name := range sortedKeys(ps) {
			def, _ := ps[name].(map[string]any)
			typ, _ := def["Type"].(string)
			r.params[name] = &parameter{Name: name, Type: typ, Default: def["Default"], Def: def}
		}
	}
	r.pseudo = map[string]string{
		"AWS::Region":    "us-east-1",
		"AWS::AccountId": "123456789012",
		"AWS::StackName": "local",
		"AWS::Partition": "aws",
		"AWS::URLSuffix": "amazonaws.com",
	}
	for _, k := range sortedKeys(params) {
		v := params[k]
		if isPseudo(k) {
			r.pseudo[k] = v
			continue
		}
		p, ok := r.params[k]
		if !ok {
			return fmt.Errorf("%s: parameter %s is not declared in the template's Parameters", l.t.Path, k)
		}
		p.Given = &v
	}
	r.pseudo["AWS::StackId"] = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"], r.pseudo["AWS::StackName"], fakeUUID("stack"))
	l.t.Region, l.t.AccountID, l.t.StackName = r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"], r.pseudo["AWS::StackName"]
	for _, name := range sortedKeys(r.params) {
		if err := l.validateParam(r.params[name]); err != nil {
			return err
		}
	}
	if cs, ok := l.root["Conditions"].(map[string]any); ok {
		r.conditions = cs
	}
	if ms, ok := l.root["Mappings"].(map[string]any); ok {
		r.mappings = ms
	}
	resources, ok := l.root["Resources"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: no Resources", l.t.Path)
	}
	for _, id := range sortedKeys(resources) {
		def, ok := resources[id].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: Resources.%s: not a mapping", l.t.Path, id)
		}
		res := &rawResource{}
		res.Type, _ = def["Type"].(string)
		res.Properties, _ = def["Properties"].(map[string]any)
		if res.Properties == nil {
			res.Properties = map[string]any{}
		}
		res.Condition, _ = def["Condition"].(string)
		res.Metadata, _ = def["Metadata"].(map[string]any)
		r.resources[id] = res
	}
	globals, _ := l.root["Globals"].(map[string]any)
	globalFn, _ := globals["Function"].(map[string]any)
	globalAPI, _ := globals["Api"].(map[string]any)

	type fnEvents struct {
		fn     *Function
		events map[string]any
	}
	var withEvents []fnEvents
	var apis []string
	for _, id := range sortedKeys(r.resources) {
		res := r.resources[id]
		if res.Condition != "" {
			b, err := r.condition(res.Condition, "Resources."+id+".Condition", 0)
			if err != nil {
				return err
			}
			if !b {
				continue
			}
		}
		switch res.Type {
		case "AWS::Serverless::Function":
			props := mergeGlobals(globalFn, res.Properties).(map[string]any)
			res.Properties = props // Ref FunctionName and friends see the merged properties
			fn, err := l.function(id, props)
			if err != nil {
				return err
			}
			l.t.Functions[id] = fn
			if ev, ok := props["Events"].(map[string]any); ok {
				withEvents = append(withEvents, fnEvents{fn, ev})
			}
		case "AWS::Serverless::Api":
			apis = append(apis, id)
		case "AWS::Lambda::Function":
			l.warnf("%s: AWS::Lambda::Function is not run by the emulator (only AWS::Serverless::Function)", id)
		case "AWS::ApiGateway::RestApi", "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api":
			l.warnf("%s: %s is not emulated (only AWS::Serverless::Api)", id, res.Type)
		}
	}
	// APIs after functions: authorizers refer to functions.
	for _, id := range apis {
		props := mergeGlobals(globalAPI, r.resources[id].Properties).(map[string]any)
		api, err := l.api(id, props)
		if err != nil {
			return err
		}
		l.t.APIs[id] = api
	}
	for _, fe := range withEvents {
		for _, name := range sortedKeys(fe.events) {
			if err := l.event(fe.fn, name, fe.events[name], globalAPI); err != nil {
				return err
			}
		}
	}
	for _, id := range sortedKeys(l.t.APIs) {
		if err := l.finishAPI(l.t.APIs[id]); err != nil {
			return err
		}
	}
	return nil
}

func isPseudo(k string) bool {
	for _, p := range pseudoParams {
		if p == k {
			return true
		}
	}
	return false
}

func hasServerlessTransform(v any) bool {
	switch x := v.(type) {
	case string:
		return x == "AWS::Serverless-2016-10-31"
	case []any:
		for _, e := range x {
			if hasServerlessTransform(e) {
				return true
			}
		}
	}
	return false
}

func (l *loader) validateParam(p *parameter) error {
	var v string
	switch {
	case p.Given != nil:
		v = *p.Given
	case p.Default != nil:
		v, _ = scalarString(p.Default)
	default:
		return nil // checked when used
	}
	where := fmt.Sprintf("%s: parameter %s", l.t.Path, p.Name)
	if allowed, ok := p.Def["AllowedValues"].([]any); ok {
		found := false
		for _, a := range allowed {
			if s, _ := scalarString(a); s == v {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: value %q is not one of AllowedValues %v", where, v, allowed)
		}
	}
	if pat, ok := p.Def["AllowedPattern"].(string); ok && p.Type == "String" {
		re, err := regexp.Compile(`^(?:` + pat + `)$`)
		if err != nil {
			l.warnf("parameter %s: AllowedPattern %q is not checked (%v)", p.Name, pat, err)
		} else if !re.MatchString(v) {
			return fmt.Errorf("%s: value %q does not match AllowedPattern %q", where, v, pat)
		}
	}
	if n, ok := intOf(p.Def["MinLength"]); ok && len(v) < n {
		return fmt.Errorf("%s: value %q is shorter than MinLength %d", where, v, n)
	}
	if n, ok := intOf(p.Def["MaxLength"]); ok && len(v) > n {
		return fmt.Errorf("%s: value %q is longer than MaxLength %d", where, v, n)
	}
	if p.Type == "Number" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%s: value %q is not a number", where, v)
		}
		if m, ok := floatOf(p.Def["MinValue"]); ok && f < m {
			return fmt.Errorf("%s: value %s is below MinValue %v", where, v, m)
		}
		if m, ok := floatOf(p.Def["MaxValue"]); ok && f > m {
			return fmt.Errorf("%s: value %s is above MaxValue %v", where, v, m)
		}
	}
	return nil
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

func (l *loader) function(id string, props map[string]any) (*Function, error) {
	r := l.r
	at := func(k string) string { return "Resources." + id + ".Properties." + k }
	fn := &Function{LogicalID: id, Dir: FunctionDir(id), Timeout: 3 * time.Second, MemorySize: 128,
		Env: map[string]string{}, LambdaEnv: map[string]string{}}
	var err error
	if fn.Name, err = r.refResource(id, at("FunctionName"), 0); err != nil {
		return nil, err
	}
	fn.ARN = functionARN(l.t.Region, l.t.AccountID, fn.Name)
	for k, dst := range map[string]*string{"CodeUri": &fn.CodeURI, "Handler": &fn.Handler, "Runtime": &fn.Runtime} {
		if v, ok := props[k]; ok {
			if _, isMap := v.(map[string]any); isMap { // CodeUri: {Bucket, Key}
				continue
			}
			if *dst, err = r.resolveString(v, at(k)); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := props["Architectures"]; ok {
		val, err := r.resolve(v, at("Architectures"))
		if err != nil {
			return nil, err
		}
		for _, a := range asList(val) {
			s, _ := scalarString(a)
			fn.Architectures = append(fn.Architectures, s)
		}
	}
	ints := map[string]*int{}
	var timeout int
	ints["Timeout"] = &timeout
	ints["MemorySize"] = &fn.MemorySize
	ints["ReservedConcurrentExecutions"] = &fn.ReservedConcurrency
	for k, dst := range ints {
		v, ok := props[k]
		if !ok {
			continue
		}
		s, err := r.resolveString(v, at(k))
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: %s: %q is not a whole number", l.t.Path, at(k), s)
		}
		*dst = n
	}
	if timeout > 0 {
		fn.Timeout = time.Duration(timeout) * time.Second
	}
	if v, ok := props["Environment"]; ok {
		env, err := r.resolve(v, at("Environment"))
		if err != nil {
			return nil, err
		}
		envMap, _ := env.(map[string]any)
		vars, _ := envMap["Variables"].(map[string]any)
		for _, k := range sortedKeys(vars) {
			s, ok := scalarString(vars[k])
			if !ok {
				return nil, fmt.Errorf("%s: %s: %s", l.t.Path, at("Environment.Variables."+k), "the value must be a string, not "+describe(vars[k]))
			}
			fn.Env[k] = s
		}
	}
	if v, ok := props["LoggingConfig"]; ok {
		lc, err := r.resolve(v, at("LoggingConfig"))
		if err != nil {
			return nil, err
		}
		m, _ := lc.(map[string]any)
		if s, ok := m["LogFormat"].(string); ok {
			fn.LambdaEnv["AWS_LAMBDA_LOG_FORMAT"] = s
			if lvl, ok := m["ApplicationLogLevel"].(string); ok && s == "JSON" {
				fn.LambdaEnv["AWS_LAMBDA_LOG_LEVEL"] = lvl
			}
		}
	}
	return fn, nil
}

func (l *loader) newAPI(id string) *API {
	return &API{LogicalID: id, ID: l.r.apiID(id), Authorizers: map[string]*Authorizer{},
		GatewayResponses: map[string]*GatewayResponse{}, tree: newResourceNode("/")}
}

func (l *loader) api(id string, props map[string]any) (*API, error) {
	r := l.r
	at := func(k string) string { return "Resources." + id + ".Properties." + k }
	api := l.newAPI(id)
	if v, ok := props["StageName"]; ok {
		s, err := r.resolveString(v, at("StageName"))
		if err != nil {
			return nil, err
		}
		api.StageName = s
	}
	if api.StageName == "" {
		return nil, fmt.Errorf("%s: %s: StageName is required", l.t.Path, at("StageName"))
	}
	if v, ok := props["Variables"]; ok {
		val, err := r.resolve(v, at("Variables"))
		if err != nil {
			return nil, err
		}
		m, _ := val.(map[string]any)
		api.StageVariables = map[string]string{}
		for k, x := range m {
			api.StageVariables[k], _ = scalarString(x)
		}
	}
	if v, ok := props["BinaryMediaTypes"]; ok {
		val, err := r.resolve(v, at("BinaryMediaTypes"))
		if err != nil {
			return nil, err
		}
		for _, x := range asList(val) {
			s, _ := scalarString(x)
			api.BinaryMediaTypes = append(api.BinaryMediaTypes, strings.ReplaceAll(s, "~1", "/"))
		}
	}
	if v, ok := props["Cors"]; ok {
		val, err := r.resolve(v, at("Cors"))
		if err != nil {
			return nil, err
		}
		cors, err := parseCors(val)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", l.t.Path, at("Cors"), err)
		}
		api.Cors = cors
	}
	if v, ok := props["GatewayResponses"]; ok {
		val, err := r.resolve(v, at("GatewayResponses"))
		if err != nil {
			return nil, err
		}
		m, ok := val.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %s: want a mapping of response types", l.t.Path, at("GatewayResponses"))
		}
		for _, typ := range sortedKeys(m) {
			gr, err := parseGatewayResponse(m[typ])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", l.t.Path, at("GatewayResponses."+typ), err)
			}
			if _, known := defaultResponses[typ]; !known || typ == respLambdaError {
				return nil, fmt.Errorf("%s: %s: unknown gateway response type %s", l.t.Path, at("GatewayResponses"), typ)
			}
			api.GatewayResponses[typ] = gr
		}
	}
	if v, ok := props["Auth"]; ok {
		if err := l.auth(api, v, at("Auth")); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"DefinitionBody", "DefinitionUri"} {
		if _, ok := props[k]; ok {
			l.warnf("%s: %s is ignored; routes come from the functions' Api events", id, k)
		}
	}
	return api, nil
}

func (l *loader) auth(api *API, v any, path string) error {
	r := l.r
	auth, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: %s: want a mapping", l.t.Path, path)
	}
	if d, ok := auth["DefaultAuthorizer"]; ok {
		s, err := r.resolveString(d, path+".DefaultAuthorizer")
		if err != nil {
			return err
		}
		if s != "NONE" {
			api.DefaultAuthorizer = s
		}
	}
	authzs, _ := auth["Authorizers"].(map[string]any)
	for _, name := range sortedKeys(authzs) {
		p := path + ".Authorizers." + name
		val, err := r.resolve(authzs[name], p)
		if err != nil {
			return err
		}
		def, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s: want a mapping", l.t.Path, p)
		}
		if _, ok := def["UserPoolArn"]; ok {
			return fmt.Errorf("%s: %s: Cognito authorizers are not supported by the local emulator", l.t.Path, p)
		}
		arn, _ := def["FunctionArn"].(string)
		fnID := ""
		for id, fn := range l.t.Functions {
			if fn.ARN == arn {
				fnID = id
			}
		}
		if fnID == "" {
			return fmt.Errorf("%s: %s.FunctionArn: %q is not the Arn of a function in this template (use !GetAtt <Function>.Arn)", l.t.Path, p, arn)
		}
		a := &Authorizer{Name: name, Function: fnID, Type: "TOKEN", TTL: 300 * time.Second, TokenHeader: "Authorization"}
		if t, ok := def["FunctionPayloadType"].(string); ok {
			a.Type = strings.ToUpper(t)
		}
		if a.Type != "TOKEN" && a.Type != "REQUEST" {
			return fmt.Errorf("%s: %s.FunctionPayloadType: want TOKEN or REQUEST, got %q", l.t.Path, p, a.Type)
		}
		id, _ := def["Identity"].(map[string]any)
		if a.Type == "REQUEST" {
			a.Headers = stringList(id["Headers"])
			a.QueryStrings = stringList(id["QueryStrings"])
			a.StageVariables = stringList(id["StageVariables"])
			a.Context = stringList(id["Context"])
		} else {
			if h, ok := id["Header"].(string); ok {
				a.TokenHeader = h
			}
			if ve, ok := id["ValidationExpression"].(string); ok {
				re, err := regexp.Compile(`^(?:` + ve + `)$`)
				if err != nil {
					return fmt.Errorf("%s: %s.Identity.ValidationExpression: %w", l.t.Path, p, err)
				}
				a.ValidationExpression = re
			}
		}
		if ttl, ok := id["ReauthorizeEvery"]; ok {
			s, _ := scalarString(ttl)
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 3600 {
				return fmt.Errorf("%s: %s.Identity.ReauthorizeEvery: want 0 to 3600 seconds, got %q", l.t.Path, p, s)
			}
			a.TTL = time.Duration(n) * time.Second
		}
		if a.Type == "REQUEST" && len(a.Headers)+len(a.QueryStrings)+len(a.StageVariables)+len(a.Context) == 0 {
			a.TTL = 0 // API Gateway only caches by identity sources
		}
		api.Authorizers[name] = a
	}
	if api.DefaultAuthorizer != "" {
		if _, ok := api.Authorizers[api.DefaultAuthorizer]; !ok {
			return fmt.Errorf("%s: %s.DefaultAuthorizer: no authorizer %q in Auth.Authorizers", l.t.Path, path, api.DefaultAuthorizer)
		}
	}
	if v, ok := auth["AddDefaultAuthorizerToCorsPreflight"]; ok {
		val, err := r.resolve(v, path+".AddDefaultAuthorizerToCorsPreflight")
		if err != nil {
			return err
		}
		b, _ := val.(bool)
		api.noPreflightAuth = !b
	}
	return nil
}

func (l *loader) event(fn *Function, name string, raw any, globalAPI map[string]any) error {
	r := l.r
	path := "Resources." + fn.LogicalID + ".Properties.Events." + name
	ev, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: %s: want a mapping", l.t.Path, path)
	}
	typ, _ := ev["Type"].(string)
	if typ != "Api" {
		if typ == "HttpApi" {
			l.warnf("%s: HttpApi events are not emulated", path)
		}
		return nil
	}
	propsVal, err := r.resolve(ev["Properties"], path+".Properties")
	if err != nil {
		return err
	}
	props, _ := propsVal.(map[string]any)
	var api *API
	if v, ok := props["RestApiId"]; ok {
		s, _ := scalarString(v)
		for id, a := range l.t.APIs {
			if a.ID == s || id == s {
				api = a
			}
		}
		if api == nil {
			return fmt.Errorf("%s: %s.Properties.RestApiId: %q is not an AWS::Serverless::Api of this template", l.t.Path, path, s)
		}
	} else {
		api = l.t.APIs["ServerlessRestApi"]
		if api == nil {
			props := mergeGlobals(globalAPI, map[string]any{}).(map[string]any)
			if _, ok := props["StageName"]; !ok {
				props["StageName"] = "Prod"
			}
			if api, err = l.api("ServerlessRestApi", props); err != nil {
				return err
			}
			l.t.APIs["ServerlessRestApi"] = api
		}
	}
	route := &Route{Function: fn.LogicalID, Event: name}
	route.Path, _ = props["Path"].(string)
	method, _ := props["Method"].(string)
	route.Method = strings.ToUpper(method)
	if route.Method == "" || route.Path == "" {
		return fmt.Errorf("%s: %s: an Api event needs Path and Method", l.t.Path, path)
	}
	route.Authorizer = api.DefaultAuthorizer
	if auth, ok := props["Auth"].(map[string]any); ok {
		if a, ok := auth["Authorizer"].(string); ok {
			switch a {
			case "NONE":
				route.Authorizer = ""
			case "AWS_IAM":
				return fmt.Errorf("%s: %s.Properties.Auth.Authorizer: AWS_IAM is not supported by the local emulator", l.t.Path, path)
			default:
				if _, ok := api.Authorizers[a]; !ok {
					return fmt.Errorf("%s: %s.Properties.Auth.Authorizer: no authorizer %q on %s", l.t.Path, path, a, api.LogicalID)
				}
				route.Authorizer = a
			}
		}
	}
	if err := api.add(route); err != nil {
		return fmt.Errorf("%s: %s: %w", l.t.Path, path, err)
	}
	return nil
}

// finishAPI adds the OPTIONS methods SAM generates for Cors.
func (l *loader) finishAPI(api *API) error {
	if api.Cors == nil {
		return nil
	}
	byPath := map[string][]string{}
	var paths []string
	for _, rt := range api.Routes {
		if _, ok := byPath[rt.Path]; !ok {
			paths = append(paths, rt.Path)
		}
		byPath[rt.Path] = append(byPath[rt.Path], rt.Method)
	}
	for _, p := range paths {
		has := false
		for _, m := range byPath[p] {
			if m == "OPTIONS" {
				has = true
			}
		}
		if has {
			continue
		}
		rt := &Route{Method: "OPTIONS", Path: p, Preflight: true}
		if !api.noPreflightAuth {
			rt.Authorizer = api.DefaultAuthorizer
		}
		if err := api.add(rt); err != nil {
			return err
		}
	}
	return nil
}

func parseCors(v any) (*Cors, error) {
	c := &Cors{}
	switch x := v.(type) {
	case string:
		c.AllowOrigin = unquote(x)
	case map[string]any:
		for k, val := range x {
			s, _ := scalarString(val)
			switch k {
			case "AllowOrigin":
				c.AllowOrigin = unquote(s)
			case "AllowMethods":
				c.AllowMethods = unquote(s)
			case "AllowHeaders":
				c.AllowHeaders = unquote(s)
			case "MaxAge":
				c.MaxAge = unquote(s)
			case "AllowCredentials":
				c.AllowCredentials = s == "true"
			default:
				return nil, fmt.Errorf("unknown Cors property %s", k)
			}
		}
	default:
		return nil, fmt.Errorf("want a string or a mapping")
	}
	if c.AllowOrigin == "" {
		return nil, fmt.Errorf("AllowOrigin is required")
	}
	return c, nil
}

var mappingExpr = regexp.MustCompile(`^('.*'|method\.request\.(header|querystring|path)\.[^.]+|stageVariables\.[^.]+|context\.[A-Za-z.]+)$`)

func parseGatewayResponse(v any) (*GatewayResponse, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a mapping")
	}
	gr := &GatewayResponse{Headers: map[string]string{}}
	for k, val := range m {
		switch k {
		case "StatusCode":
			s, _ := scalarString(val)
			n, err := strconv.Atoi(s)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("StatusCode %q is not an HTTP status", s)
			}
			gr.StatusCode = n
		case "ResponseParameters":
			rp, _ := val.(map[string]any)
			for kind, x := range rp {
				if kind != "Headers" { // Paths and QueryStrings do not reach the client
					continue
				}
				hs, _ := x.(map[string]any)
				for h, hv := range hs {
					s, ok := scalarString(hv)
					if !ok || !mappingExpr.MatchString(s) {
						return nil, fmt.Errorf("ResponseParameters.Headers.%s: %s is not a mapping expression (a static value must be in single quotes: \"'value'\")", h, describe(hv))
					}
					gr.Headers[h] = s
				}
			}
		case "ResponseTemplates":
			return nil, fmt.Errorf("ResponseTemplates is not supported by the local emulator")
		default:
			return nil, fmt.Errorf("unknown property %s", k)
		}
	}
	return gr, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func stringList(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := scalarString(x); ok {
			out = append(out, s)
		}
	}
	return out
}

func intOf(v any) (int, bool) {
	s, ok := scalarString(v)
	if !ok || v == nil {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func floatOf(v any) (float64, bool) {
	s, ok := scalarString(v)
	if !ok || v == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
