package samtemplate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// The deployment's own values, which only CloudFormation knows, have one set of
// stand-ins: the pseudo parameters below, and for each resource the physical ID and
// attributes CloudFormation would give it, derived from its logical ID.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	StackName = "authbridge"
)

var pseudo = map[string]any{
	"AWS::AccountId":        AccountID,
	"AWS::Region":           Region,
	"AWS::StackName":        StackName,
	"AWS::StackId":          "arn:aws:cloudformation:" + Region + ":" + AccountID + ":stack/" + StackName + "/" + standInUUID("stack"),
	"AWS::Partition":        "aws",
	"AWS::URLSuffix":        "amazonaws.com",
	"AWS::NotificationARNs": []any{},
}

// nameProperty is the property that names a resource of each type; Ref returns that name
// (Ref return values in the CloudFormation resource reference). Without it, CloudFormation
// generates a name from the stack name and the logical ID.
var nameProperty = map[string]string{
	"AWS::Serverless::Function":   "FunctionName",
	"AWS::DynamoDB::Table":        "TableName",
	"AWS::KMS::Alias":             "AliasName",
	"AWS::Logs::LogGroup":         "LogGroupName",
	"AWS::CloudWatch::Alarm":      "AlarmName",
	"AWS::CloudWatch::Dashboard":  "DashboardName",
	"AWS::SNS::Topic":             "TopicName",
	"AWS::IAM::Role":              "RoleName",
	"AWS::ApiGateway::DomainName": "DomainName",
	"AWS::WAFv2::WebACL":          "Name",
}

// arnFormat builds GetAtt Arn from the region, the account and the resource's physical ID.
var arnFormat = map[string]string{
	"AWS::Serverless::Function": "arn:aws:lambda:%[1]s:%[2]s:function:%[3]s",
	"AWS::DynamoDB::Table":      "arn:aws:dynamodb:%[1]s:%[2]s:table/%[3]s",
	"AWS::KMS::Key":             "arn:aws:kms:%[1]s:%[2]s:key/%[3]s",
	"AWS::SNS::Topic":           "arn:aws:sns:%[1]s:%[2]s:%[3]s",
	"AWS::IAM::Role":            "arn:aws:iam::%[2]s:role/%[3]s",
	"AWS::CloudWatch::Alarm":    "arn:aws:cloudwatch:%[1]s:%[2]s:alarm:%[3]s",
	"AWS::WAFv2::WebACL":        "arn:aws:wafv2:%[1]s:%[2]s:regional/webacl/%[3]s",
}

// Ref is what Ref of a resource, a parameter or a pseudo parameter resolves to, including
// SAM's referenceable Api.Stage.
func (t *Template) Ref(name string) (string, error) {
	v, err := t.ref(name)
	return Scalar(v), err
}

// GetAtt is what Fn::GetAtt of a resource's attribute resolves to: Arn and a KMS key's
// KeyId as CloudFormation builds them, any other attribute "<LogicalID>.<Attribute>".
func (t *Template) GetAtt(id, attr string) (string, error) {
	typ, err := t.typeOf(id)
	if err != nil {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: %w", id, attr, err)
	}
	switch {
	case attr == "Arn":
		physical, err := t.physicalID(id, typ)
		if f, ok := arnFormat[typ]; ok {
			return fmt.Sprintf(f, Region, AccountID, physical), err
		}
		// arn:aws:<service>:<region>:<account>:<type>/<name>
		parts := strings.Split(strings.ToLower(typ), "::")
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", parts[1], Region, AccountID, parts[len(parts)-1], physical), err
	case typ == "AWS::KMS::Key" && attr == "KeyId":
		return standInUUID("kms:" + id), nil
	}
	return id + "." + attr, nil
}

func (t *Template) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return nil, nil
	}
	if v, ok := t.Params[name]; ok {
		return v, nil
	}
	if v, ok := pseudo[name]; ok {
		return v, nil
	}
	id, sub, _ := strings.Cut(name, ".")
	typ, err := t.typeOf(id)
	if err != nil {
		return nil, fmt.Errorf("Ref %s: %w", name, err)
	}
	switch {
	case sub == "Stage" && typ == "AWS::Serverless::Api": // SAM: the API's stage name
		return t.Eval(Get(t.live[id], "Properties", "StageName"))
	case sub != "":
		return nil, fmt.Errorf("Ref %s: not a referenceable property", name)
	case typ == "AWS::SNS::Topic": // Ref of a topic is its ARN
		return t.GetAtt(id, "Arn")
	}
	return t.physicalID(id, typ)
}

