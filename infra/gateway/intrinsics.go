package gateway

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// noValue is what Ref AWS::NoValue resolves to: the enclosing key or list item is dropped.
type noValueT struct{}

var noValue = noValueT{}

type rawResource struct {
	Type       string
	Properties map[string]any
	Condition  string
	Metadata   map[string]any
}

type parameter struct {
	Name    string
	Type    string
	Default any
	Given   *string
	Def     map[string]any
}

// resolver evaluates intrinsic functions against parameter values, conditions and
// deterministic local stand-ins for resources.
type resolver struct {
	file       string
	params     map[string]*parameter
	pseudo     map[string]string
	resources  map[string]*rawResource
	conditions map[string]any
	mappings   map[string]any
	condCache  map[string]bool
	busy       map[string]bool
	apiIDs     map[string]string // logical ID -> fake REST API id
}

func (r *resolver) errf(path string, line int, format string, args ...any) error {
	loc := r.file
	if line > 0 {
		loc = fmt.Sprintf("%s:%d", r.file, line)
	}
	return fmt.Errorf("%s: %s: %s", loc, path, fmt.Sprintf(format, args...))
}

// resolve evaluates every intrinsic in v.
func (r *resolver) resolve(v any, path string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			val, err := r.resolve(x[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			if val != noValue {
				out[k] = val
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			val, err := r.resolve(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if val != noValue {
				out = append(out, val)
			}
		}
		return out, nil
	case *intrinsic:
		return r.eval(x, path)
	default:
		return v, nil
	}
}

func (r *resolver) resolveString(v any, path string) (string, error) {
	val, err := r.resolve(v, path)
	if err != nil {
		return "", err
	}
	s, ok := scalarString(val)
	if !ok {
		return "", r.errf(path, lineOf(v), "want a string, got %s", describe(val))
	}
	return s, nil
}

// resolveList resolves v and requires a list (the values of Fn::Join and Fn::Select).
func (r *resolver) resolveList(v any, path string, line int) ([]any, error) {
	val, err := r.resolve(v, path)
	if err != nil {
		return nil, err
	}
	items, ok := val.([]any)
	if !ok {
		return nil, r.errf(path, line, "the values must be a list, got %s", describe(val))
	}
	return items, nil
}

func (r *resolver) eval(in *intrinsic, path string) (any, error) {
	p := path + " (" + in.Name + ")"
	switch in.Name {
	case "Ref":
		name, ok := in.Arg.(string)
		if !ok {
			return nil, r.errf(p, in.Line, "Ref takes a name, got %s", describe(in.Arg))
		}
		return r.ref(name, p, in.Line)
	case "Fn::GetAtt":
		arg, err := r.resolve(in.Arg, p)
		if err != nil {
			return nil, err
		}
		var res, attr string
		switch a := arg.(type) {
		case string:
			var ok bool
			if res, attr, ok = strings.Cut(a, "."); !ok {
				return nil, r.errf(p, in.Line, "want Resource.Attribute, got %q", a)
			}
		case []any:
			if len(a) != 2 {
				return nil, r.errf(p, in.Line, "want [Resource, Attribute]")
			}
			res, _ = a[0].(string)
			attr, _ = scalarString(a[1])
		}
		if res == "" || attr == "" {
			return nil, r.errf(p, in.Line, "want [Resource, Attribute], got %s", describe(arg))
		}
		return r.getAtt(res, attr, p, in.Line)
	case "Fn::Sub":
		return r.sub(in, p)
	case "Fn::Join":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 2 {
			return nil, r.errf(p, in.Line, "want [delimiter, [values]]")
		}
		delim, err := r.resolveString(args[0], p)
		if err != nil {
			return nil, err
		}
		items, err := r.resolveList(args[1], p, in.Line)
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, ok := scalarString(it)
			if !ok {
				return nil, r.errf(p, in.Line, "value %d is %s, not a string", i, describe(it))
			}
			parts[i] = s
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 2 {
			return nil, r.errf(p, in.Line, "want [index, [values]]")
		}
		is, err := r.resolveString(args[0], p)
		if err != nil {
			return nil, err
		}
		idx, err := strconv.Atoi(is)
		if err != nil {
			return nil, r.errf(p, in.Line, "index %q is not a number", is)
		}
		items, err := r.resolveList(args[1], p, in.Line)
		if err != nil {
			return nil, err
		}
		if idx < 0 || idx >= len(items) {
			return nil, r.errf(p, in.Line, "index %d out of range (%d values)", idx, len(items))
		}
		return items[idx], nil
	case "Fn::Split":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 2 {
			return nil, r.errf(p, in.Line, "want [delimiter, string]")
		}
		delim, err := r.resolveString(args[0], p)
		if err != nil {
			return nil, err
		}
		s, err := r.resolveString(args[1], p)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, part := range strings.Split(s, delim) {
			out = append(out, part)
		}
		return out, nil
	case "Fn::If":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 3 {
			return nil, r.errf(p, in.Line, "want [condition, value if true, value if false]")
		}
		name, ok := args[0].(string)
		if !ok {
			return nil, r.errf(p, in.Line, "the condition must be a condition name")
		}
		b, err := r.condition(name, p, in.Line)
		if err != nil {
			return nil, err
		}
		if b {
			return r.resolve(args[1], p+"[true]")
		}
		return r.resolve(args[2], p+"[false]")
	case "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition":
		b, err := r.evalCond(in, path)
		if err != nil {
			return nil, err
		}
		return b, nil
	case "Fn::FindInMap":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 3 {
			return nil, r.errf(p, in.Line, "want [MapName, TopLevelKey, SecondLevelKey]")
		}
		keys := make([]string, 3)
		for i, a := range args {
			s, err := r.resolveString(a, p)
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		m, ok := r.mappings[keys[0]].(map[string]any)
		if !ok {
			return nil, r.errf(p, in.Line, "no mapping %q", keys[0])
		}
		top, ok := m[keys[1]].(map[string]any)
		if !ok {
			return nil, r.errf(p, in.Line, "mapping %q has no key %q", keys[0], keys[1])
		}
		v, ok := top[keys[2]]
		if !ok {
			return nil, r.errf(p, in.Line, "mapping %q.%q has no key %q", keys[0], keys[1], keys[2])
		}
		return r.resolve(v, p)
	case "Fn::Base64":
		s, err := r.resolveString(in.Arg, p)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::GetAZs":
		region := r.pseudo["AWS::Region"]
		return []any{region + "a", region + "b", region + "c"}, nil
	default:
		return nil, r.errf(p, in.Line, "intrinsic function %s is not supported by the local emulator", in.Name)
	}
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *resolver) sub(in *intrinsic, p string) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := in.Arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, r.errf(p, in.Line, "want a string or [string, {variables}]")
		}
		s, ok := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok || !ok2 {
			return nil, r.errf(p, in.Line, "want [string, {variables}]")
		}
		tmpl = s
		for k, v := range m {
			vars[k] = v
		}
	default:
		return nil, r.errf(p, in.Line, "want a string or [string, {variables}], got %s", describe(in.Arg))
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		if firstErr != nil {
			return ""
		}
		name := strings.TrimSpace(m[2 : len(m)-1])
		if strings.HasPrefix(name, "!") { // ${!Literal}
			return "${" + name[1:] + "}"
		}
		var v any
		var err error
		if raw, ok := vars[name]; ok {
			v, err = r.resolve(raw, p+"."+name)
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			v, err = r.getAtt(res, attr, p, in.Line)
		} else {
			v, err = r.ref(name, p, in.Line)
		}
		if err != nil {
			firstErr = err
			return ""
		}
		s, ok := scalarString(v)
		if !ok {
			firstErr = r.errf(p, in.Line, "${%s} is %s, not a string", name, describe(v))
		}
		return s
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// condition evaluates a named condition from the Conditions section.
func (r *resolver) condition(name, p string, line int) (bool, error) {
	if b, ok := r.condCache[name]; ok {
		return b, nil
	}
	def, ok := r.conditions[name]
	if !ok {
		return false, r.errf(p, line, "unknown condition %q", name)
	}
	key := "condition:" + name
	if r.busy[key] {
		return false, r.errf(p, line, "condition %q refers to itself", name)
	}
	r.busy[key] = true
	defer delete(r.busy, key)
	b, err := r.condValue(def, "Conditions."+name)
	if err != nil {
		return false, err
	}
	r.condCache[name] = b
	return b, nil
}

func (r *resolver) condValue(v any, path string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case *intrinsic:
		b, err := r.evalCond(x, path)
		if err != nil {
			return false, err
		}
		return b, nil
	case map[string]any: // {Condition: Name}
		if name, ok := x["Condition"].(string); ok && len(x) == 1 {
			return r.condition(name, path, 0)
		}
	}
	return false, r.errf(path, lineOf(v), "not a condition: %s", describe(v))
}

func (r *resolver) evalCond(in *intrinsic, path string) (bool, error) {
	p := path + " (" + in.Name + ")"
	switch in.Name {
	case "Condition":
		name, ok := in.Arg.(string)
		if !ok {
			return false, r.errf(p, in.Line, "want a condition name")
		}
		return r.condition(name, p, in.Line)
	case "Fn::Equals":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 2 {
			return false, r.errf(p, in.Line, "want [value, value]")
		}
		a, err := r.resolve(args[0], p)
		if err != nil {
			return false, err
		}
		b, err := r.resolve(args[1], p)
		if err != nil {
			return false, err
		}
		return canonical(a) == canonical(b), nil
	case "Fn::Not":
		args, ok := in.Arg.([]any)
		if !ok || len(args) != 1 {
			return false, r.errf(p, in.Line, "want [condition]")
		}
		b, err := r.condValue(args[0], p)
		return !b, err
	case "Fn::And", "Fn::Or":
		args, ok := in.Arg.([]any)
		if !ok || len(args) < 2 {
			return false, r.errf(p, in.Line, "want a list of 2 to 10 conditions")
		}
		and := in.Name == "Fn::And"
		for _, a := range args {
			b, err := r.condValue(a, p)
			if err != nil {
				return false, err
			}
			if and && !b {
				return false, nil
			}
			if !and && b {
				return true, nil
			}
		}
		return and, nil
	}
	return false, r.errf(p, in.Line, "%s is not a condition function", in.Name)
}

func (r *resolver) ref(name, p string, line int) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if name == "AWS::NotificationARNs" {
		return []any{}, nil
	}
	if v, ok := r.pseudo[name]; ok {
		return v, nil
	}
	if prm, ok := r.params[name]; ok {
		return r.paramValue(prm, p, line)
	}
	if _, ok := r.resources[name]; ok {
		return r.refResource(name, p, line)
	}
	return nil, r.errf(p, line, "Ref to %q: no such parameter or resource", name)
}

