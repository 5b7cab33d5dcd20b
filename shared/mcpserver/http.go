package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/authbridge/authbridge/shared/config"
	"github.com/authbridge/authbridge/shared/guard"
	"github.com/authbridge/authbridge/shared/oauth"
	"github.com/authbridge/authbridge/shared/obs"
)

// JSON-RPC error codes of the refusals this package writes itself: application codes, outside
// JSON-RPC 2.0 §5.1's reserved -32768 to -32000, where MCP 2026-07-28 (basic, error codes) calls
// -32000 to -32019 legacy ("new implementations SHOULD NOT use") and keeps -32020 to -32099 for
// the specification. Clients show the message; no client depends on these numbers.
const (
	// CodeRefused: the transport refused the request (Origin, missing or stale identity).
	CodeRefused = -31001
	// CodeInsufficientScope: the token lacks a scope the route or the tool needs.
	CodeInsufficientScope = -31003
)

// serve checks the request before the MCP SDK sees it: Origin, the authorizer's identity,
// audience, expiry, the route's scopes and the called tool's scopes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// MCP transports (Streamable HTTP, security warning): servers MUST validate Origin to
	// prevent DNS rebinding; an invalid Origin gets 403. Requests without Origin (non-browser
	// clients) are not cross-origin requests.
	if origin := r.Header.Get("Origin"); origin != "" {
		if !s.allowedOrigin(origin) {
			s.log.InfoContext(ctx, "request refused", "outcome", "forbidden", "reason", "origin_not_allowed", "origin", truncate(origin, 100))
			writeError(w, http.StatusForbidden, nil, CodeRefused, "Forbidden: Origin not allowed", nil)
			return
		}
		corsHeaders(w.Header(), origin)
	}
	// Fetch §3.2 (CORS preflight): answered without credentials, for allowed origins only.
	if r.Method == http.MethodOptions {
		preflight(w, r)
		return
	}

	gw, _ := core.GetAPIGatewayContextFromContext(ctx)
	// The authorizer saw a disallowed Origin (every value, not only the first) and let the
	// request through only to be refused here, with the same 403 as above.
	if gw.Authorizer[guard.CtxRefused] == guard.RefusedOrigin {
		s.log.InfoContext(ctx, "request refused", "outcome", "forbidden", "reason", "origin_not_allowed", "origin", truncate(r.Header.Get("Origin"), 100))
		writeError(w, http.StatusForbidden, nil, CodeRefused, "Forbidden: Origin not allowed", nil)
		return
	}
	path := gw.ResourcePath // the API's resource path, independent of stage and base path
	if path == "" {
		path = r.URL.Path
	}
	route, ok := s.routes.ForPath(path)
	if !ok {
		writeError(w, http.StatusNotFound, nil, CodeRefused, "Not Found", nil)
		return
	}
	prm := guard.ResourceMetadataURL(s.issuer, route)

	// Identity comes only from the authorizer's context in the API Gateway event (never from
	// a header or the body); web.LambdaHandler has removed the adapter's context header.
	who, err := guard.IdentityFromAuthorizer(gw.Authorizer)
	if err == nil {
		// The authorizer already required one Bearer credential (RFC 6750 §2.1); the SDK's
		// bearer bridge needs it too.
		_, err = guard.BearerToken(r.Header.Values("Authorization"))
	}
	if err != nil {
		s.unauthorized(w, r, prm, "no_identity", err)
		return
	}
	obs.SetClientID(ctx, who.ClientID) // every later log line of this request names the client
	// Defence in depth, MCP authorization: tokens are accepted only for this resource
	// (RFC 8707 audience), and not after exp (RFC 7519 §4.1.4) — the gateway may have
	// cached the authorizer's Allow for up to its TTL.
	if who.Audience != route.Resource {
		s.unauthorized(w, r, prm, "wrong_audience", fmt.Errorf("aud %q, want %q", who.Audience, route.Resource))
		return
	}
	if !s.now().Before(who.ExpiresAt.Add(s.leeway)) {
		s.unauthorized(w, r, prm, "expired", fmt.Errorf("exp %d", who.ExpiresAt.Unix()))
		return
	}
	// MCP authorization, scope challenge: 403 insufficient_scope with the scopes needed.
	if !who.HasScopes(s.required) {
		s.forbidden(w, r, who, prm, s.required, nil, "the token lacks the scope "+missing(s.required, who.Scope)+" this endpoint requires")
		return
	}
	if r.Method == http.MethodPost {
		// Bound the work done on a request before the SDK sees it (the SDK applies the same limit).
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, nil, CodeRefused, "request body could not be read", nil)
			return
		}
		if len(body) > maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, nil, CodeRefused, fmt.Sprintf("request body exceeds %d bytes", maxBody), nil)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		// A tool needing a scope the token lacks is refused before it runs, with the step-up
		// challenge naming every scope the call needs (MCP authorization: scope challenge).
		if id, tool, ok := toolCall(body); ok {
			if need, known := s.scopes[tool]; known && !who.HasScopes(need) {
				s.forbidden(w, r, who, prm, need, id, insufficientScopeMessage(tool, need, who.Scope))
				return
			}
		}
	}
	s.handler.ServeHTTP(w, r.WithContext(withIdentity(ctx, who)))
}

