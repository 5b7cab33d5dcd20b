package templatecheck_test

import (
	"strings"
	"testing"

	sam "github.com/authbridge/authbridge/infra/samtemplate"
	tc "github.com/authbridge/authbridge/infra/templatecheck"
)

// TestSAMConfig: samconfig.toml has dev and prod environments whose parameter_overrides
// name declared parameters with valid values (scenarios() loads the template with them),
// keep the rotation state explicit, and deploy with the capabilities the template needs
// (IAM roles, the nested monitoring application). prod uses the custom domain as issuer,
// WAF, alarm delivery and a reviewed change set.
func TestSAMConfig(t *testing.T) {
	cfg, err := tc.ReadSAMConfig(samconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			d := cfg[env+".deploy.parameters"]
			if d == nil {
				t.Fatalf("no [%s.deploy.parameters]", env)
			}
			if !strings.HasPrefix(str(d["stack_name"]), "authbridge-") || str(d["region"]) == "" {
				t.Errorf("stack_name %q, region %q", d["stack_name"], d["region"])
			}
			caps := strings.Fields(str(d["capabilities"]))
			for _, c := range []string{"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} {
				if !contains(caps, c) {
					t.Errorf("capabilities %v lack %s", caps, c)
				}
			}
			p, err := tc.ParameterOverrides(str(d["parameter_overrides"]))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sam.Load(templatePath, p); err != nil {
				t.Fatal(err)
			}
			if env == "dev" { // make invoke-<function> passes --config-env dev to sam local invoke
				li, err := tc.ParameterOverrides(str(cfg["dev.local_invoke.parameters"]["parameter_overrides"]))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sam.Load(templatePath, li); err != nil {
					t.Fatalf("[dev.local_invoke.parameters]: %v", err)
				}
			}
			for _, k := range []string{"Issuer", "WorkOSClientId", "WorkOSApiKeySecretArn", "SigningKeySlot", "OtherSigningKey"} {
				if p[k] == "" {
					t.Errorf("parameter_overrides must set %s", k)
				}
			}
			if env != "prod" {
				return
			}
			if p["DomainName"] == "" || p["Issuer"] != "https://"+p["DomainName"] || p["CertificateArn"] == "" {
				t.Errorf("prod: Issuer must be https://{DomainName} with a certificate: %q %q %q", p["Issuer"], p["DomainName"], p["CertificateArn"])
			}
			if p["WafEnabled"] == "false" {
				t.Error("prod: WAF must be on")
			}
			if p["AlarmEmail"] == "" && p["AlarmTopicArn"] == "" {
				t.Error("prod: alarms must reach someone (AlarmEmail or AlarmTopicArn)")
			}
			if d["confirm_changeset"] != true {
				t.Error("prod: confirm_changeset must be true")
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestParameterOverrides: the parser of sam's parameter_overrides syntax.
func TestParameterOverrides(t *testing.T) {
	got, err := tc.ParameterOverrides(`A=1 Scopes="mcp:tools orgs:read" Empty= B=x=y`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "Scopes": "mcp:tools orgs:read", "Empty": "", "B": "x=y"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{"A=1 A=2", `A="unterminated`, "novalue"} {
		if _, err := tc.ParameterOverrides(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
