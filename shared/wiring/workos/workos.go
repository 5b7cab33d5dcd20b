// Package workos builds the WorkOS AuthKit client of a function from its configuration,
// reading the API key from Secrets Manager in AWS. Both shared/wiring (the OAuth endpoints)
// and the MCP function (shared/wiring/mcp, without the OAuth endpoints' packages) use it.
package workos

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authbridge/authbridge/shared/upstream"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
	"github.com/authbridge/authbridge/shared/wiring/signing"
)

// CallbackPath is authserver.PathCallback (a test checks it), the redirect URI registered
// with WorkOS, repeated here so that the MCP function does not link the OAuth endpoints.
const CallbackPath = "/api/ext/auth/callback"

// SignIn returns the WorkOS client, reading the API key from Secrets Manager in AWS
// (WORKOS_API_KEY_SECRET_ARN) once per cold start, or WORKOS_API_KEY locally; without a key
// or WORKOS_CLIENT_ID it stops the cold start.
func SignIn(env lambdaenv.Env, awsCfg aws.Config) *upstream.SignIn {
	ctx, cancel := context.WithTimeout(context.Background(), signing.ColdStartTimeout)
	defer cancel()
	key, err := upstream.LoadAPIKey(ctx, SecretsAPI(awsCfg), env.Config.WorkOSAPIKeySecretARN, env.Config.WorkOSAPIKey)
	if err != nil {
		lambdaenv.Fatal(env.Log, "WorkOS API key", err)
	}
	if env.Config.WorkOSClientID == "" {
		lambdaenv.Fatal(env.Log, "invalid configuration", lambdaenv.Error("WORKOS_CLIENT_ID is required"))
	}
	return upstream.NewSignIn(env.Config.WorkOSEndpoint, key, env.Config.WorkOSClientID, env.Config.Endpoint(CallbackPath))
}

// Client returns the WorkOS User Management client the MCP tools call as the signed-in
// person, or stops the cold start when there is none.
func Client(env lambdaenv.Env, awsCfg aws.Config) *usermanagement.Client {
	client := SignIn(env, awsCfg).Client()
	if client == nil {
		lambdaenv.Fatal(env.Log, "missing dependency", lambdaenv.Error("the WorkOS client could not be built"))
	}
	return client
}

// SecretsAPI is Secrets Manager as upstream takes it.
func SecretsAPI(awsCfg aws.Config) upstream.SecretsAPI {
	return getSecretValue(secretsmanager.NewFromConfig(awsCfg).GetSecretValue)
}

// The clients are handed on as the few calls their users make (method values), never as
// the client itself stored in an interface: the functions that execute templates (the
// browser pages; reflect's MethodByName) link every exported method of every type stored in
// an interface, and of the types it holds, so *secretsmanager.Client,
// *usermanagement.Client or *upstream.SignIn in an interface would bring every Secrets
// Manager and WorkOS operation into those binaries. Same for KMS in shared/wiring/signing.

// getSecretValue is Secrets Manager as upstream.SecretsAPI.
type getSecretValue func(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)

func (f getSecretValue) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f(ctx, in, o...)
}

// signIn is an *upstream.SignIn as the OAuth endpoints call it (authserver.SignIn).
type signIn struct {
	authorizationURL func(state, codeChallenge string) (string, error)
	authenticate     func(ctx context.Context, code, verifier, ipAddress, userAgent string) (upstream.Identity, error)
	refresh          func(ctx context.Context, refreshToken, organizationID string) (upstream.Identity, error)
}

// Narrow returns s with only the calls of authserver.SignIn.
func Narrow(s *upstream.SignIn) interface {
	AuthorizationURL(state, codeChallenge string) (string, error)
	Authenticate(ctx context.Context, code, verifier, ipAddress, userAgent string) (upstream.Identity, error)
	Refresh(ctx context.Context, refreshToken, organizationID string) (upstream.Identity, error)
} {
	return &signIn{authorizationURL: s.AuthorizationURL, authenticate: s.Authenticate, refresh: s.Refresh}
}

func (s *signIn) AuthorizationURL(state, codeChallenge string) (string, error) {
	return s.authorizationURL(state, codeChallenge)
}

func (s *signIn) Authenticate(ctx context.Context, code, verifier, ipAddress, userAgent string) (upstream.Identity, error) {
	return s.authenticate(ctx, code, verifier, ipAddress, userAgent)
}

func (s *signIn) Refresh(ctx context.Context, refreshToken, organizationID string) (upstream.Identity, error) {
	return s.refresh(ctx, refreshToken, organizationID)
}

// Directory is the part of WorkOS User Management the MCP tools call (mcpserver.Directory,
// declared again here so that the OAuth endpoint functions do not link the MCP server).
type Directory interface {
	GetUser(ctx context.Context, opts usermanagement.GetUserOpts) (usermanagement.User, error)
	ListOrganizationMemberships(ctx context.Context, opts usermanagement.ListOrganizationMembershipsOpts) (usermanagement.ListOrganizationMembershipsResponse, error)
}

// NewDirectory returns the WorkOS client as the MCP tools call it, or stops the cold start
// when there is none.
func NewDirectory(env lambdaenv.Env, awsCfg aws.Config) Directory {
	c := Client(env, awsCfg)
	return directory{getUser: c.GetUser, listMemberships: c.ListOrganizationMemberships}
}

type directory struct {
	getUser         func(context.Context, usermanagement.GetUserOpts) (usermanagement.User, error)
	listMemberships func(context.Context, usermanagement.ListOrganizationMembershipsOpts) (usermanagement.ListOrganizationMembershipsResponse, error)
}

func (d directory) GetUser(ctx context.Context, opts usermanagement.GetUserOpts) (usermanagement.User, error) {
	return d.getUser(ctx, opts)
}

func (d directory) ListOrganizationMemberships(ctx context.Context, opts usermanagement.ListOrganizationMembershipsOpts) (usermanagement.ListOrganizationMembershipsResponse, error) {
	return d.listMemberships(ctx, opts)
}
