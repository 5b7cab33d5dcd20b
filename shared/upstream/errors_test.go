package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// WorkOS's structured authentication errors (email verification, MFA, organization
// selection, …) are the person's sign-in not being accepted, not an outage, and their
// pending_authentication_token and message never reach the error's text (which is logged).
func TestAuthenticateErrorsKeepWorkOSSecretsOut(t *testing.T) {
	const pending = "pat_SECRET_PENDING_TOKEN_0123456789"
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		rejected bool
	}{
		{"email verification", http.StatusForbidden, `{"code":"email_verification_required","message":"verify ada@example.com","pending_authentication_token":"` + pending + `","email":"ada@example.com","email_verification_id":"email_verification_1"}`, true},
		{"organization selection", http.StatusForbidden, `{"code":"organization_selection_required","message":"pick one","pending_authentication_token":"` + pending + `","user":{"id":"user_1"},"organizations":[{"id":"org_1","name":"A"}]}`, true},
		{"invalid grant", http.StatusBadRequest, `{"error":"invalid_grant","error_description":"The code ` + pending + ` is invalid."}`, true},
		{"server error", http.StatusInternalServerError, `{"message":"internal error with ` + pending + `","pending_authentication_token":"` + pending + `"}`, false},
		{"bad API key", http.StatusUnauthorized, `{"message":"Unauthorized ` + pending + `"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Request-ID", "req_123")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			s := NewSignIn(srv.URL, "sk_test", "client_1", "https://as.example.com/callback")
			_, err := s.Authenticate(context.Background(), "code", strings.Repeat("v", 50), "", "")
			if err == nil || errors.Is(err, ErrRejected) != tc.rejected {
				t.Fatalf("error %v, want rejected = %v", err, tc.rejected)
			}
			for _, secret := range []string{pending, "ada@example.com", "email_verification_1", "verify", "internal error"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error text %q carries %q", err, secret)
				}
			}
		})
	}
}

// A refused refresh (400 invalid_grant and other 4xx) is the session's end; 401 (the API
// key), 429 and 5xx are outages. WorkOS's message never reaches the error's text.
func TestRefreshErrorsSeparateTheSessionsEndFromOutages(t *testing.T) {
	const secret = "SECRET_WORKOS_TEXT_0123456789"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ended  bool
	}{
		{"invalid grant", http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Session ` + secret + ` has ended."}`, true},
		{"not found", http.StatusNotFound, `{"code":"not_found","message":"` + secret + `"}`, true},
		{"bad API key", http.StatusUnauthorized, `{"message":"Unauthorized ` + secret + `"}`, false},
		{"rate limited", http.StatusTooManyRequests, `{"message":"slow down ` + secret + `"}`, false},
		{"server error", http.StatusBadGateway, `{"message":"` + secret + `"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			s := NewSignIn(srv.URL, "sk_test", "client_1", "https://as.example.com/callback")
			_, err := s.Refresh(context.Background(), "rt_"+secret, "")
			if err == nil || errors.Is(err, ErrSessionEnded) != tc.ended {
				t.Fatalf("error %v, want session ended = %v", err, tc.ended)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error text %q carries WorkOS's text or the token", err)
			}
		})
	}
}
