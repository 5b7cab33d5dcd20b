package guard_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/guard"
)

func TestMethodARNRoundTrip(t *testing.T) {
	stage := guard.StageARN("us-east-1", "123456789012", "abc123", "Prod")
	for path, want := range map[string]string{
		"/mcp/tools": "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/mcp/tools",
		"/":          "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/",
	} {
		arn := guard.MethodARN{Stage: stage, Method: "POST", Path: path}.String()
		if arn != want {
			t.Errorf("%s: %s, want %s", path, arn, want)
		}
		back, err := guard.ParseMethodARN(arn)
		if err != nil || back.Stage != stage || back.Method != "POST" || back.Path != path {
			t.Errorf("ParseMethodARN(%s) = %+v, %v", arn, back, err)
		}
	}
}

func allow(resource ...string) events.IAMPolicyStatement {
	return events.IAMPolicyStatement{Effect: "Allow", Action: []string{"execute-api:Invoke"}, Resource: resource}
}

// TestInvokeAllowedResourcePatterns: IAM wildcards in Resource against a methodArn.
func TestInvokeAllowedResourcePatterns(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/mcp/tools"
	cases := []struct {
		pattern string
		want    bool
	}{
		{arn, true},
		{"*", true},
		{"arn:aws:execute-api:*:*:abc123/Prod/*", true},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/mcp/*", true},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/*", false},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/mcp", false},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Pro?/POST/mcp/tools", true},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/Pro?/POST/mcp/tool", false},
		{"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*", false}, // resources are case-sensitive
		{"*/POST/*", true},
		{"**", true},
		{"", false},
	}
	for _, c := range cases {
		if got := guard.InvokeAllowed([]events.IAMPolicyStatement{allow(c.pattern)}, arn); got != c.want {
			t.Errorf("Resource %q: allowed = %v, want %v", c.pattern, got, c.want)
		}
	}
}

func TestInvokeAllowedEvaluation(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:1:api/Prod/GET/a"
	st := func(effect, action string, resource ...string) events.IAMPolicyStatement {
		return events.IAMPolicyStatement{Effect: effect, Action: []string{action}, Resource: resource}
	}
	cases := []struct {
		name string
		sts  []events.IAMPolicyStatement
		want bool
	}{
		{"allow", []events.IAMPolicyStatement{st("Allow", "execute-api:Invoke", "*")}, true},
		{"action wildcard, one resource of several", []events.IAMPolicyStatement{st("Allow", "execute-api:*", "x", "*/GET/*")}, true},
		{"action case-insensitive", []events.IAMPolicyStatement{st("Allow", "Execute-API:invoke", "*")}, true},
		{"other action", []events.IAMPolicyStatement{st("Allow", "s3:GetObject", "*")}, false},
		{"deny wins", []events.IAMPolicyStatement{st("Allow", "*", "*"), st("Deny", "*", "*/GET/a")}, false},
		{"deny elsewhere", []events.IAMPolicyStatement{st("Allow", "*", "*"), st("Deny", "*", "*/POST/*")}, true},
		{"allow elsewhere only", []events.IAMPolicyStatement{st("Allow", "*", "*/POST/*")}, false},
		{"unknown effect", []events.IAMPolicyStatement{st("Maybe", "*", "*")}, false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		if got := guard.InvokeAllowed(c.sts, arn); got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
}
