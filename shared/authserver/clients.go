package authserver

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"

	"github.com/authbridge/authbridge/shared/clientid"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/store"
)

// ClientDocuments fetches and validates Client ID Metadata Documents; a *clientid.Fetcher is
// one.
type ClientDocuments interface {
	Fetch(ctx context.Context, clientID string) (clientid.Document, error)
}

// knownClient is an OAuth client as the endpoints see it: a registration read from the table, or
// a client identified by a Client ID Metadata Document (MCP authorization 2026-07-28), whose
// name and redirect URIs come from the document and whose approvals are kept in the table.
type knownClient struct {
	store.Client
	// Domain is set for a metadata-document client: the host that vouches for the document.
	Domain string
	// LoopbackRedirects: a document client with a loopback redirect URI (the consent page warns).
	LoopbackRedirects bool
}

// unknownClientError is a client_id that names no usable client, with the reason to show.
type unknownClientError struct{ reason string }

func (e *unknownClientError) Error() string { return e.reason }

// documentUnreachable wraps a metadata document fetch that failed for a reason other than
// the document itself (the host did not answer, or answered 5xx): the token endpoint answers
// it with 503, the authorization endpoint shows it with the reason.
type documentUnreachable struct{ reason string }

func (e *documentUnreachable) Error() string { return e.reason }

// lookupClient finds the client clientID names. withApprovals also reads a metadata-document
// client's approved redirect URIs (one GetItem; the token endpoint does not need them).
// Errors: *unknownClientError, *documentUnreachable, or the store's failure.
func (s *Server) lookupClient(ctx context.Context, clientID string, withApprovals bool) (knownClient, error) {
	if !store.IsDocumentClientID(clientID) {
		c, err := s.Store.GetClient(ctx, clientID)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) { // ErrInvalid: an id no client can have
			return knownClient{}, &unknownClientError{"unknown client_id"}
		}
		return knownClient{Client: c}, err
	}
	doc, err := s.document(ctx, clientID)
	if err != nil {
		return knownClient{}, err
	}
	c := knownClient{Client: store.Client{
		ID: doc.ClientID, Name: doc.ClientName, RedirectURIs: doc.RedirectURIs,
		GrantTypes: doc.Metadata.GrantTypes, ResponseTypes: doc.Metadata.ResponseTypes,
		TokenEndpointAuthMethod: doc.TokenEndpointAuthMethod, Scope: doc.Metadata.Scope,
		ClientURI: doc.Metadata.ClientURI, LogoURI: doc.Metadata.LogoURI,
	}, Domain: doc.Domain, LoopbackRedirects: doc.LoopbackRedirects}
	if withApprovals {
		stored, err := s.Store.GetClient(ctx, clientID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return knownClient{}, err
		}
		c.ApprovedRedirectURIs = stored.ApprovedRedirectURIs
	}
	return c, nil
}

// document fetches and checks a metadata document (MCP authorization 2026-07-28, Client ID
// Metadata Documents), turning the fetcher's errors into the reasons a person or client reads.
func (s *Server) document(ctx context.Context, clientID string) (clientid.Document, error) {
	if !clientid.IsURLClientID(clientID) {
		return clientid.Document{}, &unknownClientError{"client_id is an https URL but not one that can name a client ID metadata document " +
			"(a domain name, a path, no fragment, at most 512 bytes)"}
	}
	doc, err := s.documents().Fetch(ctx, clientID)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return clientid.Document{}, ctx.Err() // this request's own budget ran out
	case errors.Is(err, clientid.ErrHTTPStatus) && !errors.Is(err, clientid.ErrAddressNotPublic):
		return clientid.Document{}, &documentUnreachable{"the client's metadata document could not be fetched: " + reason(err)}
	default:
		return clientid.Document{}, &unknownClientError{"the client's metadata document was refused: " + reason(err)}
	}
	// Authbridge authenticates metadata-document clients as public clients only: a
	// private_key_jwt client (RFC 7523) is refused rather than treated as public.
	if doc.TokenEndpointAuthMethod != oauth.AuthMethodNone {
		return clientid.Document{}, &unknownClientError{"the client's metadata document names token_endpoint_auth_method " +
			doc.TokenEndpointAuthMethod + "; this server accepts metadata-document clients with \"none\" (public clients, PKCE)"}
	}
	return doc, nil
}

// reason is err's message without the package prefixes.
func reason(err error) string {
	return strings.ReplaceAll(err.Error(), "clientid: ", "")
}

// documentFetchers holds one Fetcher per scope list, made on first use: a Lambda instance
// keeps its cache of documents across requests.
var documentFetchers = struct {
	sync.Mutex
	byScopes map[string]*clientid.Fetcher
}{byScopes: map[string]*clientid.Fetcher{}}

// documents is s.ClientDocuments, or the process's Fetcher for the configured scopes.
func (s *Server) documents() ClientDocuments {
	if s.ClientDocuments != nil {
		return s.ClientDocuments
	}
	key := strings.Join(s.Config.Scopes, " ")
	documentFetchers.Lock()
	defer documentFetchers.Unlock()
	f := documentFetchers.byScopes[key]
	if f == nil {
		f = clientid.NewFetcher(oauth.Scope(s.Config.Scopes))
		documentFetchers.byScopes[key] = f
	}
	return f
}

// documentHost is a URL client_id's host, for a page that cannot fetch its document.
func documentHost(clientID string) string {
	u, err := url.Parse(clientID)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