// typeOf is the type of a resource that exists under the conditions.
func (t *Template) typeOf(id string) (string, error) {
	if r, ok := t.live[id]; ok {
		typ, _ := r["Type"].(string)
		return typ, nil
	}
	if Get(t.Raw, "Resources", id) != nil {
		return "", fmt.Errorf("resource %s is not created with these parameters (its Condition is false)", id)
	}
	return "", fmt.Errorf("no parameter or resource %s", id)
}

// physicalID is what Ref of a resource returns: a REST API's 10-character id, a KMS key's
// UUID, else the resource's name (its name property, or one CloudFormation would generate).
func (t *Template) physicalID(id, typ string) (string, error) {
	switch typ {
	case "AWS::Serverless::Api":
		return standInAPIID(id), nil
	case "AWS::KMS::Key":
		return standInUUID("kms:" + id), nil
	}
	if n, ok := t.names[id]; ok {
		return n, nil
	}
	name := StackName + "-" + id
	if raw := Get(t.live[id], "Properties", nameProperty[typ]); raw != nil {
		if t.nameBusy[id] {
			return "", fmt.Errorf("the name of %s refers to itself", id)
		}
		t.nameBusy[id] = true
		v, err := t.Eval(raw)
		delete(t.nameBusy, id)
		if err != nil {
			return "", err
		}
		name = Scalar(v)
	}
	t.names[id] = name
	return name, nil
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// handlers are the intrinsic handlers goformation's processor calls, with their arguments
// already resolved. A problem is recorded in *errp (handlers cannot return errors).
func (t *Template) handlers(errp *error) map[string]intrinsics.IntrinsicHandler {
	fail := func(err error) any {
		if *errp == nil {
			*errp = err
		}
		return nil
	}
	ref := func(name string) any {
		v, err := t.ref(name)
		if err != nil {
			return fail(err)
		}
		return v
	}
	getAtt := func(id, attr string) any {
		v, err := t.GetAtt(id, attr)
		if err != nil {
			return fail(err)
		}
		return v
	}
	sub := func(s string, vars map[string]any) any {
		return subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if lit, ok := strings.CutPrefix(name, "!"); ok { // ${!Literal}
				return "${" + lit + "}"
			}
			if v, ok := vars[name]; ok {
				return Scalar(v)
			}
			// ${Resource.Attribute} is a GetAtt, except SAM's ${Api.Stage}, a Ref.
			if id, attr, ok := strings.Cut(name, "."); ok && !(attr == "Stage" && Get(t.live[id], "Type") == "AWS::Serverless::Api") {
				return Scalar(getAtt(id, attr))
			}
			return Scalar(ref(name))
		})
	}
	unsupported := func(name string, _ any, _ any) any {
		return fail(fmt.Errorf("%s is not supported", name))
	}
	return map[string]intrinsics.IntrinsicHandler{
		"Ref": func(_ string, in any, _ any) any {
			s, ok := in.(string)
			if !ok {
				return fail(fmt.Errorf("Ref takes a name, got %v", in))
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
					parts = append(parts, Scalar(p))
				}
			}
			if len(parts) != 2 {
				return fail(fmt.Errorf("Fn::GetAtt %v: want Resource.Attribute", in))
			}
			return getAtt(parts[0], parts[1])
		},
		"Fn::Sub": func(_ string, in any, _ any) any {
			switch x := in.(type) {
			case string:
				return sub(x, nil)
			case []any:
				if len(x) == 2 {
					s, ok1 := x[0].(string)
					vars, ok2 := x[1].(map[string]any)
					if ok1 && ok2 {
						return sub(s, vars)
					}
				}
			}
			return fail(fmt.Errorf("Fn::Sub %v: want a string or [string, {variables}]", in))
		},
		// Evaluated before the processor runs (conditions, pickBranches).
		"Fn::If":     unsupported,
		"Fn::Equals": unsupported,
		// goformation's own handlers would silently leave nothing.
		"Fn::ImportValue": unsupported,
		"Fn::Cidr":        unsupported,
		"Fn::Transform":   unsupported,
	}
}

// standInAPIID is a REST API id: 10 lower-case letters and digits, like API Gateway's.
func standInAPIID(id string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte("api:" + id))
	b := make([]byte, 10)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// standInUUID is a stable UUID-shaped id (a KMS key id, for example).
func standInUUID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
