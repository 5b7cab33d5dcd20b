// Package samtemplate loads Authbridge's CloudFormation/SAM templates (template.yaml and
// infra/monitoring.yaml) the way CloudFormation would deploy them for given parameter
// values, without AWS. It is the repository's one evaluator of intrinsic functions and
// conditions: the offline template checks (infra/templatecheck) and the local API Gateway
// emulator (infra/gateway) both read templates through it.
//
// The typed view comes from github.com/awslabs/goformation/v7, which knows the SAM and
// CloudFormation resource types and refuses unknown properties; its intrinsic processor
// walks the document, with the handlers of this package for what it does not resolve:
//
//   - Ref and Fn::GetAtt of resources, Fn::Sub: goformation resolves Ref only to
//     parameters and GetAtt to nothing. Here a resource reference becomes its stand-in
//     (standins.go): the value CloudFormation would give, with Region, AccountID and
//     StackName for the deployment's own values. A reference to a resource that the
//     conditions remove is an error, as in CloudFormation.
//   - Conditions: goformation's EvaluateConditions replaces every map with a "Condition"
//     key (so every conditional resource) by a boolean. Conditions are evaluated here;
//     resources and outputs whose condition is false are removed and each Fn::If is
//     replaced by its branch before the processor runs, so the branch not taken is never
//     evaluated. AWS::NoValue removes its key or list item.
//   - Globals.Function: merged into each SAM function as SAM merges them.
//   - AWS::Serverless::Api GatewayResponses (goformation types them as map[string]string,
//     SAM as objects) and LoggingConfig of SAM functions (absent from goformation's types):
//     kept in Doc, left out of the typed view.
package samtemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is a template loaded for one set of parameter values.
type Template struct {
	Path string
	// Params holds every parameter's effective value: a string, or a float64 for a Number.
	Params     map[string]any
	Conditions map[string]bool
	// Raw is the template as written (short-form tags turned into Fn:: maps).
	Raw map[string]any
	// Doc is the template as deployed: intrinsics resolved, resources and outputs whose
	// condition is false removed, Globals.Function merged into every SAM function.
	Doc map[string]any
	// CFN is goformation's typed view of Doc, without what it cannot type (Globals,
	// functions' LoggingConfig, APIs' GatewayResponses).
	CFN *cloudformation.Template

	live     map[string]map[string]any // Raw's resources that exist under the conditions
	condBusy map[string]bool
	names    map[string]string // resolved physical names, by logical ID
	nameBusy map[string]bool
}

// Load reads a template and resolves it for params (parameter name → value as given to
// sam deploy); parameters not given take their Default. The values are checked against
// the parameters' constraints as CloudFormation does.
func Load(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, params)
}

// Parse is Load for a template in memory; name is used in error messages.
func Parse(name string, data []byte, params map[string]string) (*Template, error) {
	t := &Template{Path: name, Params: map[string]any{}, Conditions: map[string]bool{},
		condBusy: map[string]bool{}, names: map[string]string{}, nameBusy: map[string]bool{}}
	if err := t.parse(data, params); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

func (t *Template) parse(data []byte, params map[string]string) error {
	// goformation's YAML reader turns !Ref and friends into their long form.
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(rawJSON, &t.Raw); err != nil {
		return err
	}
	if err := t.resolveParams(params); err != nil {
		return err
	}
	conds, _ := t.Raw["Conditions"].(map[string]any)
	for _, c := range slices.Sorted(maps.Keys(conds)) {
		if _, err := t.condition(c); err != nil {
			return err
		}
	}

	// Resources and outputs that exist under the conditions.
	work := map[string]any{}
	for k, v := range t.Raw {
		if k != "Conditions" && k != "Rules" { // evaluated above, or by CloudFormation itself
			work[k] = v
		}
	}
	for _, section := range []string{"Resources", "Outputs"} {
		all, _ := t.Raw[section].(map[string]any)
		kept := map[string]any{}
		for id, v := range all {
			r, _ := v.(map[string]any)
			if c, ok := r["Condition"].(string); ok {
				val, err := t.condition(c)
				if err != nil {
					return fmt.Errorf("%s.%s: %w", section, id, err)
				}
				if !val {
					continue
				}
			}
			kept[id] = v
		}
		if all != nil {
			work[section] = kept
		}
	}
	t.live = map[string]map[string]any{}
	for id, v := range work["Resources"].(map[string]any) {
		r, _ := v.(map[string]any)
		t.live[id] = r
	}

	resolved, err := t.Eval(work)
	if err != nil {
		return err
	}
	doc := resolved.(map[string]any)
	// SAM Globals: merged into each function (maps merged, lists appended, scalars kept
	// when the function sets them).
	if gf, ok := Get(doc, "Globals", "Function").(map[string]any); ok {
		for _, r := range Resources(doc, "AWS::Serverless::Function") {
			props, _ := r["Properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
			}
			r["Properties"] = mergeGlobals(gf, props)
		}
	}
	t.Doc = doc
	return t.typedView()
}

// typedView parses a copy of Doc with goformation, without what it cannot type.
func (t *Template) typedView() error {
	typed := deepCopy(t.Doc).(map[string]any)
	delete(typed, "Globals")
	for _, typ := range []string{"AWS::Serverless::Function", "AWS::Serverless::Api"} {
		for _, r := range Resources(typed, typ) {
			if p, ok := r["Properties"].(map[string]any); ok {
				delete(p, "LoggingConfig")
				delete(p, "GatewayResponses")
			}
		}
	}
	// A Number parameter is a number here (for typed numeric properties), but CloudFormation
	// passes a string where a string is wanted: nested stack parameters, environment.
	for _, r := range Resources(typed, "AWS::Serverless::Application") {
		stringValues(Get(r, "Properties", "Parameters"))
	}
	for _, r := range Resources(typed, "AWS::Serverless::Function") {
		stringValues(Get(r, "Properties", "Environment", "Variables"))
	}
	typedJSON, err := json.Marshal(typed)
	if err != nil {
		return err
	}
	if t.CFN, err = goformation.ParseJSONWithOptions(typedJSON, &intrinsics.ProcessorOptions{NoProcess: true}); err != nil {
		return fmt.Errorf("goformation: %w", err)
	}
	return nil
}

// Eval resolves the conditions and intrinsic functions in v, a part of Raw (or any value
// of the same shape), against the template.
func (t *Template) Eval(v any) (any, error) {
	picked, err := t.pickBranches(v)
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(map[string]any{"v": picked})
	if err != nil {
		return nil, err
	}
	var handlerErr error
	out, err := intrinsics.ProcessJSON(in, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: t.handlers(&handlerErr)})
	if err != nil {
		return nil, err
	}
	if handlerErr != nil {
		return nil, handlerErr
	}
	var wrapped map[string]any
	if err := json.Unmarshal(out, &wrapped); err != nil {
		return nil, err
	}
	return stripNulls(wrapped["v"]), nil
}

