// Package gateway emulates the API Gateway REST API of a SAM template for the local
// stack: Load reads template.yaml (parameters, conditions, intrinsic functions, Globals),
// and Handler serves one API like API Gateway does, invoking functions through an
// Invoker (infra/lambdarun runs them under the Lambda Runtime Interface Emulator).
//
// What it emulates, and the choices where API Gateway's behaviour is not documented
// exactly:
//
//   - Routing: resources from the functions' Api events. Per path segment a literal
//     beats {param}, which beats a greedy {proxy+} (one or more segments); a branch that
//     leads nowhere falls back to the next choice. Method: exact, else ANY. No match ->
//     403 {"message":"Missing Authentication Token"} (MISSING_AUTHENTICATION_TOKEN), as
//     API Gateway answers for unknown paths and methods. With a stage prefix, paths
//     outside it get execute-api's 403 {"message":"Forbidden"}.
//   - Events: payload format 1.0. Header names arrive as Go canonicalizes them
//     (x-foo -> X-Foo); API Gateway keeps the client's spelling. Path parameters and
//     query values are URL-decoded. The body is base64 (isBase64Encoded) when its
//     Content-Type is one of BinaryMediaTypes, or when it is not valid UTF-8 (which API
//     Gateway would mangle).
//   - Lambda authorizers (REQUEST and TOKEN): see authorizer.go. The context reaches the
//     integration with every value as a string (numbers and booleans too), plus
//     principalId and integrationLatency, as REST APIs do.
//   - Gateway responses: the template's entry for the type, else DEFAULT_4XX/DEFAULT_5XX;
//     a StatusCode on DEFAULT_4XX/5XX replaces the status of every type of its class
//     without one of its own. Header values are mapping expressions ('static',
//     method.request.header.X, ...). ResponseTemplates are refused (SAM has none).
//   - Integration: 29 s timeout -> 504; a failing function or a malformed proxy response
//     -> 502 {"message": "Internal server error"}; a body over 10 MB, or an event over
//     Lambda's 6 MB invocation limit -> 413. An isBase64Encoded response is decoded only
//     when the request's Accept starts with one of BinaryMediaTypes, as API Gateway does.
//   - CORS: SAM's Cors adds an OPTIONS mock to every path without one; like SAM, it is
//     protected by the default authorizer unless Auth.AddDefaultAuthorizerToCorsPreflight
//     is false. Other responses get no CORS headers from the gateway (the functions set
//     them), as in AWS.
//   - Resources resolve to deterministic stand-ins: Ref of a table is its TableName (or
//     logical ID), of a KMS key a UUID derived from the logical ID, of an API a 10-letter
//     id; GetAtt X.Arn builds the ARN from AWS::Region and AWS::AccountId (us-east-1,
//     123456789012 unless given as parameters).
//   - Function environments: Function.Environment applies `sam local --env-vars`
//     overrides; unlike SAM it also adds variables the template does not declare.
package gateway
