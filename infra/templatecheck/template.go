// Package templatecheck loads Authbridge's CloudFormation/SAM templates (template.yaml and
// infra/monitoring.yaml) the way CloudFormation would for given parameter values, without
// AWS, so that tests can check what a deployment would contain: functions, routes,
// policies, the table, the keys, alarms and the dashboard.
//
// The typed view comes from github.com/awslabs/goformation/v7, which knows the SAM and
// CloudFormation resource types and refuses unknown properties. Three things it cannot do
// are done here, on the same document:
//
//   - Intrinsic functions. goformation resolves Ref only to parameters and GetAtt to nothing,
//     and with EvaluateConditions it replaces every map holding a "Condition" key (so every
//     conditional resource) by a boolean. Load evaluates the conditions itself and resolves
//     intrinsics through goformation's handler overrides: a parameter becomes its value, a
//     resource reference a marker ("{{Ref:Table}}", "{{GetAtt:Table.Arn}}", see RefTo and
//     GetAttOf), Fn::If its branch, AWS::NoValue a removed key or list item.
//   - AWS::Serverless::Api GatewayResponses: goformation types them as map[string]string,
//     SAM as objects (status code, response parameters); a real template fails to parse. They
//     are read from Doc.
//   - LoggingConfig (SAM functions and Globals, since 2023): absent from goformation's types
//     (and silently dropped from Globals). It is read from Doc, where Globals are merged
//     into each function as SAM merges them.
package templatecheck

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is a template loaded for one set of parameter values.
type Template struct {
	Path string
	// Params holds every parameter's effective value: a string, a float64 (Number) or a
	// []any (CommaDelimitedList).
	Params     map[string]any
	Conditions map[string]bool
	// Raw is the template as written (short-form tags turned into Fn:: maps).
	Raw map[string]any
	// Doc is the template as deployed: intrinsics resolved, resources and outputs whose
	// condition is false removed, Globals.Function merged into every SAM function.
	Doc map[string]any
	// CFN is goformation's typed view of Doc, without the properties it cannot type
	// (Globals, functions' LoggingConfig, APIs' GatewayResponses).
	CFN *cloudformation.Template
}

// Pseudo parameter values used when loading.
var Pseudo = map[string]any{
	"AWS::AccountId":        "123456789012",
	"AWS::Region":           "eu-west-1",
	"AWS::StackName":        "authbridge",
	"AWS::StackId":          "arn:aws:cloudformation:eu-west-1:123456789012:stack/authbridge/00000000-0000-0000-0000-000000000000",
	"AWS::Partition":        "aws",
	"AWS::URLSuffix":        "amazonaws.com",
	"AWS::NotificationARNs": []any{},
}

// RefTo returns the logical ID a "{{Ref:ID}}" marker names (ID may be a SAM referenceable
// property such as AuthbridgeApi.Stage).
func RefTo(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "{{Ref:") || !strings.HasSuffix(s, "}}") || strings.Count(s, "{{") != 1 {
		return "", false
	}
	return s[len("{{Ref:") : len(s)-2], true
}

// GetAttOf returns "ID.Attribute" for a "{{GetAtt:ID.Attribute}}" marker.
func GetAttOf(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "{{GetAtt:") || !strings.HasSuffix(s, "}}") || strings.Count(s, "{{") != 1 {
		return "", false
	}
	return s[len("{{GetAtt:") : len(s)-2], true
}

// Load reads a template and resolves it for params (parameter name → value as given to
// sam deploy); parameters not given take their Default. It checks the values against the
// parameters' constraints as CloudFormation does.
func Load(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, params)
}

