package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
	"github.com/authbridge/authbridge/shared/testenv"
)

// The command's contract (README, Companion mode): `-resource <URL>` prints exactly one JSON
// line {"client_id","client_secret","resource"} on stdout and stores only the secret's hash;
// a resource that is not one of PROTECTED_RESOURCES is refused with nothing printed.
func TestRFC7662_2_1_IntrospectionCredentialsCommand(t *testing.T) {
	ddb := testenv.DynamoDB(t)
	table := testenv.UniqueName("authbridge-credentials")
	if err := store.CreateTable(context.Background(), ddb, table); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ISSUER": "http://127.0.0.1:3000", "TABLE_NAME": table,
		"PROTECTED_RESOURCES": "http://127.0.0.1:3000/mcp,https://crm.example.com/mcp"}
	getenv := func(k string) string { return vars[k] }

	var out bytes.Buffer
	if err := run([]string{"-resource", "HTTPS://crm.example.com:443/mcp/"}, getenv, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\n") != 1 || !strings.HasSuffix(out.String(), "\n") {
		t.Fatalf("stdout must be one line: %q", out.String())
	}
	var creds map[string]string
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&creds); err != nil || len(creds) != 3 {
		t.Fatalf("stdout %q: %v", out.String(), err)
	}
	if creds["resource"] != "https://crm.example.com/mcp" || !oauth.IsResourceServerID(creds["client_id"]) ||
		!strings.HasPrefix(creds["client_secret"], oauth.PrefixResourceServerSecret) {
		t.Fatalf("credentials %v", creds)
	}
	rs, err := store.New(ddb, table).GetResourceServer(context.Background(), creds["client_id"])
	if err != nil || !bytes.Equal(rs.SecretHash, oauth.HashSecret(creds["client_secret"])) || rs.Resource != creds["resource"] {
		t.Fatalf("stored %+v, %v", rs, err)
	}

	for name, args := range map[string][]string{
		"not a protected resource": {"-resource", "https://other.example.com/mcp"},
		"no flag":                  nil,
		"both flags":               {"-resource", "https://crm.example.com/mcp", "-delete", creds["client_id"]},
		"extra argument":           {"-resource", "https://crm.example.com/mcp", "x"},
	} {
		out.Reset()
		if err := run(args, getenv, &out); err == nil || out.Len() != 0 {
			t.Errorf("%s: err %v, stdout %q; want an error and nothing on stdout", name, err, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"-resource", "https://crm.example.com/mcp"}, func(k string) string {
		if k == "TABLE_NAME" {
			return ""
		}
		return vars[k]
	}, &out); err == nil || out.Len() != 0 {
		t.Errorf("without TABLE_NAME: %v %q", err, out.String())
	}

	out.Reset()
	if err := run([]string{"-delete", creds["client_id"]}, getenv, &out); err != nil || strings.TrimSpace(out.String()) != `{"client_id":"`+creds["client_id"]+`","deleted":true}` {
		t.Fatalf("delete: %v %q", err, out.String())
	}
	if _, err := store.New(ddb, table).GetResourceServer(context.Background(), creds["client_id"]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
