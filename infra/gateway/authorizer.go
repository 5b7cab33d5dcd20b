package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A Lambda authorizer, as API Gateway runs it:
//   - a missing identity source (the Authorization header, say) is 401 without invoking
//     the authorizer;
//   - the authorizer failing with the error message "Unauthorized" is 401;
//   - a policy that does not allow execute-api:Invoke on the request's methodArn (an
//     explicit Deny, or an Allow for other resources) is 403;
//   - any other failure (a crash, a timeout, a malformed answer) is 500;
//   - an answer is cached by the identity source values for ReauthorizeEvery seconds,
//     and the cached policy is evaluated again for each request's methodArn.

type cachedAuth struct {
	res     *authResult
	expires time.Time
}

type authResult struct {
	principalID string
	statements  []statement
	context     map[string]string
}

type statement struct {
	effect              string
	actions, notActions []string
	resources, notRes   []string
}

// authorizerRequestEvent is the REQUEST authorizer's input.
type authorizerRequestEvent struct {
	Type      string `json:"type"`
	MethodArn string `json:"methodArn"`
	requestFields
}

// authorizerTokenEvent is the TOKEN authorizer's input.
type authorizerTokenEvent struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// MethodArn is the execute-api ARN API Gateway gives an authorizer for a request.
func (h *Handler) methodArn(method, path string) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s/%s", h.tmpl.Region, h.tmpl.AccountID,
		h.api.ID, h.api.StageName, method, strings.TrimPrefix(path, "/"))
}

// authorize runs the route's authorizer. It returns the requestContext.authorizer map,
// or the gateway response type to answer with.
func (h *Handler) authorize(ctx context.Context, rc *reqCtx, a *Authorizer) (map[string]any, string) {
	arn := h.methodArn(rc.r.Method, rc.path)
	ids, ok := h.identity(rc, a)
	if !ok {
		return nil, RespUnauthorized
	}
	key := a.Name + "\x00" + strings.Join(ids, "\x00")
	var res *authResult
	latency := int64(0)
	if a.TTL > 0 {
		h.cacheMu.Lock()
		if e, ok := h.cache[key]; ok && h.cfg.Now().Before(e.expires) {
			res = e.res
		}
		h.cacheMu.Unlock()
	}
	if res == nil {
		var payload []byte
		var err error
		if a.Type == "TOKEN" {
			payload, err = json.Marshal(authorizerTokenEvent{Type: "TOKEN", AuthorizationToken: ids[0], MethodArn: arn})
		} else {
			payload, err = json.Marshal(authorizerRequestEvent{Type: "REQUEST", MethodArn: arn, requestFields: h.requestFields(rc)})
		}
		if err != nil {
			h.log.Error("encoding the authorizer event", "authorizer", a.Name, "err", err)
			return nil, RespAuthorizerConfigError
		}
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, h.cfg.IntegrationTimeout)
		out, err := h.cfg.Invoker.Invoke(actx, a.Function, payload)
		cancel()
		latency = time.Since(start).Milliseconds()
		if err != nil {
			var fe *FunctionError
			if errors.As(err, &fe) && fe.Message() == "Unauthorized" {
				return nil, RespUnauthorized
			}
			h.log.Warn("authorizer failed: 500", "authorizer", a.Name, "function", a.Function, "err", err)
			return nil, RespAuthorizerConfigError
		}
		res, err = parseAuthorizerResponse(out)
		if err != nil {
			h.log.Warn("authorizer answer is malformed: 500", "authorizer", a.Name, "function", a.Function, "err", err, "output", truncate(out, 300))
			return nil, RespAuthorizerConfigError
		}
		if a.TTL > 0 {
			now := h.cfg.Now()
			h.cacheMu.Lock()
			if len(h.cache) > 10000 {
				for k, e := range h.cache {
					if !now.Before(e.expires) {
						delete(h.cache, k)
					}
				}
			}
			h.cache[key] = cachedAuth{res: res, expires: now.Add(a.TTL)}
			h.cacheMu.Unlock()
		}
	}
	if !res.allows(arn) {
		h.log.Info("authorizer policy does not allow the request: 403", "authorizer", a.Name, "methodArn", arn, "principalId", res.principalID)
		return nil, RespAccessDenied
	}
	out := make(map[string]any, len(res.context)+2)
	for k, v := range res.context {
		out[k] = v
	}
	out["principalId"] = res.principalID
	out["integrationLatency"] = latency
	return out, ""
}