// Parse is Load for a template in memory.
func Parse(name string, data []byte, params map[string]string) (*Template, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	// goformation's YAML reader turns !Ref and friends into their long form.
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fail("%v", err)
	}
	t := &Template{Path: name, Params: map[string]any{}, Conditions: map[string]bool{}}
	if err := json.Unmarshal(rawJSON, &t.Raw); err != nil {
		return nil, fail("%v", err)
	}
	if err := t.resolveParams(params); err != nil {
		return nil, fail("%v", err)
	}
	conds, _ := t.Raw["Conditions"].(map[string]any)
	ev := &condEval{t: t, defs: conds, busy: map[string]bool{}}
	for _, c := range slices.Sorted(maps.Keys(conds)) {
		if _, err := ev.condition(c); err != nil {
			return nil, fail("Conditions.%s: %v", c, err)
		}
	}

	// Resolve intrinsics everywhere but in Conditions and Rules (evaluated above, or by
	// CloudFormation itself).
	work := map[string]any{}
	for k, v := range t.Raw {
		if k != "Conditions" && k != "Rules" {
			work[k] = v
		}
	}
	workJSON, err := json.Marshal(work)
	if err != nil {
		return nil, fail("%v", err)
	}
	var resolveErr error
	processed, err := intrinsics.ProcessJSON(workJSON, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: t.handlers(&resolveErr),
	})
	if err != nil {
		return nil, fail("%v", err)
	}
	if resolveErr != nil {
		return nil, fail("%v", resolveErr)
	}
	var doc map[string]any
	if err := json.Unmarshal(processed, &doc); err != nil {
		return nil, fail("%v", err)
	}
	doc = stripNulls(doc).(map[string]any)

	// Conditional resources and outputs.
	for _, section := range []string{"Resources", "Outputs"} {
		m, _ := doc[section].(map[string]any)
		for id, v := range m {
			r, _ := v.(map[string]any)
			c, ok := r["Condition"].(string)
			if !ok {
				continue
			}
			val, known := t.Conditions[c]
			if !known {
				return nil, fail("%s.%s: unknown condition %s", section, id, c)
			}
			if !val {
				delete(m, id)
			}
		}
	}
	// SAM Globals: merged into each function (maps merged, lists appended, scalars kept
	// when the function sets them).
	if g, ok := doc["Globals"].(map[string]any); ok {
		if gf, ok := g["Function"].(map[string]any); ok {
			for _, v := range Resources(doc, "AWS::Serverless::Function") {
				props, _ := v["Properties"].(map[string]any)
				if props == nil {
					props = map[string]any{}
				}
				v["Properties"] = mergeGlobals(gf, props)
			}
		}
	}
	t.Doc = doc

	// goformation's typed view.
	typed := deepCopy(doc).(map[string]any)
	delete(typed, "Globals")
	for _, r := range Resources(typed, "AWS::Serverless::Function") {
		if p, ok := r["Properties"].(map[string]any); ok {
			delete(p, "LoggingConfig")
		}
	}
	for _, r := range Resources(typed, "AWS::Serverless::Api") {
		if p, ok := r["Properties"].(map[string]any); ok {
			delete(p, "GatewayResponses")
		}
	}
	// A Number parameter is a number here (for typed numeric properties), but CloudFormation
	// passes a string where a string is wanted: nested stack parameters, environment.
	for _, typ := range []string{"AWS::Serverless::Application", "AWS::CloudFormation::Stack"} {
		for _, r := range Resources(typed, typ) {
			stringValues(Get(r, "Properties", "Parameters"))
		}
	}
	for _, r := range Resources(typed, "AWS::Serverless::Function") {
		stringValues(Get(r, "Properties", "Environment", "Variables"))
	}
	typedJSON, err := json.Marshal(typed)
	if err != nil {
		return nil, fail("%v", err)
	}
	if t.CFN, err = goformation.ParseJSONWithOptions(typedJSON, &intrinsics.ProcessorOptions{NoProcess: true}); err != nil {
		return nil, fail("goformation: %v", err)
	}
	return t, nil
}

