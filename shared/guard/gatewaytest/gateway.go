// Package gatewaytest plays API Gateway (REST API) around Authbridge's functions in tests:
// it builds the REQUEST authorizer event and the Lambda proxy event exactly as API Gateway
// shapes them, evaluates the authorizer's answer as API Gateway does (the error
// "Unauthorized" → 401, a Deny or a policy that does not cover the method ARN → 403), and
// hands the Allow's context to the integration in requestContext.authorizer, stringified,
// next to principalId. Events go through JSON on the way in, as the Lambda runtime delivers
// them.
package gatewaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/authbridge/authbridge/shared/guard"
)

// API is one deployed REST API stage as seen in the events.
type API struct {
	Region  string
	Account string
	ID      string
	Stage   string
}

// Default is the API the tests and the events/ files use.
var Default = API{Region: "us-east-1", Account: "123456789012", ID: "a1b2c3d4e5", Stage: "Prod"}

// Domain is the API's default execute-api host name.
func (api API) Domain() string { return api.ID + ".execute-api." + api.Region + ".amazonaws.com" }

// MethodARN is the ARN API Gateway passes to a REQUEST authorizer for method and path.
func (api API) MethodARN(method, path string) string {
	return guard.MethodARN{Stage: guard.StageARN(api.Region, api.Account, api.ID, api.Stage), Method: method, Path: path}.String()
}

// Request is what a client sends. Header keys are kept as given (API Gateway preserves the
// client's spelling); repeated values stay separate.
type Request struct {
	Method   string
	Path     string // below the stage, e.g. /mcp
	Resource string // the API resource; empty means Path
	Header   http.Header
	Body     string
}

func (r Request) resource() string {
	if r.Resource != "" {
		return r.Resource
	}
	return r.Path
}

// headers returns API Gateway's two views of the headers: the last value of each name,
// and every value.
func (r Request) headers(host string) (map[string]string, map[string][]string) {
	single, multi := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		for _, v := range vs {
			single[k] = v
			multi[k] = append(multi[k], v)
		}
	}
	if _, ok := multi["Host"]; !ok {
		single["Host"], multi["Host"] = host, []string{host}
	}
	return single, multi
}

var requestSeq atomic.Int64

func (api API) identity() events.APIGatewayRequestIdentity {
	return events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7", UserAgent: "gatewaytest"}
}

// AuthorizerEvent is the event of a REQUEST authorizer. Do always invokes the authorizer, as
// API Gateway does for the MCP routes' authorizer, which has no identity source.
func (api API) AuthorizerEvent(r Request) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	single, multi := r.headers(api.Domain())
	ev := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       api.MethodARN(r.Method, r.Path),
		Resource:                        r.resource(),
		Path:                            r.Path,
		HTTPMethod:                      r.Method,
		Headers:                         single,
		MultiValueHeaders:               multi,
		QueryStringParameters:           map[string]string{},
		MultiValueQueryStringParameters: map[string][]string{},
		PathParameters:                  map[string]string{},
		StageVariables:                  map[string]string{},
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: "/" + api.Stage + r.Path, AccountID: api.Account, ResourceID: "res123", Stage: api.Stage,
			RequestID: fmt.Sprintf("req-%d", requestSeq.Add(1)), ResourcePath: r.resource(), HTTPMethod: r.Method,
			APIID: api.ID,
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{
				SourceIP: api.identity().SourceIP,
			},
		},
	}
	return roundTrip(ev)
}

