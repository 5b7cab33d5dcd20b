package samtemplate_test

import (
	"strings"
	"testing"

	sam "github.com/authbridge/authbridge/infra/samtemplate"
)

const loaderTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Size: {Type: Number, Default: 128, MinValue: 128}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
Globals:
  Function:
    Runtime: provided.al2023
    Environment: {Variables: {A: a}}
Resources:
  Key:
    Type: AWS::KMS::Key
    Condition: IsProd
    Properties: {KeySpec: ECC_NIST_P256, KeyUsage: SIGN_VERIFY}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      MemorySize: !Ref Size
      Environment: {Variables: {B: !Sub "${AWS::StackName}-${Env}", K: !If [IsProd, !GetAtt Key.Arn, !Ref AWS::NoValue]}}
      Policies:
        - Statement:
            - Effect: Allow
              Action: kms:Sign
              Resource: [!If [IsProd, !GetAtt Key.Arn, !Ref AWS::NoValue], !GetAtt Other.Arn]
  Other:
    Type: AWS::SQS::Queue
`

// TestLoader: conditions remove resources and pick Fn::If branches (the branch not taken
// may name a resource that does not exist), AWS::NoValue removes keys and list items,
// Globals merge into functions, references become stand-ins, and parameters are checked
// against their constraints.
func TestLoader(t *testing.T) {
	dev, err := sam.Parse("t.yaml", []byte(loaderTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Resource("Key") != nil || dev.Conditions["IsProd"] || !dev.Conditions["IsDev"] {
		t.Errorf("dev: %v", dev.Conditions)
	}
	vars := sam.Get(dev.Props("Fn"), "Environment", "Variables").(map[string]any)
	if vars["A"] != "a" || vars["B"] != sam.StackName+"-dev" || vars["K"] != nil {
		t.Errorf("dev variables %v", vars)
	}
	otherArn := "arn:aws:sqs:" + sam.Region + ":" + sam.AccountID + ":queue/" + sam.StackName + "-Other"
	if res := sam.Strings(sam.Get(dev.Props("Fn"), "Policies").([]any)[0].(map[string]any)["Statement"].([]any)[0].(map[string]any)["Resource"]); len(res) != 1 || res[0] != otherArn {
		t.Errorf("dev resources %v, want [%s]", res, otherArn)
	}
	if fn := dev.CFN.GetAllServerlessFunctionResources()["Fn"]; fn == nil || *fn.MemorySize != 128 || *fn.Runtime != "provided.al2023" {
		t.Errorf("typed view: %+v", fn)
	}
	if _, err := dev.GetAtt("Key", "Arn"); err == nil || !strings.Contains(err.Error(), "Condition is false") {
		t.Errorf("GetAtt of a resource that is not created: %v", err)
	}
	prod, err := sam.Parse("t.yaml", []byte(loaderTemplate), map[string]string{"Env": "prod", "Size": "256"})
	if err != nil {
		t.Fatal(err)
	}
	keyArn, err := prod.GetAtt("Key", "Arn")
	if err != nil || !strings.HasPrefix(keyArn, "arn:aws:kms:"+sam.Region+":"+sam.AccountID+":key/") {
		t.Fatalf("GetAtt Key.Arn = %q, %v", keyArn, err)
	}
	if prod.Resource("Key") == nil || sam.Get(prod.Props("Fn"), "Environment", "Variables", "K") != keyArn || prod.Params["Size"] != 256.0 {
		t.Errorf("prod: %v", prod.Props("Fn"))
	}
	for params, want := range map[string]map[string]string{
		"not one of":   {"Env": "staging"},
		"below":        {"Size": "64"},
		"not declared": {"Nope": "x"},
	} {
		if _, err := sam.Parse("t.yaml", []byte(loaderTemplate), want); err == nil || !strings.Contains(err.Error(), params) {
			t.Errorf("%v: err %v, want %q", want, err, params)
		}
	}
	// goformation refuses properties a resource type does not have.
	typo := strings.Replace(loaderTemplate, "Handler: bootstrap", "Handlr: bootstrap", 1)
	if _, err := sam.Parse("t.yaml", []byte(typo), nil); err == nil || !strings.Contains(err.Error(), "Handlr") {
		t.Errorf("a misspelt property: err %v", err)
	}
	missing := strings.Replace(loaderTemplate, "!GetAtt Other.Arn", "!GetAtt Gone.Arn", 1)
	if _, err := sam.Parse("t.yaml", []byte(missing), nil); err == nil || !strings.Contains(err.Error(), "Gone") {
		t.Errorf("a reference to a missing resource: err %v", err)
	}
	// CloudFormation refuses a reference to a resource its condition removes
	// ("Unresolved resource dependencies").
	dangling := strings.Replace(loaderTemplate, "!GetAtt Other.Arn", "!GetAtt Key.Arn", 1)
	if _, err := sam.Parse("t.yaml", []byte(dangling), nil); err == nil || !strings.Contains(err.Error(), "Key is not created") {
		t.Errorf("a reference to a resource whose condition is false: err %v", err)
	}
}

const standInTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  StageName: {Type: String, Default: Prod}
  Port: {Type: Number, Default: 8080}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref StageName
  Table:
    Type: AWS::DynamoDB::Table
  Key:
    Type: AWS::KMS::Key
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub "alias/${AWS::StackName}-key"
      TargetKeyId: !Ref Key
  Topic:
    Type: AWS::SNS::Topic
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Environment:
        Variables:
          SUB: !Sub "https://${AWS::Region}.example/${StageName}/${Table}/${Table.Arn}/${!Literal}"
          SUB_VARS: !Sub ["${a}-${b}", {a: !Ref Port, b: x}]
          LONG_REF: {Ref: StageName}
          STAGE: !Ref Api.Stage
          STAGE_SUB: !Sub "${Api}/${Api.Stage}"
          KEY: !Ref Key
          KEY_ID: !GetAtt Key.KeyId
          KEY_ARN: !GetAtt [Key, Arn]
          ALIAS: !Ref Alias
          TOPIC: !Ref Topic
          SELF_ARN: !GetAtt Fn.Arn
          OTHER_ATTR: !GetAtt Table.StreamArn
          NUM: !Ref Port
`