func (r *resolver) paramValue(prm *parameter, p string, line int) (any, error) {
	var s string
	switch {
	case prm.Given != nil:
		s = *prm.Given
	case prm.Default != nil:
		s, _ = scalarString(prm.Default)
		if l, ok := prm.Default.([]any); ok { // a list default for a list type
			parts := make([]string, len(l))
			for i, e := range l {
				parts[i], _ = scalarString(e)
			}
			s = strings.Join(parts, ",")
		}
	default:
		return nil, r.errf(p, line, "parameter %s has no Default and no value was given (pass %s=VALUE)", prm.Name, prm.Name)
	}
	if prm.Type == "CommaDelimitedList" || strings.HasPrefix(prm.Type, "List<") {
		var out []any
		for _, part := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(part))
		}
		return out, nil
	}
	return s, nil
}

// property resolves one property of a resource (for names used by Ref and GetAtt).
func (r *resolver) property(id, prop, p string, line int) (string, bool, error) {
	res := r.resources[id]
	v, ok := res.Properties[prop]
	if !ok {
		return "", false, nil
	}
	key := "resource:" + id + "." + prop
	if r.busy[key] {
		return "", false, r.errf(p, line, "circular reference through %s.%s", id, prop)
	}
	r.busy[key] = true
	defer delete(r.busy, key)
	s, err := r.resolveString(v, "Resources."+id+".Properties."+prop)
	if err != nil {
		return "", false, err
	}
	return s, true, nil
}

