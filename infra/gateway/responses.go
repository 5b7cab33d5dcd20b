package gateway

import (
	"net/http"
	"strconv"
	"strings"
)

// Gateway response types the emulator produces.
const (
	RespUnauthorized          = "UNAUTHORIZED"
	RespAccessDenied          = "ACCESS_DENIED"
	RespAuthorizerConfigError = "AUTHORIZER_CONFIGURATION_ERROR"
	RespAuthorizerFailure     = "AUTHORIZER_FAILURE"
	RespMissingAuthToken      = "MISSING_AUTHENTICATION_TOKEN"
	RespRequestTooLarge       = "REQUEST_TOO_LARGE"
	RespIntegrationTimeout    = "INTEGRATION_TIMEOUT"
	RespIntegrationFailure    = "INTEGRATION_FAILURE"
	RespAPIConfigError        = "API_CONFIGURATION_ERROR"
	RespDefault4XX            = "DEFAULT_4XX"
	RespDefault5XX            = "DEFAULT_5XX"
	// respLambdaError is the 502 a Lambda proxy integration answers when the function
	// fails or its output is malformed. It has no type of its own: DEFAULT_5XX customizes it.
	respLambdaError = "lambda-error"
)

type defaultResponse struct {
	status    int
	body      string // API Gateway's own bodies, byte for byte
	errorType string // x-amzn-ErrorType
}

// defaultResponses are API Gateway's defaults for every type a template may customize.
var defaultResponses = map[string]defaultResponse{
	RespUnauthorized:          {401, `{"message":"Unauthorized"}`, "UnauthorizedException"},
	RespAccessDenied:          {403, `{"message":"User is not authorized to access this resource"}`, "AccessDeniedException"},
	RespAuthorizerConfigError: {500, `{"message":null}`, "AuthorizerConfigurationException"},
	RespAuthorizerFailure:     {500, `{"message":null}`, "AuthorizerFailureException"},
	RespMissingAuthToken:      {403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
	RespRequestTooLarge:       {413, `{"message":"Request Too Long"}`, "RequestTooLongException"},
	RespIntegrationTimeout:    {504, `{"message": "Endpoint request timed out"}`, ""},
	RespIntegrationFailure:    {504, `{"message": "Internal server error"}`, "InternalServerErrorException"},
	RespAPIConfigError:        {500, `{"message": "Internal server error"}`, "InternalServerErrorException"},
	respLambdaError:           {502, `{"message": "Internal server error"}`, "InternalServerErrorException"},
	RespDefault4XX:            {400, `{"message":null}`, ""},
	RespDefault5XX:            {500, `{"message":null}`, ""},
	"BAD_REQUEST_PARAMETERS":  {400, `{"message":null}`, ""},
	"BAD_REQUEST_BODY":        {400, `{"message":null}`, ""},
	"EXPIRED_TOKEN":           {403, `{"message":null}`, ""},
	"INVALID_API_KEY":         {403, `{"message":"Forbidden"}`, ""},
	"INVALID_SIGNATURE":       {403, `{"message":null}`, ""},
	"QUOTA_EXCEEDED":          {429, `{"message":"Limit Exceeded"}`, ""},
	"RESOURCE_NOT_FOUND":      {404, `{"message":null}`, ""},
	"THROTTLED":               {429, `{"message":"Too Many Requests"}`, ""},
	"UNSUPPORTED_MEDIA_TYPE":  {415, `{"message":null}`, ""},
	"WAF_FILTERED":            {403, `{"message":"Forbidden"}`, ""},
}

// gatewayResponse writes a response of the given type, customized by the template's
// GatewayResponses: the type's own entry, else DEFAULT_4XX or DEFAULT_5XX. As in API
// Gateway, a status code set on DEFAULT_4XX/5XX applies to every type of that class
// without a status of its own, and the headers of the chosen entry are added.
func (h *Handler) gatewayResponse(w http.ResponseWriter, rc *reqCtx, typ string) int {
	def := defaultResponses[typ]
	status := def.status
	class := RespDefault4XX
	if status >= 500 {
		class = RespDefault5XX
	}
	custom := h.api.GatewayResponses[typ]
	if typ == respLambdaError {
		custom = nil
	}
	if custom == nil {
		custom = h.api.GatewayResponses[class]
	}
	if custom != nil && custom.StatusCode != 0 {
		status = custom.StatusCode
	} else if d := h.api.GatewayResponses[class]; d != nil && d.StatusCode != 0 {
		status = d.StatusCode
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	h.commonHeaders(hdr, rc)
	if def.errorType != "" {
		hdr.Set("x-amzn-ErrorType", def.errorType)
	}
	if custom != nil {
		for _, name := range sortedKeys(custom.Headers) {
			if v, ok := h.mappingValue(custom.Headers[name], rc); ok {
				hdr.Set(name, v)
			}
		}
	}
	hdr.Set("Content-Length", strconv.Itoa(len(def.body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(def.body))
	return status
}

// mappingValue evaluates a gateway response header's mapping expression.
func (h *Handler) mappingValue(expr string, rc *reqCtx) (string, bool) {
	if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' {
		return expr[1 : len(expr)-1], true
	}
	if rc == nil {
		return "", false
	}
	var v string
	switch {
	case strings.HasPrefix(expr, "method.request.header."):
		v = rc.r.Header.Get(strings.TrimPrefix(expr, "method.request.header."))
	case strings.HasPrefix(expr, "method.request.querystring."):
		v = rc.r.URL.Query().Get(strings.TrimPrefix(expr, "method.request.querystring."))
	case strings.HasPrefix(expr, "method.request.path."):
		v = rc.pathParams[strings.TrimPrefix(expr, "method.request.path.")]
	case strings.HasPrefix(expr, "stageVariables."):
		v = h.api.StageVariables[strings.TrimPrefix(expr, "stageVariables.")]
	case expr == "context.requestId":
		v = rc.requestID
	case expr == "context.stage":
		v = h.api.StageName
	case expr == "context.apiId":
		v = h.api.ID
	}
	return v, v != ""
}

// commonHeaders are on every API Gateway response.
func (h *Handler) commonHeaders(hdr http.Header, rc *reqCtx) {
	if rc == nil {
		return
	}
	hdr.Set("x-amzn-RequestId", rc.requestID)
	hdr.Set("x-amz-apigw-id", rc.extendedID)
	hdr.Set("X-Amzn-Trace-Id", rc.traceID)
}
