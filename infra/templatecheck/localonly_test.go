package templatecheck_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	sam "github.com/authbridge/authbridge/infra/samtemplate"
)

// localStackTag is the build tag of shared/clientid/localstack.go: it lets the local stack's
// functions fetch Client ID Metadata Documents from a fixture on 127.0.0.1 (and resolve test
// names to non-public addresses). The deployed stack must not be able to turn it on: no
// function's environment names its variables, and the deployed build never sets the tag.
const localStackTag = "authbridge_localstack"

// TestLocalStackExceptionCannotBeDeployed (MCP authorization 2026-07-28, Client ID Metadata
// Documents, SSRF): the exception to the public-address rule exists only in the local build.
func TestLocalStackExceptionCannotBeDeployed(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario) {
		for id := range functions(s.t) {
			vars, _ := sam.Get(s.t.Props(id), "Environment", "Variables").(map[string]any)
			for k := range vars {
				if strings.HasPrefix(k, "AUTHBRIDGE_LOCAL_") {
					t.Errorf("%s: environment variable %s is the local stack's only", id, k)
				}
			}
			// sam build builds each function with the Makefile's build-<LogicalId> target.
			if m := sam.Get(s.t.Resource(id), "Metadata", "BuildMethod"); m != "makefile" {
				t.Errorf("%s: BuildMethod %v, want makefile (the Makefile's deployed build flags)", id, m)
			}
		}
	})

	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(makefile)
	flags := regexp.MustCompile(`(?m)^GO_BUILD_FLAGS := (.*)$`).FindStringSubmatch(text)
	if flags == nil || strings.Contains(flags[1], localStackTag) {
		t.Errorf("Makefile GO_BUILD_FLAGS = %q: must exist and not carry %s", flags, localStackTag)
	}
	recipe := regexp.MustCompile(`(?ms)^build-%Function:\n((?:\t.*\n)+)`).FindStringSubmatch(text)
	if recipe == nil {
		t.Fatalf("Makefile has no build-%%Function target (sam build's BuildMethod makefile)")
	}
	if !strings.Contains(recipe[1], "$(GO_BUILD_FLAGS)") || strings.Contains(recipe[1], "-tags") || strings.Contains(recipe[1], localStackTag) {
		t.Errorf("build-%%Function must build with $(GO_BUILD_FLAGS) and no other tags:\n%s", recipe[1])
	}

	// Only localstack.go is compiled with the tag; deployed.go is its stand-in without it.
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".run" || d.Name() == ".tools" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		switch line := buildLine(string(src)); {
		case rel == filepath.Join("shared", "clientid", "localstack.go"):
			if line != "//go:build "+localStackTag {
				t.Errorf("%s: build line %q, want //go:build %s", rel, line, localStackTag)
			}
		case rel == filepath.Join("shared", "clientid", "deployed.go"):
			if line != "//go:build !"+localStackTag {
				t.Errorf("%s: build line %q, want //go:build !%s", rel, line, localStackTag)
			}
		case strings.Contains(line, localStackTag):
			t.Errorf("%s is compiled only with %s; only shared/clientid/localstack.go may be", rel, localStackTag)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// buildLine is a Go file's //go:build line, or "".
func buildLine(src string) string {
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(line, "//go:build ") {
			return strings.TrimSpace(line)
		}
		if strings.HasPrefix(line, "package ") {
			return ""
		}
	}
	return ""
}