// Resources returns the resources of a document with the given type, by logical ID.
func Resources(doc map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := doc["Resources"].(map[string]any)
	for id, v := range rs {
		r, _ := v.(map[string]any)
		if r != nil && r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// Resource returns the resource with the given logical ID in Doc, or nil.
func (t *Template) Resource(id string) map[string]any {
	rs, _ := t.Doc["Resources"].(map[string]any)
	r, _ := rs[id].(map[string]any)
	return r
}

// Props returns a resource's Properties in Doc (nil when it does not exist).
func (t *Template) Props(id string) map[string]any {
	p, _ := t.Resource(id)["Properties"].(map[string]any)
	return p
}

func (t *Template) resolveParams(given map[string]string) error {
	decl, _ := t.Raw["Parameters"].(map[string]any)
	for k := range given {
		if _, ok := decl[k]; !ok {
			return fmt.Errorf("parameter %s is not declared", k)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(decl)) {
		def, _ := decl[name].(map[string]any)
		typ, _ := def["Type"].(string)
		var s string
		if v, ok := given[name]; ok {
			s = v
		} else if d, ok := def["Default"]; ok {
			s = scalar(d)
		} else {
			return fmt.Errorf("parameter %s has no Default and was not given", name)
		}
		if err := checkParam(name, typ, def, s); err != nil {
			return err
		}
		switch typ {
		case "Number":
			f, _ := strconv.ParseFloat(s, 64)
			t.Params[name] = f
		case "CommaDelimitedList", "List<Number>":
			var l []any
			for _, e := range strings.Split(s, ",") {
				l = append(l, strings.TrimSpace(e))
			}
			t.Params[name] = l
		default:
			t.Params[name] = s
		}
	}
	return nil
}

func checkParam(name, typ string, def map[string]any, v string) error {
	if allowed, ok := def["AllowedValues"].([]any); ok {
		found := false
		for _, a := range allowed {
			found = found || scalar(a) == v
		}
		if !found {
			return fmt.Errorf("parameter %s: %q is not one of %v", name, v, allowed)
		}
	}
	if pat, ok := def["AllowedPattern"].(string); ok {
		re, err := regexp.Compile("^(?:" + pat + ")$")
		if err != nil {
			return fmt.Errorf("parameter %s: AllowedPattern: %v", name, err)
		}
		if !re.MatchString(v) {
			return fmt.Errorf("parameter %s: %q does not match %s", name, v, pat)
		}
	}
	if n, ok := def["MinLength"].(float64); ok && float64(len(v)) < n {
		return fmt.Errorf("parameter %s: shorter than %v", name, n)
	}
	if n, ok := def["MaxLength"].(float64); ok && float64(len(v)) > n {
		return fmt.Errorf("parameter %s: longer than %v", name, n)
	}
	if typ == "Number" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("parameter %s: %q is not a number", name, v)
		}
		if m, ok := def["MinValue"].(float64); ok && f < m {
			return fmt.Errorf("parameter %s: %v is below %v", name, f, m)
		}
		if m, ok := def["MaxValue"].(float64); ok && f > m {
			return fmt.Errorf("parameter %s: %v is above %v", name, f, m)
		}
	}
	return nil
}

// condEval evaluates the Conditions section (Fn::Equals, Fn::Not, Fn::And, Fn::Or,
// Condition; values may be literals, Refs to parameters and Fn::Join/Fn::Select of them).
type condEval struct {
	t    *Template
	defs map[string]any
	busy map[string]bool
}

func (e *condEval) condition(name string) (bool, error) {
	if v, ok := e.t.Conditions[name]; ok {
		return v, nil
	}
	def, ok := e.defs[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	if e.busy[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	e.busy[name] = true
	defer delete(e.busy, name)
	v, err := e.boolean(def)
	if err != nil {
		return false, err
	}
	e.t.Conditions[name] = v
	return v, nil
}

func (e *condEval) boolean(v any) (bool, error) {
	if name, ok := v.(string); ok { // goformation's reader turns !Condition X into "X"
		return e.condition(name)
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("not a condition function: %v", v)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			s, _ := arg.(string)
			return e.condition(s)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes two values")
			}
			a, err := e.value(args[0])
			if err != nil {
				return false, err
			}
			b, err := e.value(args[1])
			if err != nil {
				return false, err
			}
			return scalar(a) == scalar(b), nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes one condition")
			}
			b, err := e.boolean(args[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			if len(args) < 2 || len(args) > 10 {
				return false, fmt.Errorf("%s takes 2 to 10 conditions", fn)
			}
			and := fn == "Fn::And"
			for _, a := range args {
				b, err := e.boolean(a)
				if err != nil {
					return false, err
				}
				if b != and {
					return !and, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("%s is not allowed in a condition", fn)
	}
	return false, nil
}

func (e *condEval) value(v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	if ref, ok := m["Ref"].(string); ok {
		if p, ok := e.t.Params[ref]; ok {
			return p, nil
		}
		if p, ok := Pseudo[ref]; ok {
			return p, nil
		}
		return nil, fmt.Errorf("Ref %s in a condition is not a parameter", ref)
	}
	if j, ok := m["Fn::Join"].([]any); ok && len(j) == 2 {
		list, err := e.value(j[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		items, _ := list.([]any)
		for _, it := range items {
			x, err := e.value(it)
			if err != nil {
				return nil, err
			}
			parts = append(parts, scalar(x))
		}
		return strings.Join(parts, scalar(j[0])), nil
	}
	if s, ok := m["Fn::Select"].([]any); ok && len(s) == 2 {
		list, err := e.value(s[1])
		if err != nil {
			return nil, err
		}
		items, _ := list.([]any)
		i, err := strconv.Atoi(scalar(s[0]))
		if err != nil || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select index %v out of range", s[0])
		}
		return e.value(items[i])
	}
	return nil, fmt.Errorf("unsupported value in a condition: %v", v)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// handlers are goformation intrinsic handlers that resolve against t. A problem is
// recorded in *errp (handlers cannot return errors).
func (t *Template) handlers(errp *error) map[string]intrinsics.IntrinsicHandler {
	setErr := func(format string, args ...any) {
		if *errp == nil {
			*errp = fmt.Errorf(format, args...)
		}
	}
	resources, _ := t.Raw["Resources"].(map[string]any)
	ref := func(name string) any {
		if name == "AWS::NoValue" {
			return nil
		}
		if v, ok := t.Params[name]; ok {
			return v
		}
		if v, ok := Pseudo[name]; ok {
			return v
		}
		base, _, _ := strings.Cut(name, ".") // SAM: Ref Api.Stage, Function.Alias
		if _, ok := resources[base]; ok {
			return "{{Ref:" + name + "}}"
		}
		setErr("Ref %s: no such parameter or resource", name)
		return nil
	}
	getAtt := func(res, attr string) any {
		if _, ok := resources[res]; !ok {
			setErr("Fn::GetAtt %s.%s: no such resource", res, attr)
			return nil
		}
		return "{{GetAtt:" + res + "." + attr + "}}"
	}
	sub := func(s string, vars map[string]any) any {
		return subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}"
			}
			if v, ok := vars[name]; ok {
				return scalar(v)
			}
			if res, attr, ok := strings.Cut(name, "."); ok {
				if _, isParam := t.Params[name]; !isParam {
					if _, isRes := resources[res]; isRes {
						// SAM referenceable properties (Api.Stage) are Refs.
						if def, _ := resources[res].(map[string]any); def != nil && strings.HasPrefix(scalar(def["Type"]), "AWS::Serverless::") && attr == "Stage" {
							return scalar(ref(name))
						}
						return scalar(getAtt(res, attr))
					}
				}
			}
			return scalar(ref(name))
		})
	}
	return map[string]intrinsics.IntrinsicHandler{
		"Ref": func(_ string, in any, _ any) any {
			s, ok := in.(string)
			if !ok {
				setErr("Ref takes a name, got %v", in)
				return nil
			}
			return ref(s)
		},
		"Fn::GetAtt": func(_ string, in any, _ any) any {
			var parts []string
			switch x := in.(type) {
			case string:
				parts = strings.SplitN(x, ".", 2)
			case []any:
				for _, p := range x {
					parts = append(parts, scalar(p))
				}
			}
			if len(parts) != 2 {
				setErr("Fn::GetAtt %v: want Resource.Attribute", in)
				return nil
			}
			return getAtt(parts[0], parts[1])
		},
		"Fn::Sub": func(_ string, in any, _ any) any {
			switch x := in.(type) {
			case string:
				return sub(x, nil)
			case []any:
				if len(x) == 2 {
					s, _ := x[0].(string)
					vars, _ := x[1].(map[string]any)
					return sub(s, vars)
				}
			}
			setErr("Fn::Sub %v: want a string or [string, map]", in)
			return nil
		},
		"Fn::If": func(_ string, in any, _ any) any {
			args, ok := in.([]any)
			if !ok || len(args) != 3 {
				setErr("Fn::If %v: want [condition, then, else]", in)
				return nil
			}
			c, _ := args[0].(string)
			v, known := t.Conditions[c]
			if !known {
				setErr("Fn::If: unknown condition %q", c)
				return nil
			}
			if v {
				return args[1]
			}
			return args[2]
		},
		"Fn::ImportValue": func(_ string, in any, _ any) any { return "{{ImportValue:" + scalar(in) + "}}" },
		"Fn::Cidr":        func(_ string, in any, _ any) any { return "{{Cidr}}" },
	}
}

// mergeGlobals merges SAM Globals into a resource's properties: maps are merged (the
// resource wins), lists are the global entries followed by the resource's, scalars set by
// the resource are kept.
func mergeGlobals(global, local any) any {
	gm, gok := global.(map[string]any)
	lm, lok := local.(map[string]any)
	if gok && lok {
		out := map[string]any{}
		for k, v := range gm {
			out[k] = deepCopy(v)
		}
		for k, v := range lm {
			if g, ok := out[k]; ok {
				out[k] = mergeGlobals(g, v)
			} else {
				out[k] = v
			}
		}
		return out
	}
	gl, gok := global.([]any)
	ll, lok := local.([]any)
	if gok && lok {
		return append(deepCopy(gl).([]any), ll...)
	}
	return local
}

// stripNulls removes null map values and list items: what AWS::NoValue leaves behind.
func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = stripNulls(e)
		}
		return x
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e != nil {
				out = append(out, stripNulls(e))
			}
		}
		return out
	}
	return v
}

func stringValues(v any) {
	if m, ok := v.(map[string]any); ok {
		for k, e := range m {
			m[k] = scalar(e)
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// scalar is the string CloudFormation makes of a scalar value.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = scalar(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// Strings returns v as a list of strings: a string is a list of one.
func Strings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, scalar(e))
		}
		return out
	}
	return nil
}

// Get follows a path of map keys in a document and returns what is there (nil if absent).
func Get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Sorted returns a map's keys in order.
func Sorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
