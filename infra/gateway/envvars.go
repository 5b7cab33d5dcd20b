package gateway

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/authbridge/authbridge/infra/samtemplate"
)

// EnvVars are local environment overrides in the shape of `sam local --env-vars`:
// {"Parameters": {...for every function...}, "TokenFunction": {...for one function...}}.
// A function's own entry may be keyed by its logical ID or its function name.
type EnvVars map[string]map[string]string

// ReadEnvVars reads an env-vars JSON file. Values may be strings, numbers or booleans.
func ReadEnvVars(path string) (EnvVars, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ev, err := ParseEnvVars(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ev, nil
}

// ParseEnvVars parses env-vars JSON.
func ParseEnvVars(data []byte) (EnvVars, error) {
	var raw map[string]map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf(`want {"Parameters": {"NAME": "value"}, "<Function>": {...}}: %w`, err)
	}
	ev := EnvVars{}
	for section, vars := range raw {
		ev[section] = map[string]string{}
		for k, v := range vars {
			switch v.(type) {
			case string, float64, bool:
				ev[section][k] = samtemplate.Scalar(v)
			default:
				return nil, fmt.Errorf("%s.%s: want a string, number or boolean", section, k)
			}
		}
	}
	return ev, nil
}

// Environment is the function's environment as the local stack runs it: what Lambda
// derives from the configuration, then the template's variables (Globals, then the
// function's), then ev's "Parameters", then ev's entry for the function.
//
// Unlike `sam local`, which only overrides variables the template declares, an override
// may add a variable: the local stack needs some the template has no reason to declare
// (AWS_ENDPOINT_URL_DYNAMODB, fake credentials).
func (f *Function) Environment(ev EnvVars) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{f.LambdaEnv, f.Env, ev["Parameters"], ev[f.LogicalID]} {
		for k, v := range m {
			out[k] = v
		}
	}
	if f.Name != f.LogicalID {
		for k, v := range ev[f.Name] {
			out[k] = v
		}
	}
	return out
}
