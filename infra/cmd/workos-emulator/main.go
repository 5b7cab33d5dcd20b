// Command workos-emulator serves infra/workosemu: a local WorkOS (User Management / AuthKit)
// stand-in for Authbridge development.
//
//	go run ./infra/cmd/workos-emulator -redirect-uris http://localhost:8080/callback
//
// Point the SDK at it with usermanagement.Client.Endpoint = "http://127.0.0.1:3100" (no
// trailing slash). With -webhook-url and -webhook-secret (or $WORKOS_EMULATOR_WEBHOOK_URL and
// $WORKOS_EMULATOR_WEBHOOK_SECRET) it also POSTs signed events (user.deleted,
// organization_membership.deleted/.updated, session.revoked) there; see docs/workos-emulator.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authbridge/authbridge/infra/workosemu"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "workos-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("workos-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3100", "listen address")
	seedPath := fs.String("seed", "infra/workos-seed.json", "seed file (users, organizations, memberships)")
	clientID := fs.String("client-id", workosemu.DefaultClientID, "the WorkOS client id to accept")
	apiKey := fs.String("api-key", workosemu.DefaultAPIKey, "the WorkOS API key to accept (client_secret and Bearer)")
	redirects := fs.String("redirect-uris", os.Getenv("WORKOS_EMULATOR_REDIRECT_URIS"),
		"comma-separated exact redirect_uri allowlist (required; default $WORKOS_EMULATOR_REDIRECT_URIS)")
	returnTo := fs.String("return-to-uris", os.Getenv("WORKOS_EMULATOR_RETURN_TO_URIS"),
		"comma-separated logout return_to allowlist (default: the redirect URIs)")
	stateDir := fs.String("state-dir", ".run/workos", "directory for the persistent signing key")
	issuer := fs.String("issuer", "", "access token iss (default http://<host the caller used>/user_management/<client-id>)")
	webhookURL := fs.String("webhook-url", os.Getenv("WORKOS_EMULATOR_WEBHOOK_URL"),
		"URL that receives signed WorkOS events (default $WORKOS_EMULATOR_WEBHOOK_URL; empty: no webhooks)")
	webhookSecret := fs.String("webhook-secret", os.Getenv("WORKOS_EMULATOR_WEBHOOK_SECRET"),
		"secret that signs the events (WorkOS-Signature); default $WORKOS_EMULATOR_WEBHOOK_SECRET")
	webhookAttempts := fs.Int("webhook-attempts", workosemu.DefaultWebhookAttempts,
		"POSTs per event, first try included (1: no retry)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *webhookAttempts < 1 || *webhookAttempts > workosemu.MaxWebhookAttempts {
		return fmt.Errorf("-webhook-attempts must be between 1 and %d", workosemu.MaxWebhookAttempts)
	}
	redirectURIs := splitList(*redirects)
	if len(redirectURIs) == 0 {
		return errors.New("-redirect-uris (or WORKOS_EMULATOR_REDIRECT_URIS) is required")
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	seed, err := workosemu.LoadSeed(*seedPath)
	if err != nil {
		return err
	}
	emu, err := workosemu.New(workosemu.Options{
		ClientID:     *clientID,
		APIKey:       *apiKey,
		RedirectURIs: redirectURIs,
		ReturnToURIs: splitList(*returnTo),
		Seed:         seed,
		StateDir:     *stateDir,
		Issuer:       *issuer,
		Logger:       logger,

		WebhookURL:      *webhookURL,
		WebhookSecret:   *webhookSecret,
		WebhookAttempts: *webhookAttempts,
	})
	if err != nil {
		return err
	}
	defer emu.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           workosemu.LogRequests(emu, logger),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("workos emulator listening", "url", "http://"+ln.Addr().String(), "client_id", *clientID,
		"users", len(seed.Users), "organizations", len(seed.Organizations),
		"redirect_uris", strings.Join(redirectURIs, ","), "kid", emu.KeyID(), "webhook_url", *webhookURL)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
