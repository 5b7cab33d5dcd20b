// Package gateway emulates the API Gateway REST APIs of Authbridge's template.yaml for the
// local stack: Load reads the template through infra/samtemplate (parameters, conditions,
// intrinsic functions, Globals and the stand-in values of the deployment), and Handler
// serves the APIs like API Gateway does, invoking functions through an Invoker
// (infra/lambdarun runs them under the Lambda Runtime Interface Emulator) and upstreams
// through HTTP proxy integrations.
//
// It emulates what the template uses, and refuses at load time what it does not emulate
// (SAM's Cors, BinaryMediaTypes, implicit APIs, TOKEN authorizers, identity sources other
// than headers, gateway response headers other than static values, response templates
// other than application/json with $context.authorizer.x, $context.requestId and
// $stageVariables.x, DefinitionBody integrations other than http_proxy, request templates,
// VPC links). The choices where API Gateway's behaviour is not documented exactly:
//
//   - Several APIs: the custom domain's API mappings (AWS::ApiGateway::BasePathMapping,
//     AWS::ApiGatewayV2::ApiMapping) say where each is served; the longest matching base
//     path wins and is stripped ("API Gateway strips the incoming base path",
//     rest-api-mappings.html). Without -stage the handler plays the custom domain and
//     serves every mapping; with a stage prefix it plays execute-api, which serves one
//     API: the main one (mapped at the root), so front doors are not served there. One
//     API and no mapping: it is served at the root.
//   - Stage variables (Variables): in the REQUEST authorizer's event and the proxy event
//     (stageVariables), in gateway response templates and as mapping sources.
//   - Routing: resources from the functions' Api events, OPTIONS included (the template
//     routes preflights to the functions). Per path segment a literal beats {param},
//     which beats a greedy {proxy+} (one or more segments); a branch that leads nowhere
//     falls back to the next choice. Method: exact, else ANY. No match -> 403
//     {"message":"Missing Authentication Token"} (MISSING_AUTHENTICATION_TOKEN), as API
//     Gateway answers for unknown paths and methods. With a stage prefix (/Prod), paths
//     outside it get execute-api's 403 {"message":"Forbidden"}.
//   - Events: payload format 1.0. Header names arrive as Go canonicalizes them
//     (x-foo -> X-Foo); API Gateway keeps the client's spelling. Path parameters and
//     query values are URL-decoded. Without BinaryMediaTypes the body is always text
//     (isBase64Encoded false); stageVariables is null unless the stage has Variables.
//   - The Lambda REQUEST authorizer (authorizer.go): identity sources are headers, or none
//     (then invoked for every request, without a cache); the
//     answer is cached per identity for ReauthorizeEvery seconds; its policy is evaluated
//     for the request's methodArn by guard.InvokeAllowed, with the ARN built by
//     guard.StageARN and guard.MethodARN, the same code as shared/guard/gatewaytest. The
//     context reaches the integration with every value as a string (numbers and booleans
//     too), plus principalId and integrationLatency, as REST APIs do.
//   - Gateway responses: API Gateway's default status, body and x-amzn-ErrorType for each
//     type the emulator answers with, and the API's StatusCode, static headers and
//     application/json template for that type (the WWW-Authenticate challenges of
//     UNAUTHORIZED and ACCESS_DENIED). A template can read the authorizer's context on a
//     Deny too ($context.authorizer.required_scope in the front doors' 403); a missing
//     value is empty.
//   - Integration: 29 s timeout -> 504; a failing function or a malformed proxy response
//     -> 502 {"message": "Internal server error"}; a body over 10 MB, or an event over
//     Lambda's 6 MB invocation limit -> 413. An isBase64Encoded response body is passed
//     on as the base64 text it is, as API Gateway does without BinaryMediaTypes.
//   - HTTP proxy integrations (httpproxy.go; OpenAPI DefinitionBody paths with
//     x-amazon-apigateway-integration type http_proxy): the client's method, headers, query
//     string and body go to uri, with {name} filled from integration.request.path.name. The
//     requestParameters sources are method.request.path|header|querystring.x (declared in
//     the operation's parameters, as API Gateway requires), context.authorizer.x, a few
//     context.x, stageVariables.x and 'static' values. A mapped header REPLACES the client's
//     header of that name, and a mapping whose value is empty (an authorizer context without
//     the key) removes it: AWS does not document either for REST APIs
//     (rest-api-parameter-mapping.html; only HTTP APIs have append|overwrite|remove), so the
//     front doors do not rely on it alone: the upstream verifies the signed assertion the
//     authorizer puts in Authorization (docs/front-door.md). Hop-by-hop headers (RFC 9110
//     §7.6.1) are dropped both ways; redirects are passed back, not followed; the upstream's
//     WWW-Authenticate is passed through unchanged (not verified against AWS).
//     responseTransferMode STREAM: status and headers once they are all in, then each chunk
//     flushed as it arrives ("API Gateway won't send the HTTP response status code or any
//     HTTP response headers until it fully receives all headers", response-streaming-http.html),
//     for at most 15 minutes and 5 minutes idle (Regional). BUFFERED (the default): the whole
//     body first, at most 10 MB. timeoutInMillis (default 29 s) runs until the headers
//     (STREAM) or the whole body (BUFFERED) and is answered INTEGRATION_TIMEOUT (504 by
//     default); a refused or reset connection, a TLS or DNS failure, or a broken body is
//     INTEGRATION_FAILURE (504 by default, with LocalStack's body: AWS documents the type's
//     status, not its body, and whether a refused connection is INTEGRATION_FAILURE or
//     API_CONFIGURATION_ERROR is not documented). A client that goes away cancels the
//     upstream request (MCP: closing the SSE stream is cancellation).
//   - Function environments: Function.Environment applies `sam local --env-vars`
//     overrides; unlike SAM it also adds variables the template does not declare.
package gateway
