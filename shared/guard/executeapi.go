package guard

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// The execute-api ARNs of a REST API, built and matched in one place for everything that
// plays API Gateway (infra/gateway, guard/gatewaytest); ParseMethodARN reads them back.

// StageARN is the execute-api ARN of one stage of a REST API:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}.
func StageARN(region, account, apiID, stage string) string {
	return "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/" + stage
}

// String is the methodArn API Gateway gives an authorizer: {Stage}/{Method}/{path}, where
// the path is the request's, without its leading slash ("…/Prod/POST/mcp"; the root is
// "…/Prod/GET/"). It is the inverse of ParseMethodARN.
func (m MethodARN) String() string {
	if !strings.HasPrefix(m.Path, "/") {
		return m.Stage + "/" + m.Method + "/" + m.Path
	}
	return m.Stage + "/" + m.Method + m.Path
}

// InvokeAllowed evaluates an authorizer's policy for execute-api:Invoke on methodArn as
// API Gateway does (IAM policy evaluation logic): an explicit Deny that matches wins,
// otherwise some matching Allow is needed. Actions match case-insensitively, resources
// case-sensitively.
func InvokeAllowed(statements []events.IAMPolicyStatement, methodArn string) bool {
	allowed := false
	for _, st := range statements {
		if !matchesAny(st.Action, "execute-api:invoke", true) || !matchesAny(st.Resource, methodArn, false) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func matchesAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch is IAM's pattern matching: "*" matches any run of characters (slashes and
// colons included), "?" exactly one character.
func wildcardMatch(pattern, s string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
