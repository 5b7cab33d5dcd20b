package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/authbridge/authbridge/shared/testenv"
)

func TestLoadKeySetRejectsOtherKeys(t *testing.T) {
	ctx := context.Background()
	client := testenv.KMS(t)
	good := testenv.NewSigningKey(t, client)
	for _, tc := range []struct {
		name  string
		spec  kmstypes.KeySpec
		usage kmstypes.KeyUsageType
	}{
		{"RSA signing key", kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify},
		{"P-384 signing key", kmstypes.KeySpecEccNistP384, kmstypes.KeyUsageTypeSignVerify},
		{"symmetric key", kmstypes.KeySpecSymmetricDefault, kmstypes.KeyUsageTypeEncryptDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: tc.spec, KeyUsage: tc.usage})
			if err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			ks, err := LoadKeySet(ctx, client, []string{good, aws.ToString(out.KeyMetadata.KeyId)})
			if err == nil {
				t.Fatalf("LoadKeySet accepted it: %v", ks.KeyIDs())
			}
			t.Logf("rejected: %v", err)
		})
	}
	t.Run("unknown key", func(t *testing.T) {
		if _, err := LoadKeySet(ctx, client, []string{"00000000-0000-0000-0000-000000000000"}); err == nil {
			t.Error("LoadKeySet accepted an unknown key")
		}
	})
	t.Run("no keys", func(t *testing.T) {
		if _, err := LoadKeySet(ctx, client, nil); err == nil {
			t.Error("LoadKeySet accepted an empty list")
		}
	})
}

func TestParsePublicKey(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der := func(k any) []byte {
		b, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if pub, err := parsePublicKey(der(&p256.PublicKey)); err != nil || !pub.Equal(&p256.PublicKey) {
		t.Errorf("P-256: %v", err)
	}
	good := der(&p256.PublicKey)
	for name, b := range map[string][]byte{
		"P-384": der(&p384.PublicKey), "RSA": der(&rsaKey.PublicKey), "empty": nil,
		"junk": []byte("not a key"), "truncated": good[:len(good)-1],
	} {
		if _, err := parsePublicKey(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestEmptyKeySetJWKS(t *testing.T) {
	var ks *KeySet
	doc, err := ks.JWKS()
	if err != nil || string(doc) != `{"keys":[]}` {
		t.Errorf("JWKS of nil set = %s, %v", doc, err)
	}
	if ks.KeyIDs() != nil {
		t.Error("KeyIDs of nil set")
	}
}