// pickBranches replaces every Fn::If by the branch its condition chooses.
func (t *Template) pickBranches(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if args, ok := x["Fn::If"]; ok && len(x) == 1 {
			l, _ := args.([]any)
			name, _ := l[0].(string)
			if len(l) != 3 || name == "" {
				return nil, fmt.Errorf("Fn::If %v: want [condition, value if true, value if false]", args)
			}
			b, err := t.condition(name)
			if err != nil {
				return nil, err
			}
			if b {
				return t.pickBranches(l[1])
			}
			return t.pickBranches(l[2])
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			p, err := t.pickBranches(e)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			p, err := t.pickBranches(e)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	return v, nil
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
		var s string
		if v, ok := given[name]; ok {
			s = v
		} else if d, ok := def["Default"]; ok {
			s = Scalar(d)
		} else {
			return fmt.Errorf("parameter %s has no Default and was not given", name)
		}
		if err := checkParam(name, def, s); err != nil {
			return err
		}
		switch typ, _ := def["Type"].(string); {
		case typ == "Number":
			t.Params[name], _ = strconv.ParseFloat(s, 64)
		case strings.Contains(typ, "List"):
			return fmt.Errorf("parameter %s: list types are not supported", name)
		default:
			t.Params[name] = s
		}
	}
	return nil
}

func checkParam(name string, def map[string]any, v string) error {
	if allowed, ok := def["AllowedValues"].([]any); ok {
		if !slices.ContainsFunc(allowed, func(a any) bool { return Scalar(a) == v }) {
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
	if def["Type"] == "Number" {
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

// condition evaluates a named condition of the Conditions section (Fn::Equals, Fn::Not,
// Fn::And, Fn::Or, Condition).
func (t *Template) condition(name string) (bool, error) {
	if v, ok := t.Conditions[name]; ok {
		return v, nil
	}
	conds, _ := t.Raw["Conditions"].(map[string]any)
	def, ok := conds[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	if t.condBusy[name] {
		return false, fmt.Errorf("condition %q refers to itself", name)
	}
	t.condBusy[name] = true
	defer delete(t.condBusy, name)
	v, err := t.boolean(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	t.Conditions[name] = v
	return v, nil
}

func (t *Template) boolean(v any) (bool, error) {
	if name, ok := v.(string); ok { // goformation's reader turns !Condition X into "X"
		return t.condition(name)
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("not a condition function: %v", v)
	}
	for fn, arg := range m {
		if fn == "Condition" {
			return t.boolean(arg)
		}
		args, _ := arg.([]any)
		switch fn {
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes 2 values")
			}
			a, err := t.Eval(args[0])
			if err != nil {
				return false, err
			}
			b, err := t.Eval(args[1])
			if err != nil {
				return false, err
			}
			return Scalar(a) == Scalar(b), nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes 1 condition")
			}
			b, err := t.boolean(args[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			if len(args) < 2 || len(args) > 10 {
				return false, fmt.Errorf("%s takes 2 to 10 conditions", fn)
			}
			and := fn == "Fn::And"
			for _, a := range args {
				b, err := t.boolean(a)
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
			m[k] = Scalar(e)
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
