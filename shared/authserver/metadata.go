package authserver

import (
	"net/http"

	"github.com/authbridge/authbridge/shared/discovery"
)

// The discovery documents and their handlers are shared/discovery's, which the functions
// serving them use without this package (and so without the store, KMS signing or WorkOS);
// the endpoints table serves the same handlers.

// ServerMetadata is the RFC 8414 document, also served as OpenID discovery.
type ServerMetadata = discovery.ServerMetadata

// ResourceMetadata is the RFC 9728 protected resource metadata document.
type ResourceMetadata = discovery.ResourceMetadata

// Metadata computes the RFC 8414 document from the configuration.
func (s *Server) Metadata() ServerMetadata { return discovery.NewServerMetadata(s.Config) }

func (s *Server) serverMetadataHandler() http.Handler {
	return s.endpoint(PathASMetadata, discovery.ServerMetadataHandler(s.Config))
}

func (s *Server) resourceMetadataHandler() http.Handler {
	return s.endpoint(PathPRM, discovery.ResourceMetadataHandler(s.Config))
}

func (s *Server) jwksHandler() http.Handler {
	return s.endpoint(PathJWKS, discovery.JWKSHandler(s.Keys, s.log()))
}
