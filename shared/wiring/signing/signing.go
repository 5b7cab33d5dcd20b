// Package signing builds a function's KMS-backed token dependencies: the accepted public
// keys and the access-token minter. The authorizer links it without the OAuth endpoints'
// packages (store, WorkOS, pages).
package signing

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/authbridge/authbridge/shared/obs"
	"github.com/authbridge/authbridge/shared/tokens"
	"github.com/authbridge/authbridge/shared/wiring/lambdaenv"
)

// ColdStartTimeout bounds the calls made at cold start (KMS public keys, the WorkOS secret).
const ColdStartTimeout = 5 * time.Second

// KeySet loads the public keys of ACCEPTED_KEY_IDS from KMS, once per cold start: the first
// request of every function that needs them (jwks, authorizer, introspect) uses them. With
// none loaded it stops the cold start.
func KeySet(env lambdaenv.Env, awsCfg aws.Config) *tokens.KeySet {
	ctx, cancel := context.WithTimeout(context.Background(), ColdStartTimeout)
	defer cancel()
	keys, err := tokens.LoadKeySet(ctx, getPublicKey(kms.NewFromConfig(awsCfg).GetPublicKey), env.Config.AcceptedKeyIDs)
	if err == nil && len(keys.KeyIDs()) == 0 {
		err = lambdaenv.Error("no accepted key was loaded")
	}
	if err != nil {
		lambdaenv.Fatal(env.Log, "signing keys could not be loaded", err)
	}
	return keys
}

// Minter returns the KMS token minter for SIGNING_KEY_ID (no call at cold start); each
// kms:Sign's latency is a KMSSignLatency metric.
func Minter(env lambdaenv.Env, awsCfg aws.Config) *tokens.Minter {
	if env.Config.SigningKeyID == "" {
		lambdaenv.Fatal(env.Log, "invalid configuration", lambdaenv.Error("SIGNING_KEY_ID is required"))
	}
	return tokens.NewMinter(sign(kms.NewFromConfig(awsCfg).Sign), env.Config.SigningKeyID, env.Config.Issuer, env.Config.AccessTokenTTL).
		WithSignObserver(SignMetrics(env.Metrics))
}

// SignMetrics records the latency of a kms:Sign call (tokens.Minter.WithSignObserver).
func SignMetrics(m *obs.Metrics) func(ctx context.Context, elapsed time.Duration, _ error) {
	return func(ctx context.Context, elapsed time.Duration, _ error) { m.Latency(ctx, obs.KMSSignLatency, elapsed) }
}

// The KMS calls as the tokens package takes them. Handing it a method value rather than
// *kms.Client keeps the client's other operations out of the binary: a function that also
// executes templates (reflect's MethodByName) would otherwise link every exported method
// of every type stored in an interface, all of KMS's operations included.
type (
	getPublicKey func(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	sign         func(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error)
)

func (f getPublicKey) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, o ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	return f(ctx, in, o...)
}

func (f sign) Sign(ctx context.Context, in *kms.SignInput, o ...func(*kms.Options)) (*kms.SignOutput, error) {
	return f(ctx, in, o...)
}
