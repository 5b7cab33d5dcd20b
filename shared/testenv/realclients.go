package testenv

import (
	_ "embed"
	"encoding/json"
	"testing"
)

// realClientsJSON is what real MCP clients send at registration and the redirect URIs they
// use afterwards, with where each entry came from (realclients.json's "about" and "source").
//
//go:embed realclients.json
var realClientsJSON []byte

// RealClient is one MCP client's registration request and its runtime redirect URIs.
type RealClient struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// Registration is the RFC 7591 request body the client sends.
	Registration json.RawMessage `json:"registration"`
	// RuntimeRedirectURIs are the redirect URIs the client then uses; port 0 stands for
	// the free port it picks at run time.
	RuntimeRedirectURIs []string `json:"runtime_redirect_uris"`
	// ClientIDMetadataDocument is the client's metadata document URL, for clients that have one.
	ClientIDMetadataDocument string `json:"client_id_metadata_document,omitempty"`
	Notes                    string `json:"notes,omitempty"`
}

// RealClients is the whole data set.
type RealClients struct {
	Clients []RealClient `json:"clients"`
	// MustReject are redirect URIs that registration and authorization must refuse.
	MustReject []string `json:"must_reject_redirect_uris"`
}

// LoadRealClients parses the embedded data set; an empty or malformed set fails the test,
// since the data is what the tests that call it are about.
func LoadRealClients(t testing.TB) RealClients {
	t.Helper()
	var rc RealClients
	if err := json.Unmarshal(realClientsJSON, &rc); err != nil {
		t.Fatalf("realclients.json: %v", err)
	}
	if len(rc.Clients) == 0 || len(rc.MustReject) == 0 {
		t.Fatal("realclients.json lists no clients or no must_reject_redirect_uris")
	}
	for _, c := range rc.Clients {
		if c.Name == "" || c.Source == "" || len(c.Registration) == 0 || len(c.RuntimeRedirectURIs) == 0 {
			t.Fatalf("realclients.json: entry %q lacks a name, source, registration or runtime redirect URI", c.Name)
		}
	}
	return rc
}
