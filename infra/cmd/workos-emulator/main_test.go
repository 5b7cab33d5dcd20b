package main

import (
	"strings"
	"testing"
)

// The webhook flags are checked before anything listens.
func TestWebhookFlagErrors(t *testing.T) {
	t.Setenv("WORKOS_EMULATOR_WEBHOOK_URL", "")
	t.Setenv("WORKOS_EMULATOR_WEBHOOK_SECRET", "")
	base := []string{"-seed", "../../workos-seed.json", "-state-dir", t.TempDir(),
		"-redirect-uris", "http://localhost:8080/callback", "-addr", "127.0.0.1:0"}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-webhook-secret", "s"}, "WebhookSecret without WebhookURL"},
		{[]string{"-webhook-url", "http://127.0.0.1:9/hook"}, "WebhookSecret is required"},
		{[]string{"-webhook-url", "not a url", "-webhook-secret", "s"}, "not an absolute http(s) URL"},
		{[]string{"-webhook-url", "http://127.0.0.1:9/hook", "-webhook-secret", "s", "-webhook-attempts", "0"}, "-webhook-attempts"},
	}
	for _, tc := range cases {
		err := run(append(append([]string{}, base...), tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
