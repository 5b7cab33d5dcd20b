package templatecheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// SAMConfig is samconfig.toml: table name ("prod.deploy.parameters") → key → value
// (string, bool or float64).
type SAMConfig map[string]map[string]any

// ReadSAMConfig reads the TOML subset samconfig.toml uses: [dotted.table] headers and
// key = value lines with basic strings, booleans and numbers; # comments.
func ReadSAMConfig(path string) (SAMConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSAMConfig(data)
}

// ParseSAMConfig is ReadSAMConfig for data in memory.
func ParseSAMConfig(data []byte) (SAMConfig, error) {
	cfg := SAMConfig{"": {}}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			end := strings.Index(line, "]")
			if end < 0 || strings.HasPrefix(line, "[[") {
				return nil, fmt.Errorf("line %d: unsupported table header %q", n, line)
			}
			table = strings.TrimSpace(line[1:end])
			if _, dup := cfg[table]; dup {
				return nil, fmt.Errorf("line %d: table [%s] defined twice", n, table)
			}
			cfg[table] = map[string]any{}
			continue
		}
		key, rest, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.IndexFunc(key, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' }) >= 0 {
			return nil, fmt.Errorf("line %d: want key = value, got %q", n, line)
		}
		if _, dup := cfg[table][key]; dup {
			return nil, fmt.Errorf("line %d: %s defined twice in [%s]", n, key, table)
		}
		v, err := tomlValue(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %v", n, key, err)
		}
		cfg[table][key] = v
	}
	return cfg, sc.Err()
}

func tomlValue(s string) (any, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		end := -1
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unterminated string")
		}
		if tail := strings.TrimSpace(s[end+1:]); tail != "" && !strings.HasPrefix(tail, "#") {
			return nil, fmt.Errorf("unexpected %q after the string", tail)
		}
		return strconv.Unquote(s[:end+1])
	case s == "true" || s == "false":
		return s == "true", nil
	}
	if i := strings.Index(s, "#"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("unsupported value %q", s)
	}
	return f, nil
}

// ParameterOverrides splits a parameter_overrides string (Key=Value pairs separated by
// spaces; a value may be double-quoted to hold spaces) into a map.
func ParameterOverrides(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return nil, fmt.Errorf("want Key=Value, got %q", s)
		}
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("%s: unterminated quoted value", key)
			}
			val, s = rest[1:end+1], rest[end+2:]
		} else {
			val, s, _ = strings.Cut(rest, " ")
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s given twice", key)
		}
		out[key] = val
	}
	return out, nil
}