func (r *resolver) checkExists(id, p string, line int) (*rawResource, error) {
	res, ok := r.resources[id]
	if !ok {
		return nil, r.errf(p, line, "no resource %q", id)
	}
	if res.Condition != "" {
		b, err := r.condition(res.Condition, p, line)
		if err != nil {
			return nil, err
		}
		if !b {
			return nil, r.errf(p, line, "resource %s is not created (condition %s is false)", id, res.Condition)
		}
	}
	return res, nil
}

// nameOr returns the resource's name property, or the fallback.
func (r *resolver) nameOr(id, prop, fallback, p string, line int) (string, error) {
	s, ok, err := r.property(id, prop, p, line)
	if err != nil || ok {
		return s, err
	}
	return fallback, nil
}

func (r *resolver) refResource(id, p string, line int) (string, error) {
	res, err := r.checkExists(id, p, line)
	if err != nil {
		return "", err
	}
	region, acct := r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"]
	switch res.Type {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return r.nameOr(id, "FunctionName", id, p, line)
	case "AWS::Serverless::Api", "AWS::ApiGateway::RestApi":
		return r.apiID(id), nil
	case "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::Serverless::SimpleTable":
		return r.nameOr(id, "TableName", id, p, line)
	case "AWS::KMS::Key":
		return fakeUUID("kms:" + id), nil
	case "AWS::KMS::Alias":
		return r.nameOr(id, "AliasName", "alias/"+id, p, line)
	case "AWS::S3::Bucket":
		return r.nameOr(id, "BucketName", strings.ToLower(id), p, line)
	case "AWS::SQS::Queue":
		name, err := r.nameOr(id, "QueueName", id, p, line)
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, acct, name), err
	case "AWS::SNS::Topic":
		name, err := r.nameOr(id, "TopicName", id, p, line)
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, acct, name), err
	case "AWS::SecretsManager::Secret":
		name, err := r.nameOr(id, "Name", id, p, line)
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, acct, name, fakeHex("secret:" + id)[:6]), err
	case "AWS::SSM::Parameter":
		return r.nameOr(id, "Name", id, p, line)
	case "AWS::Logs::LogGroup":
		return r.nameOr(id, "LogGroupName", id, p, line)
	case "AWS::IAM::Role":
		return r.nameOr(id, "RoleName", id, p, line)
	}
	return id, nil
}