// tokenInfo feeds the SDK's bearer middleware the identity serve has checked.
func (s *Server) tokenInfo(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	who, ok := ctx.Value(identityKey{}).(guard.Identity)
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{Scopes: who.Scope, Expiration: who.ExpiresAt, UserID: who.Subject, Extra: map[string]any{identityExtra: who}}, nil
}

type identityKey struct{}

// identityExtra is the TokenInfo.Extra key of the caller's guard.Identity.
const identityExtra = "authbridge.identity"

func withIdentity(ctx context.Context, who guard.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, who)
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, prm, reason string, err error) {
	s.log.InfoContext(r.Context(), "request refused", "outcome", "unauthorized", "reason", reason, "detail", truncate(err.Error(), 200))
	// RFC 6750 §3.1: invalid_token for a refused credential, no error code when none was
	// sent; RFC 9728 §5.1 resource_metadata either way.
	challenge := guard.InvalidTokenChallenge(prm, s.advertised)
	if len(r.Header.Values("Authorization")) == 0 {
		challenge = guard.GatewayChallenge(prm, s.advertised)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, nil, CodeRefused, "Unauthorized: invalid or expired access token", nil)
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, who guard.Identity, prm string, need oauth.Scope, id json.RawMessage, msg string) {
	s.log.InfoContext(r.Context(), "request refused", "outcome", "forbidden", "reason", "insufficient_scope",
		"sub", who.Subject, "client_id", who.ClientID, "jti", who.JTI, "scope", who.Scope.String(), "required", need.String())
	// RFC 6750 §3.1 insufficient_scope, with the scopes needed (MCP: step-up authorization).
	w.Header().Set("WWW-Authenticate", guard.InsufficientScopeChallenge(need, prm))
	writeError(w, http.StatusForbidden, id, CodeInsufficientScope, msg, map[string]any{
		"error": "insufficient_scope", "required_scopes": need, "granted_scopes": scopeList(who.Scope),
	})
}

// rpcError is a JSON-RPC 2.0 error response (§5, §5.1).
type rpcError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcErrorObject  `json:"error"`
}

type rpcErrorObject struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// writeError writes a JSON-RPC error response; id is null when the request's id is unknown
// (JSON-RPC 2.0 §5).
func writeError(w http.ResponseWriter, status int, id json.RawMessage, code int, message string, data any) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	body, _ := json.Marshal(rpcError{JSONRPC: "2.0", ID: id, Error: rpcErrorObject{Code: code, Message: message, Data: data}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// toolCall reports the id and tool name of a single JSON-RPC tools/call request. Batches and
// anything unparsable are left to the SDK (and the scope check inside each tool).
func toolCall(body []byte) (json.RawMessage, string, bool) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if len(bytes.TrimSpace(body)) == 0 || bytes.TrimSpace(body)[0] != '{' || json.Unmarshal(body, &msg) != nil {
		return nil, "", false
	}
	if msg.Method != "tools/call" || len(msg.ID) == 0 {
		return nil, "", false
	}
	return msg.ID, msg.Params.Name, true
}

func (s *Server) allowedOrigin(origin string) bool {
	o, ok := config.CanonicalOrigin(origin)
	return ok && s.origins[o]
}

func corsHeaders(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version")
}

func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, GET, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", allowedRequestHeaders(r.Header.Values("Access-Control-Request-Headers")))
	h.Set("Access-Control-Max-Age", "600")
	h.Set("Allow", "POST, GET, DELETE, OPTIONS")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// corsRequestHeaders are the request headers MCP clients send: Streamable HTTP of every
// revision (MCP-Protocol-Version; Mcp-Session-Id and Last-Event-ID up to 2025-11-25) and the
// mirrored headers of 2026-07-28 (Mcp-Method, Mcp-Name).
const corsRequestHeaders = "Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID, Mcp-Method, Mcp-Name"

// allowedRequestHeaders is the Access-Control-Allow-Headers value of a preflight: the fixed
// list, plus each Mcp-Param-{Name} header the browser asks for (MCP 2026-07-28: a tool's
// x-mcp-header parameters; a CORS list cannot name a prefix, so they are echoed one by one).
func allowedRequestHeaders(requested []string) string {
	out := corsRequestHeaders
	seen := 0
	for _, line := range requested {
		for _, name := range strings.Split(line, ",") {
			name = strings.TrimSpace(name)
			if seen < 32 && isMcpParamHeader(name) {
				out += ", " + name
				seen++
			}
		}
	}
	return out
}

// isMcpParamHeader reports whether name is Mcp-Param-{Name} with a non-empty RFC 9110 §5.6.2
// token after the prefix (compared case-insensitively, as header names are).
func isMcpParamHeader(name string) bool {
	const prefix = "mcp-param-"
	if len(name) <= len(prefix) || len(name) > 128 || !strings.EqualFold(name[:len(prefix)], prefix) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// missing lists the scopes of need that granted lacks.
func missing(need, granted oauth.Scope) string {
	var out oauth.Scope
	for _, s := range need {
		if !granted.Contains(s) {
			out = append(out, s)
		}
	}
	return out.String()
}

func insufficientScopeMessage(tool string, need, granted oauth.Scope) string {
	return fmt.Sprintf("insufficient_scope: the tool %s needs the scope %s, which this access token was not granted; sign in again and approve it",
		tool, missing(need, granted))
}

func scopeList(s oauth.Scope) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
