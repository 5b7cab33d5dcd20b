// Package emutest starts the WorkOS emulator for a test: the repository's seed
// (infra/workos-seed.json), the emulator's default client id and API key, a state directory
// of the test's own, and an httptest server closed with the test.
package emutest

import (
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/authbridge/authbridge/infra/workosemu"
)

// Start serves the emulator, accepting redirectURIs, until t ends.
func Start(t testing.TB, redirectURIs ...string) *httptest.Server {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	seed, err := workosemu.LoadSeed(filepath.Join(filepath.Dir(file), "..", "..", "workos-seed.json"))
	if err != nil {
		t.Fatalf("WorkOS emulator seed: %v", err)
	}
	emu, err := workosemu.New(workosemu.Options{ClientID: workosemu.DefaultClientID, APIKey: workosemu.DefaultAPIKey,
		RedirectURIs: redirectURIs, Seed: seed, StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("WorkOS emulator: %v", err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return srv
}