func (r *resolver) getAtt(id, attr, p string, line int) (any, error) {
	res, err := r.checkExists(id, p, line)
	if err != nil {
		return nil, err
	}
	region, acct := r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"]
	ref := func() (string, error) { return r.refResource(id, p, line) }
	switch res.Type {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		if attr == "Arn" {
			name, err := ref()
			return functionARN(region, acct, name), err
		}
	case "AWS::Serverless::Api", "AWS::ApiGateway::RestApi":
		if attr == "RootResourceId" {
			return fakeHex("root:" + id)[:10], nil
		}
	case "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::Serverless::SimpleTable":
		name, err := ref()
		arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, acct, name)
		switch attr {
		case "Arn":
			return arn, err
		case "StreamArn":
			return arn + "/stream/1970-01-01T00:00:00.000", err
		}
	case "AWS::KMS::Key":
		switch attr {
		case "Arn":
			return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, acct, fakeUUID("kms:"+id)), nil
		case "KeyId":
			return fakeUUID("kms:" + id), nil
		}
	case "AWS::S3::Bucket":
		name, err := ref()
		switch attr {
		case "Arn":
			return "arn:aws:s3:::" + name, err
		case "DomainName":
			return name + ".s3.amazonaws.com", err
		}
	case "AWS::SQS::Queue":
		name, err := r.nameOr(id, "QueueName", id, p, line)
		switch attr {
		case "Arn":
			return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, acct, name), err
		case "QueueName":
			return name, err
		case "QueueUrl":
			return ref()
		}
	case "AWS::SNS::Topic":
		switch attr {
		case "TopicArn":
			return ref()
		case "TopicName":
			return r.nameOr(id, "TopicName", id, p, line)
		}
	case "AWS::IAM::Role":
		name, err := ref()
		switch attr {
		case "Arn":
			return fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, name), err
		case "RoleId":
			return "AROA" + strings.ToUpper(fakeHex("role:" + id)[:17]), err
		}
	case "AWS::Logs::LogGroup":
		if attr == "Arn" {
			name, err := ref()
			return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, acct, name), err
		}
	}
	if attr == "Arn" { // a generic ARN: arn:aws:<service>:<region>:<account>:<type>/<name>
		parts := strings.Split(res.Type, "::")
		name, err := ref()
		if len(parts) == 3 {
			return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", strings.ToLower(parts[1]), region, acct, strings.ToLower(parts[2]), name), err
		}
	}
	// Other attributes get a deterministic stand-in.
	return id + "." + attr, nil
}

func (r *resolver) apiID(id string) string {
	if v, ok := r.apiIDs[id]; ok {
		return v
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte("api:" + id))
	b := make([]byte, 10)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	r.apiIDs[id] = string(b)
	return string(b)
}

func functionARN(region, acct, name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, acct, name)
}

func fakeHex(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

// fakeUUID is a stable UUID-shaped id for a resource (a KMS key id, for example), so that
// local tooling can create the stand-in under the same id.
func fakeUUID(seed string) string {
	h := fakeHex(seed)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// scalarString converts a resolved scalar to the string CloudFormation would use.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case nil:
		return "", true
	}
	return "", false
}

func canonical(v any) string {
	if s, ok := scalarString(v); ok {
		return s
	}
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = canonical(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case *intrinsic:
		return x.Name
	case noValueT:
		return "AWS::NoValue"
	}
	return fmt.Sprint(v)
}

func lineOf(v any) int {
	if in, ok := v.(*intrinsic); ok {
		return in.Line
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