// identity returns the identity source values; false when one is missing or, for a
// TOKEN authorizer, when the token fails the ValidationExpression.
func (h *Handler) identity(rc *reqCtx, a *Authorizer) ([]string, bool) {
	if a.Type == "TOKEN" {
		tok := rc.header(a.TokenHeader)
		if tok == "" || (a.ValidationExpression != nil && !a.ValidationExpression.MatchString(tok)) {
			return nil, false
		}
		return []string{tok}, true
	}
	var ids []string
	add := func(v string) bool {
		ids = append(ids, v)
		return v != ""
	}
	for _, name := range a.Headers {
		if !add(rc.header(name)) {
			return nil, false
		}
	}
	for _, name := range a.QueryStrings {
		if !add(rc.query[name]) {
			return nil, false
		}
	}
	for _, name := range a.StageVariables {
		if !add(h.api.StageVariables[name]) {
			return nil, false
		}
	}
	for _, name := range a.Context {
		var v string
		switch strings.TrimPrefix(name, "context.") {
		case "identity.sourceIp":
			v = rc.sourceIP
		case "identity.userAgent":
			v = rc.r.UserAgent()
		case "httpMethod":
			v = rc.r.Method
		case "resourcePath":
			v = rc.route.Path
		case "stage":
			v = h.api.StageName
		case "requestId":
			v = rc.requestID
		}
		if !add(v) {
			return nil, false
		}
	}
	return ids, true
}

// parseAuthorizerResponse checks an authorizer's answer: principalId, a policy document
// with statements, and a context of strings, numbers and booleans only.
func parseAuthorizerResponse(out []byte) (*authResult, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil || raw == nil {
		return nil, errors.New("the answer is not a JSON object")
	}
	res := &authResult{context: map[string]string{}}
	if err := json.Unmarshal(raw["principalId"], &res.principalID); err != nil || res.principalID == "" {
		return nil, errors.New("principalId is missing or not a string")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw["policyDocument"], &doc); err != nil || doc == nil {
		return nil, errors.New("policyDocument is missing or not an object")
	}
	stmtRaw, ok := lookupFold(doc, "Statement")
	if !ok {
		return nil, errors.New("policyDocument has no Statement")
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(stmtRaw, &list); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(stmtRaw, &one); err != nil || one == nil {
			return nil, errors.New("Statement is neither a list nor an object")
		}
		list = []map[string]json.RawMessage{one}
	}
	for i, s := range list {
		var st statement
		effRaw, _ := lookupFold(s, "Effect")
		if err := json.Unmarshal(effRaw, &st.effect); err != nil || (st.effect != "Allow" && st.effect != "Deny") {
			return nil, fmt.Errorf("Statement[%d].Effect must be Allow or Deny", i)
		}
		var err error
		fields := []struct {
			name string
			dst  *[]string
		}{{"Action", &st.actions}, {"NotAction", &st.notActions}, {"Resource", &st.resources}, {"NotResource", &st.notRes}}
		for _, f := range fields {
			if v, ok := lookupFold(s, f.name); ok {
				if *f.dst, err = stringOrList(v); err != nil {
					return nil, fmt.Errorf("Statement[%d].%s: %v", i, f.name, err)
				}
			}
		}
		if st.actions == nil && st.notActions == nil {
			return nil, fmt.Errorf("Statement[%d] has no Action", i)
		}
		if st.resources == nil && st.notRes == nil {
			return nil, fmt.Errorf("Statement[%d] has no Resource", i)
		}
		res.statements = append(res.statements, st)
	}
	if c, ok := raw["context"]; ok && string(c) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c, &m); err != nil {
			return nil, errors.New("context is not an object")
		}
		for k, v := range m {
			var x any
			if err := json.Unmarshal(v, &x); err != nil {
				return nil, fmt.Errorf("context.%s: %v", k, err)
			}
			switch x.(type) {
			case string:
				res.context[k] = x.(string)
			case float64, bool:
				// REST APIs hand context values to the integration as strings.
				res.context[k] = string(v)
			default:
				return nil, fmt.Errorf("context.%s is %s: only strings, numbers and booleans are allowed", k, describe(x))
			}
		}
	}
	return res, nil
}

func lookupFold(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func stringOrList(v json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, errors.New("want a string or a list of strings")
	}
	return l, nil
}

// allows evaluates the policy for execute-api:Invoke on arn: an explicit Deny wins,
// else some Allow must match.
func (a *authResult) allows(arn string) bool {
	allowed := false
	for _, s := range a.statements {
		if !s.matches("execute-api:Invoke", arn) {
			continue
		}
		if s.effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (s statement) matches(action, resource string) bool {
	actionOK := anyMatch(s.actions, action, true)
	if s.notActions != nil {
		actionOK = !anyMatch(s.notActions, action, true)
	}
	resOK := anyMatch(s.resources, resource, false)
	if s.notRes != nil {
		resOK = !anyMatch(s.notRes, resource, false)
	}
	return actionOK && resOK
}

func anyMatch(patterns []string, v string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if wildcardMatch(strings.ToLower(p), strings.ToLower(v)) {
				return true
			}
		} else if wildcardMatch(p, v) {
			return true
		}
	}
	return false
}

// wildcardMatch is IAM's matching: * is any run of characters (slashes and colons
// included), ? is exactly one character.
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
