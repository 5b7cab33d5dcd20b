package templatecheck_test

import (
	"strings"
	"testing"

	tc "github.com/authbridge/authbridge/infra/templatecheck"
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

// TestLoader: conditions remove resources and pick Fn::If branches, AWS::NoValue removes
// keys and list items, Globals merge into functions, references become markers, and
// parameters are checked against their constraints.
func TestLoader(t *testing.T) {
	dev, err := tc.Parse("t.yaml", []byte(loaderTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Resource("Key") != nil || dev.Conditions["IsProd"] || !dev.Conditions["IsDev"] {
		t.Errorf("dev: %v", dev.Conditions)
	}
	vars := tc.Get(dev.Props("Fn"), "Environment", "Variables").(map[string]any)
	if vars["A"] != "a" || vars["B"] != "authbridge-dev" || vars["K"] != nil {
		t.Errorf("dev variables %v", vars)
	}
	if res := tc.Strings(tc.Get(dev.Props("Fn"), "Policies").([]any)[0].(map[string]any)["Statement"].([]any)[0].(map[string]any)["Resource"]); len(res) != 1 || res[0] != "{{GetAtt:Other.Arn}}" {
		t.Errorf("dev resources %v", res)
	}
	if fn := dev.CFN.GetAllServerlessFunctionResources()["Fn"]; fn == nil || *fn.MemorySize != 128 || *fn.Runtime != "provided.al2023" {
		t.Errorf("typed view: %+v", fn)
	}
	prod, err := tc.Parse("t.yaml", []byte(loaderTemplate), map[string]string{"Env": "prod", "Size": "256"})
	if err != nil {
		t.Fatal(err)
	}
	if prod.Resource("Key") == nil || tc.Get(prod.Props("Fn"), "Environment", "Variables", "K") != "{{GetAtt:Key.Arn}}" || prod.Params["Size"] != 256.0 {
		t.Errorf("prod: %v", prod.Props("Fn"))
	}
	for params, want := range map[string]map[string]string{
		"not one of":   {"Env": "staging"},
		"below":        {"Size": "64"},
		"not declared": {"Nope": "x"},
	} {
		if _, err := tc.Parse("t.yaml", []byte(loaderTemplate), want); err == nil || !strings.Contains(err.Error(), params) {
			t.Errorf("%v: err %v, want %q", want, err, params)
		}
	}
	// goformation refuses properties a resource type does not have.
	typo := strings.Replace(loaderTemplate, "Handler: bootstrap", "Handlr: bootstrap", 1)
	if _, err := tc.Parse("t.yaml", []byte(typo), nil); err == nil || !strings.Contains(err.Error(), "Handlr") {
		t.Errorf("a misspelt property: err %v", err)
	}
	missing := strings.Replace(loaderTemplate, "!GetAtt Other.Arn", "!GetAtt Gone.Arn", 1)
	if _, err := tc.Parse("t.yaml", []byte(missing), nil); err == nil || !strings.Contains(err.Error(), "Gone") {
		t.Errorf("a reference to a missing resource: err %v", err)
	}
}
