// Package gateway emulates the API Gateway REST API of Authbridge's template.yaml for the
// local stack: Load reads the template through infra/samtemplate (parameters, conditions,
// intrinsic functions, Globals and the stand-in values of the deployment), and Handler
// serves the API like API Gateway does, invoking functions through an Invoker
// (infra/lambdarun runs them under the Lambda Runtime Interface Emulator).
//
// It emulates what the template uses, and refuses at load time what it does not emulate
// (SAM's Cors, BinaryMediaTypes, stage variables, implicit APIs, TOKEN authorizers,
// identity sources other than headers, gateway response headers other than static
// values, ResponseTemplates). The choices where API Gateway's behaviour is not documented
// exactly:
//
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
//     (isBase64Encoded false) and stageVariables is null.
//   - The Lambda REQUEST authorizer (authorizer.go): identity sources are headers; the
//     answer is cached per identity for ReauthorizeEvery seconds; its policy is evaluated
//     for the request's methodArn by guard.InvokeAllowed, with the ARN built by
//     guard.StageARN and guard.MethodARN, the same code as shared/guard/gatewaytest. The
//     context reaches the integration with every value as a string (numbers and booleans
//     too), plus principalId and integrationLatency, as REST APIs do.
//   - Gateway responses: API Gateway's default status, body and x-amzn-ErrorType for each
//     type the emulator answers with, and the template's StatusCode and static headers
//     for that type (the WWW-Authenticate challenges of UNAUTHORIZED and ACCESS_DENIED).
//   - Integration: 29 s timeout -> 504; a failing function or a malformed proxy response
//     -> 502 {"message": "Internal server error"}; a body over 10 MB, or an event over
//     Lambda's 6 MB invocation limit -> 413. An isBase64Encoded response body is passed
//     on as the base64 text it is, as API Gateway does without BinaryMediaTypes.
//   - Function environments: Function.Environment applies `sam local --env-vars`
//     overrides; unlike SAM it also adds variables the template does not declare.
package gateway
