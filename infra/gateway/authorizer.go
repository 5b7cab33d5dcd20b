package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/infra/samtemplate"
	"github.com/authbridge/authbridge/shared/guard"
)

// A Lambda REQUEST authorizer, as API Gateway runs it ("Use API Gateway Lambda
// authorizers" in the API Gateway developer guide):
//   - a missing identity source (the Authorization header, say) is 401 without invoking
//     the authorizer; an authorizer without identity sources (no cache) is invoked for
//     every request;
//   - the authorizer failing with the error message "Unauthorized" is 401;
//   - a policy that does not allow execute-api:Invoke on the request's methodArn (an
//     explicit Deny, or an Allow for other resources) is 403 (guard.InvokeAllowed);
//   - any other failure (a crash, a timeout, a malformed answer) is 500;
//   - an answer is cached by the identity source values for ReauthorizeEvery seconds,
//     and the cached policy is evaluated again for each request's methodArn.

type cachedAuth struct {
	res     *authResult
	expires time.Time
}

type authResult struct {
	principalID string
	statements  []events.IAMPolicyStatement
	context     map[string]string
}

// authorizerEvent is the REQUEST authorizer's input.
type authorizerEvent struct {
	Type      string `json:"type"`
	MethodArn string `json:"methodArn"`
	requestFields
}

// methodArn is the execute-api ARN API Gateway gives an authorizer for a request.
func (h *Handler) methodArn(api *API, method, path string) string {
	stage := guard.StageARN(samtemplate.Region, samtemplate.AccountID, api.ID, api.StageName)
	return guard.MethodARN{Stage: stage, Method: method, Path: path}.String()
}

// authorize runs the route's authorizer. It returns the requestContext.authorizer map,
// and the gateway response type to answer with ("" to go on); a Deny keeps the map, for
// gateway response templates ($context.authorizer.x).
func (h *Handler) authorize(ctx context.Context, rc *reqCtx, a *Authorizer) (map[string]any, string) {
	arn := h.methodArn(rc.api, rc.r.Method, rc.path)
	ids, ok := a.identity(rc)
	if !ok {
		return nil, respUnauthorized
	}
	key := rc.api.LogicalID + "\x00" + a.Name + "\x00" + strings.Join(ids, "\x00")
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
		payload, err := json.Marshal(authorizerEvent{Type: "REQUEST", MethodArn: arn, requestFields: h.requestFields(rc)})
		if err != nil {
			h.log.Error("encoding the authorizer event", "authorizer", a.Name, "err", err)
			return nil, respAuthorizerConfigError
		}
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, h.cfg.IntegrationTimeout)
		out, err := h.cfg.Invoker.Invoke(actx, a.Function, payload)
		cancel()
		latency = time.Since(start).Milliseconds()
		if err != nil {
			var fe *FunctionError
			if errors.As(err, &fe) && fe.Message() == "Unauthorized" {
				return nil, respUnauthorized
			}
			h.log.Warn("authorizer failed: 500", "authorizer", a.Name, "function", a.Function, "err", err)
			return nil, respAuthorizerConfigError
		}
		res, err = parseAuthorizerResponse(out)
		if err != nil {
			h.log.Warn("authorizer answer is malformed: 500", "authorizer", a.Name, "function", a.Function, "err", err, "output", truncate(out, 300))
			return nil, respAuthorizerConfigError
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
	out := make(map[string]any, len(res.context)+2)
	for k, v := range res.context {
		out[k] = v
	}
	out["principalId"] = res.principalID
	out["integrationLatency"] = latency
	if !guard.InvokeAllowed(res.statements, arn) {
		h.log.Info("authorizer policy does not allow the request: 403", "authorizer", a.Name, "methodArn", arn, "principalId", res.principalID)
		return out, respAccessDenied
	}
	return out, ""
}

// identity returns the values of the identity source headers; false when one is missing
// or empty.
func (a *Authorizer) identity(rc *reqCtx) ([]string, bool) {
	ids := make([]string, 0, len(a.Headers))
	for _, name := range a.Headers {
		v := rc.header(name)
		if v == "" {
			return nil, false
		}
		ids = append(ids, v)
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
			return nil, errors.New("policyDocument.Statement is neither a list nor an object")
		}
		list = []map[string]json.RawMessage{one}
	}
	for i, s := range list {
		var st events.IAMPolicyStatement
		effRaw, _ := lookupFold(s, "Effect")
		if err := json.Unmarshal(effRaw, &st.Effect); err != nil || (st.Effect != "Allow" && st.Effect != "Deny") {
			return nil, fmt.Errorf("policyDocument.Statement[%d].Effect must be Allow or Deny", i)
		}
		var err error
		for name, dst := range map[string]*[]string{"Action": &st.Action, "Resource": &st.Resource} {
			v, ok := lookupFold(s, name)
			if !ok {
				return nil, fmt.Errorf("policyDocument.Statement[%d] has no %s (NotAction and NotResource are not emulated)", i, name)
			}
			if *dst, err = stringOrList(v); err != nil {
				return nil, fmt.Errorf("policyDocument.Statement[%d].%s: %v", i, name, err)
			}
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
			switch x := x.(type) {
			case string:
				res.context[k] = x
			case float64, bool:
				// REST APIs hand context values to the integration as strings.
				res.context[k] = string(v)
			default:
				return nil, fmt.Errorf("context.%s is %s: only strings, numbers and booleans are allowed", k, v)
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