// ProxyEvent is the Lambda proxy integration event of r; authorizer is the context API
// Gateway passes on (nil for a route without an authorizer).
func (api API) ProxyEvent(r Request, authorizer map[string]any) events.APIGatewayProxyRequest {
	single, multi := r.headers(api.Domain())
	now := time.Now()
	ev := events.APIGatewayProxyRequest{
		Resource: r.resource(), Path: r.Path, HTTPMethod: r.Method,
		Headers: single, MultiValueHeaders: multi,
		Body: r.Body,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: api.Account, ResourceID: "res123", Stage: api.Stage, DomainName: api.Domain(),
			DomainPrefix: api.ID, RequestID: fmt.Sprintf("req-%d", requestSeq.Add(1)), ExtendedRequestID: "ext",
			Protocol: "HTTP/1.1", Identity: api.identity(), ResourcePath: r.resource(), Path: "/" + api.Stage + r.Path,
			Authorizer: authorizer, HTTPMethod: r.Method, RequestTime: now.UTC().Format("02/Jan/2006:15:04:05 +0000"),
			RequestTimeEpoch: now.UnixMilli(), APIID: api.ID,
		},
	}
	return roundTrip(ev)
}

// AuthorizerContext is requestContext.authorizer as API Gateway builds it from an Allow:
// principalId, every context value as a string, and integrationLatency.
func AuthorizerContext(resp events.APIGatewayCustomAuthorizerResponse) map[string]any {
	out := map[string]any{"principalId": resp.PrincipalID, "integrationLatency": 3}
	for k, v := range resp.Context {
		switch x := v.(type) {
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

// Status is what API Gateway answers for the authorizer's result on methodArn: 401 for the
// error "Unauthorized", 500 for any other error or an unusable policy, 403 when the policy
// denies the method ARN or does not allow it, 200 (go on to the integration) when it allows.
func Status(resp events.APIGatewayCustomAuthorizerResponse, err error, methodArn string) int {
	if err != nil {
		if err.Error() == "Unauthorized" {
			return http.StatusUnauthorized
		}
		return http.StatusInternalServerError
	}
	// The response must survive JSON (context values: strings, numbers, booleans only).
	b, jerr := json.Marshal(resp)
	if jerr != nil || resp.PrincipalID == "" || resp.PolicyDocument.Version == "" {
		return http.StatusInternalServerError
	}
	var back events.APIGatewayCustomAuthorizerResponse
	if json.Unmarshal(b, &back) != nil {
		return http.StatusInternalServerError
	}
	for _, v := range back.Context {
		switch v.(type) {
		case string, float64, bool:
		default:
			return http.StatusInternalServerError
		}
	}
	if !guard.InvokeAllowed(back.PolicyDocument.Statement, methodArn) {
		return http.StatusForbidden // an explicit Deny, or no Allow for methodArn
	}
	return http.StatusOK
}

// Authorizer is a REQUEST authorizer's Lambda handler.
type Authorizer = func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Integration is a Lambda proxy handler.
type Integration = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Result is the outcome of one request through the gateway.
type Result struct {
	Status     int                                       // what the client sees
	Authorizer events.APIGatewayCustomAuthorizerResponse // the authorizer's answer
	AuthError  error                                     // the authorizer's error, if any
	Response   events.APIGatewayProxyResponse            // the integration's answer, when it was called
	Header     http.Header                               // the integration's headers, as the client sees them
	Called     bool                                      // whether the integration was called
}

// Do runs r through the authorizer and, when it allows, the integration.
func (api API) Do(ctx context.Context, auth Authorizer, integration Integration, r Request) (Result, error) {
	ev := api.AuthorizerEvent(r)
	resp, err := auth(ctx, ev)
	res := Result{Authorizer: resp, AuthError: err, Status: Status(resp, err, ev.MethodArn)}
	if res.Status != http.StatusOK {
		return res, nil
	}
	out, ierr := integration(ctx, api.ProxyEvent(r, AuthorizerContext(resp)))
	if ierr != nil {
		return res, ierr
	}
	res.Called, res.Response, res.Status, res.Header = true, out, out.StatusCode, ResponseHeader(out)
	return res, nil
}

// ResponseHeader merges a proxy response's headers and multiValueHeaders, as API Gateway
// does when it answers the client.
func ResponseHeader(resp events.APIGatewayProxyResponse) http.Header {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return h
}

// roundTrip passes v through JSON, as the Lambda runtime delivers events.
func roundTrip[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
