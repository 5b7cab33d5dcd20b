package gateway

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// The template is read into a plain tree: map[string]any, []any, scalars (string, int,
// float64, bool, nil) and *intrinsic for CloudFormation functions in either form
// (`!Sub "..."` or `Fn::Sub: "..."`). Intrinsics are resolved later, only where the
// emulator needs a value, so an unsupported function in a part of the template the
// emulator never reads (an IAM policy, an alarm) does not stop it.

// intrinsic is a CloudFormation function call: Name is the long form ("Ref",
// "Fn::GetAtt", "Condition"), Arg its unresolved argument.
type intrinsic struct {
	Name string
	Arg  any
	Line int
}

// shortTags maps YAML short-form tags to the long function names.
var shortTags = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!GetAtt":       "Fn::GetAtt",
	"!Sub":          "Fn::Sub",
	"!Join":         "Fn::Join",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!If":           "Fn::If",
	"!Equals":       "Fn::Equals",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!Not":          "Fn::Not",
	"!FindInMap":    "Fn::FindInMap",
	"!Base64":       "Fn::Base64",
	"!GetAZs":       "Fn::GetAZs",
	"!ImportValue":  "Fn::ImportValue",
	"!Cidr":         "Fn::Cidr",
	"!Transform":    "Fn::Transform",
	"!Length":       "Fn::Length",
	"!ToJsonString": "Fn::ToJsonString",
}

func toTree(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toTree(n.Content[0])
	case yaml.AliasNode:
		return toTree(n.Alias)
	}
	var fn string
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		long, ok := shortTags[n.Tag]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		fn = long
	}
	var v any
	switch n.Kind {
	case yaml.ScalarNode:
		if fn != "" {
			v = n.Value
			if fn == "Fn::GetAtt" { // !GetAtt Res.Attr
				res, attr, ok := strings.Cut(n.Value, ".")
				if !ok {
					return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, n.Value)
				}
				v = []any{res, attr}
			}
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			x, err := toTree(c)
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		v = list
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				merges = append(merges, val)
				continue
			}
			x, err := toTree(val)
			if err != nil {
				return nil, err
			}
			m[k.Value] = x
		}
		for _, mn := range merges { // YAML merge keys: explicit keys win
			x, err := toTree(mn)
			if err != nil {
				return nil, err
			}
			var srcs []any
			if l, ok := x.([]any); ok {
				srcs = l
			} else {
				srcs = []any{x}
			}
			for _, s := range srcs {
				if sm, ok := s.(map[string]any); ok {
					for k, val := range sm {
						if _, exists := m[k]; !exists {
							m[k] = val
						}
					}
				}
			}
		}
		if fn == "" && len(m) == 1 {
			for k, val := range m {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return &intrinsic{Name: k, Arg: val, Line: n.Line}, nil
				}
			}
		}
		v = m
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if fn != "" {
		return &intrinsic{Name: fn, Arg: v, Line: n.Line}, nil
	}
	return v, nil
}

// mergeGlobals merges a Globals section into resource properties the way SAM does: maps
// are merged key by key, lists are concatenated (global first), anything else is
// replaced by the resource's value.
func mergeGlobals(global, local any) any {
	gm, gok := global.(map[string]any)
	lm, lok := local.(map[string]any)
	if gok && lok {
		out := make(map[string]any, len(gm)+len(lm))
		for k, v := range gm {
			out[k] = v
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
		return append(append([]any{}, gl...), ll...)
	}
	if local == nil {
		return global
	}
	return local
}
