package gateway

import (
	"net/http"
	"strconv"
)

// Gateway response types the emulator answers with.
const (
	respUnauthorized          = "UNAUTHORIZED"
	respAccessDenied          = "ACCESS_DENIED"
	respAuthorizerConfigError = "AUTHORIZER_CONFIGURATION_ERROR"
	respMissingAuthToken      = "MISSING_AUTHENTICATION_TOKEN"
	respRequestTooLarge       = "REQUEST_TOO_LARGE"
	respBadRequestBody        = "BAD_REQUEST_BODY"
	respIntegrationTimeout    = "INTEGRATION_TIMEOUT"
	respIntegrationFailure    = "INTEGRATION_FAILURE"
	// respLambdaError is the 502 a Lambda proxy integration answers when the function
	// fails or its output is malformed. It has no type of its own (a template cannot
	// customize it except through DEFAULT_5XX, which the project's template does not use).
	respLambdaError = "lambda-error"
)

type defaultResponse struct {
	status    int
	body      string // API Gateway's own bodies, byte for byte
	errorType string // x-amzn-ErrorType
}

// defaultResponses are API Gateway's defaults for the types above ("Gateway response
// types for API Gateway" in the API Gateway developer guide).
var defaultResponses = map[string]defaultResponse{
	respUnauthorized:          {401, `{"message":"Unauthorized"}`, "UnauthorizedException"},
	respAccessDenied:          {403, `{"message":"User is not authorized to access this resource"}`, "AccessDeniedException"},
	respAuthorizerConfigError: {500, `{"message":null}`, "AuthorizerConfigurationException"},
	respMissingAuthToken:      {403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
	respRequestTooLarge:       {413, `{"message":"Request Too Long"}`, "RequestTooLongException"},
	respBadRequestBody:        {400, `{"message":null}`, "BadRequestException"},
	respIntegrationTimeout:    {504, `{"message": "Endpoint request timed out"}`, ""},
	// The documented status (504); the body is LocalStack's, AWS's is not documented.
	respIntegrationFailure: {504, `{"message":"Network error communicating with endpoint"}`, ""},
	respLambdaError:        {502, `{"message": "Internal server error"}`, "InternalServerErrorException"},
}

// gatewayResponse writes a response of the given type with the template's customization
// of that type (GatewayResponses: status code and static headers), if any.
func (h *Handler) gatewayResponse(w http.ResponseWriter, rc *reqCtx, typ string) int {
	def := defaultResponses[typ]
	status, body := def.status, def.body
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	h.commonHeaders(hdr, rc)
	if def.errorType != "" {
		hdr.Set("x-amzn-ErrorType", def.errorType)
	}
	if custom := rc.api.GatewayResponses[typ]; custom != nil {
		if custom.StatusCode != 0 {
			status = custom.StatusCode
		}
		for name, v := range custom.Headers {
			hdr.Set(name, v)
		}
		if custom.Template != "" {
			body = renderTemplate(custom.Template, rc)
		}
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	return status
}

// commonHeaders are on every API Gateway response.
func (h *Handler) commonHeaders(hdr http.Header, rc *reqCtx) {
	hdr.Set("x-amzn-RequestId", rc.requestID)
	hdr.Set("x-amz-apigw-id", rc.extendedID)
	hdr.Set("X-Amzn-Trace-Id", rc.traceID)
}
