package oauth

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func basic(idAndSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(idAndSecret))
}

func TestParseClientCredentials(t *testing.T) {
	tests := []struct {
		name   string
		header string
		form   url.Values
		want   ClientCredentials
		code   string
	}{
		{"RFC 6749 §2.3.1 client_secret_basic", basic("abc_1:abcs_secret"), nil,
			ClientCredentials{"abc_1", "abcs_secret", AuthMethodClientSecretBasic}, ""},
		{"RFC 6749 §2.3.1 Basic id and secret are form-urlencoded (':' and '+')", basic(url.QueryEscape("abc 1") + ":" + url.QueryEscape("a:b+c/d=")), nil,
			ClientCredentials{"abc 1", "a:b+c/d=", AuthMethodClientSecretBasic}, ""},
		{"RFC 6749 §2.3.1 Basic '%3A' in the id stays in the id", basic("abc%3A1:s"), nil,
			ClientCredentials{"abc:1", "s", AuthMethodClientSecretBasic}, ""},
		{"RFC 6749 §2.3.1 Basic raw '+' decodes to a space", basic("abc_1:a+b"), nil,
			ClientCredentials{"abc_1", "a b", AuthMethodClientSecretBasic}, ""},
		{"RFC 7617 §2 Basic splits at the first colon", basic("abc_1:a:b"), nil,
			ClientCredentials{"abc_1", "a:b", AuthMethodClientSecretBasic}, ""},
		{"RFC 7235 §2.1 auth scheme is case-insensitive", "bASIC " + base64.StdEncoding.EncodeToString([]byte("abc_1:s")), nil,
			ClientCredentials{"abc_1", "s", AuthMethodClientSecretBasic}, ""},
		{"RFC 6749 §2.3.1 Basic with the same client_id in the body", basic("abc_1:s"), url.Values{"client_id": {"abc_1"}},
			ClientCredentials{"abc_1", "s", AuthMethodClientSecretBasic}, ""},
		{"RFC 6749 §2.3 Basic and client_secret in the body", basic("abc_1:s"), url.Values{"client_id": {"abc_1"}, "client_secret": {"s"}},
			ClientCredentials{}, "invalid_request"},
		{"RFC 6749 §2.3 Basic and client_secret alone in the body", basic("abc_1:s"), url.Values{"client_secret": {"other"}},
			ClientCredentials{}, "invalid_request"},
		{"RFC 6749 §2.3 Basic and another client_id in the body", basic("abc_1:s"), url.Values{"client_id": {"abc_2"}},
			ClientCredentials{}, "invalid_request"},
		{"RFC 6749 §2.3.1 Basic with an empty client id", basic(":s"), nil, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 Basic without a colon", basic("abc_1"), nil, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 Basic not base64", "Basic !!!", nil, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 Basic without credentials", "Basic", nil, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 Basic with a bad percent-escape in the id", basic("abc%zz:s"), nil, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 Basic with a bad percent-escape in the secret", basic("abc_1:%"), nil, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3 Bearer is not client authentication", "Bearer abc", url.Values{"client_id": {"abc_1"}}, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 client_secret_post", "", url.Values{"client_id": {"abc_1"}, "client_secret": {"a:b+c"}},
			ClientCredentials{"abc_1", "a:b+c", AuthMethodClientSecretPost}, ""},
		{"RFC 6749 §2.1 public client: client_id only (none)", "", url.Values{"client_id": {"abc_1"}},
			ClientCredentials{"abc_1", "", AuthMethodNone}, ""},
		{"RFC 6749 §2.3 no client identification", "", url.Values{}, ClientCredentials{}, "invalid_client"},
		{"RFC 6749 §2.3.1 client_secret without client_id", "", url.Values{"client_secret": {"s"}}, ClientCredentials{}, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := tt.form
			if form == nil {
				form = url.Values{}
			}
			got, err := ParseClientCredentials(tt.header, form)
			wantCode(t, err, tt.code)
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	secret := "abcs_" + "correct-horse-battery-staple"
	hash := HashSecret(secret)
	tests := []struct {
		name       string
		creds      ClientCredentials
		registered string
		hash       []byte
		code       string
	}{
		{"RFC 7591 §2 public client with none", ClientCredentials{"abc_1", "", AuthMethodNone}, AuthMethodNone, nil, ""},
		{"RFC 6749 §2.3.1 post with the right secret", ClientCredentials{"abc_1", secret, AuthMethodClientSecretPost}, AuthMethodClientSecretPost, hash, ""},
		{"RFC 6749 §2.3.1 basic with the right secret", ClientCredentials{"abc_1", secret, AuthMethodClientSecretBasic}, AuthMethodClientSecretBasic, hash, ""},
		{"RFC 6749 §2.3.1 wrong secret", ClientCredentials{"abc_1", secret + "x", AuthMethodClientSecretPost}, AuthMethodClientSecretPost, hash, "invalid_client"},
		{"RFC 6749 §2.3.1 secret prefix", ClientCredentials{"abc_1", secret[:len(secret)-1], AuthMethodClientSecretBasic}, AuthMethodClientSecretBasic, hash, "invalid_client"},
		{"RFC 6749 §2.3.1 empty secret", ClientCredentials{"abc_1", "", AuthMethodClientSecretPost}, AuthMethodClientSecretPost, hash, "invalid_client"},
		{"RFC 6749 §2.3.1 no stored hash", ClientCredentials{"abc_1", secret, AuthMethodClientSecretPost}, AuthMethodClientSecretPost, nil, "invalid_client"},
		{"RFC 6749 §2.3.1 secret compared, not its hash", ClientCredentials{"abc_1", string(hash), AuthMethodClientSecretPost}, AuthMethodClientSecretPost, hash, "invalid_client"},
		{"RFC 7591 §2 post client using basic", ClientCredentials{"abc_1", secret, AuthMethodClientSecretBasic}, AuthMethodClientSecretPost, hash, "invalid_client"},
		{"RFC 7591 §2 basic client using post", ClientCredentials{"abc_1", secret, AuthMethodClientSecretPost}, AuthMethodClientSecretBasic, hash, "invalid_client"},
		{"RFC 7591 §2 confidential client omitting its secret", ClientCredentials{"abc_1", "", AuthMethodNone}, AuthMethodClientSecretPost, hash, "invalid_client"},
		{"RFC 7591 §2 public client sending a secret", ClientCredentials{"abc_1", secret, AuthMethodClientSecretPost}, AuthMethodNone, nil, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authenticate(tt.creds, tt.registered, tt.hash)
			wantCode(t, err, tt.code)
			if err != nil && err.Status != 401 {
				t.Fatalf("RFC 6749 §5.2: invalid_client status %d, want 401", err.Status)
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	a, b := HashSecret("abcs_one"), HashSecret("abcs_two")
	if len(a) != 32 || !bytes.Equal(a, HashSecret("abcs_one")) || bytes.Equal(a, b) {
		t.Fatalf("HashSecret must be SHA-256: deterministic, 32 bytes, distinct per input")
	}
	// SHA-256("") — a fixed vector so the stored form cannot change silently.
	if got := base64.StdEncoding.EncodeToString(HashSecret("")); got != "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" {
		t.Fatalf("HashSecret(\"\") = %s", got)
	}
}

// RFC 7662 §2.1: resource-server client ids have their own shape; an MCP client's id (or a
// secret sent as the id) is never one.
func TestRFC7662_2_1_ResourceServerIDShape(t *testing.T) {
	if id := NewOpaque(PrefixResourceServerID); !IsResourceServerID(id) {
		t.Fatalf("a fresh id %s is refused", id)
	}
	for _, id := range []string{
		NewOpaque(PrefixClientID), NewOpaque(PrefixResourceServerSecret), NewOpaque(PrefixClientSecret), "abrs_", "abrs_short",
		PrefixResourceServerID + strings.Repeat("a", 42) + "=", PrefixResourceServerID + strings.Repeat("a", 44), "",
	} {
		if IsResourceServerID(id) {
			t.Errorf("IsResourceServerID(%q) = true", id)
		}
	}
}