// TestStandIns: references resolve to the values CloudFormation would give, built from
// the one set of stand-ins, and Ref/GetAtt give the same values to callers.
func TestStandIns(t *testing.T) {
	tmpl, err := sam.Parse("t.yaml", []byte(standInTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	apiID, _ := tmpl.Ref("Api")
	keyID, _ := tmpl.Ref("Key")
	if len(apiID) != 10 || strings.ToLower(apiID) != apiID || len(keyID) != 36 || strings.Count(keyID, "-") != 4 {
		t.Errorf("api id %q, key id %q: want 10 lower-case characters and a UUID", apiID, keyID)
	}
	acct := sam.Region + ":" + sam.AccountID
	want := map[string]string{
		"SUB":        "https://us-east-1.example/Prod/authbridge-Table/arn:aws:dynamodb:" + acct + ":table/authbridge-Table/${Literal}",
		"SUB_VARS":   "8080-x",
		"LONG_REF":   "Prod",
		"STAGE":      "Prod",
		"STAGE_SUB":  apiID + "/Prod",
		"KEY":        keyID,
		"KEY_ID":     keyID,
		"KEY_ARN":    "arn:aws:kms:" + acct + ":key/" + keyID,
		"ALIAS":      "alias/authbridge-key",
		"TOPIC":      "arn:aws:sns:" + acct + ":authbridge-Topic",
		"SELF_ARN":   "arn:aws:lambda:" + acct + ":function:authbridge-Fn",
		"OTHER_ATTR": "Table.StreamArn",
		"NUM":        "8080",
	}
	vars := sam.Get(tmpl.Props("Fn"), "Environment", "Variables").(map[string]any)
	for k, v := range want {
		if got := sam.Scalar(vars[k]); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got, _ := tmpl.GetAtt("Fn", "Arn"); got != want["SELF_ARN"] {
		t.Errorf("GetAtt Fn.Arn = %q", got)
	}
	if got, _ := tmpl.Ref("Alias"); got != want["ALIAS"] {
		t.Errorf("Ref Alias = %q", got)
	}
	again, _ := sam.Parse("t.yaml", []byte(standInTemplate), nil)
	if id, _ := again.Ref("Key"); id != keyID {
		t.Errorf("the key id changed between loads: %s, %s", keyID, id)
	}
}

func TestLoadErrors(t *testing.T) {
	src := func(value string) string {
		extra := ""
		if strings.Contains(value, "Loop") {
			extra = "  Loop: !Not [!Condition Loop]"
		}
		return `
Parameters:
  Required: {Type: String}
  Choice: {Type: String, Default: a, AllowedValues: [a, b]}
  Pattern: {Type: String, Default: abc, AllowedPattern: "[a-z]+"}
  Count: {Type: Number, Default: 1}
Conditions:
  IsProd: !Equals [a, b]
` + extra + `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: ` + value + `
`
	}
	given := map[string]string{"Required": "x"}
	cases := []struct {
		name, value string
		params      map[string]string
		want        string
	}{
		{"unsupported intrinsic", "!ImportValue shared", given, "Fn::ImportValue is not supported"},
		{"Ref to nothing", "!Ref Nothing", given, "no parameter or resource Nothing"},
		{"GetAtt of nothing", "!GetAtt Nothing.Arn", given, "no parameter or resource Nothing"},
		{"GetAtt without attribute", "!GetAtt Table", given, "Resource.Attribute"},
		{"resource not created", "!Ref ProdOnly", given, "ProdOnly is not created"},
		{"unknown condition", "!If [Nope, a, b]", given, `unknown condition "Nope"`},
		{"circular condition", "!If [Loop, a, b]", given, `condition "Loop" refers to itself`},
		{"parameter without value", "x", nil, "parameter Required has no Default"},
		{"undeclared parameter", "x", map[string]string{"Required": "x", "Nope": "1"}, "parameter Nope is not declared"},
		{"AllowedValues", "x", map[string]string{"Required": "x", "Choice": "c"}, "parameter Choice"},
		{"AllowedPattern", "x", map[string]string{"Required": "x", "Pattern": "ABC"}, "parameter Pattern"},
		{"Number", "x", map[string]string{"Required": "x", "Count": "many"}, "not a number"},
	}
	for _, c := range cases {
		_, err := sam.Parse("inline.yaml", []byte(src(c.value)), c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "inline.yaml: ") {
			t.Errorf("%s: error %v, want one mentioning inline.yaml and %q", c.name, err, c.want)
		}
	}
	if _, err := sam.Parse("inline.yaml", []byte(src("!Sub '${Required}-${Count}'")), given); err != nil {
		t.Errorf("the valid template: %v", err)
	}
}
