package oauth

import (
	"net/url"
)

// MaxStateLength bounds the client's state value, which is echoed verbatim.
const MaxStateLength = 2048

// AuthorizeRequest is an authorization request as received (RFC 6749 §4.1.1 with
// RFC 7636 PKCE and RFC 8707 resource).
type AuthorizeRequest struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
	Resource            string
}

// ParseAuthorizeQuery reads an authorization request. A parameter sent more than once is
// an error (RFC 6749 §3.1); if that parameter is client_id or redirect_uri the error must be
// shown to the person, not redirected, which the third return value reports. With the error
// the request (first values) is still returned, so that the caller can validate its
// redirect_uri and send the error there.
func ParseAuthorizeQuery(q url.Values) (AuthorizeRequest, *Error, bool) {
	var err *Error
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(q[name]) > 1 {
			// Checked first, whatever else is repeated: map order must not decide.
			return AuthorizeRequest{}, ErrInvalidRequest("parameter %s was sent more than once", name), true
		}
	}
	for name, vals := range q {
		if len(vals) > 1 {
			err = ErrInvalidRequest("parameter %s was sent more than once", truncate(name, 40))
			break
		}
	}
	return AuthorizeRequest{
		ResponseType:        q.Get("response_type"),
		ClientID:            q.Get("client_id"),
		RedirectURI:         q.Get("redirect_uri"),
		Scope:               q.Get("scope"),
		State:               q.Get("state"),
		CodeChallenge:       q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"),
		Resource:            q.Get("resource"),
	}, err, false
}

// RegisteredClient is what the authorization endpoint needs to know about a client.
type RegisteredClient struct {
	ID           string
	RedirectURIs []string
	GrantTypes   []string
	Scope        string // registered scope; empty means none stated
}

// Policy is the server's configuration that authorization and token requests are checked against.
type Policy struct {
	Resources    Resources // canonical; the first is the default when a client sends none
	Supported    Scope
	DefaultScope Scope
}

// RedirectTarget checks the request's redirect_uri against the client's registrations and
// returns the URI to send the response to. Errors from this step are shown to the person and
// never redirected (RFC 6749 §4.1.2.1, OAuth 2.1 §4.1.2.1).
func RedirectTarget(req AuthorizeRequest, client RegisteredClient) (string, *Error) {
	if req.RedirectURI == "" {
		// OAuth 2.1 lets a sole registered URI be implied; Authbridge always requires it,
		// so the token request can be checked against the exact value (RFC 6749 §4.1.3).
		return "", ErrInvalidRequest("redirect_uri is required")
	}
	// OAuth 2.1 §2.3.1: exact match; RFC 8252 §7.3: any port for loopback.
	if !MatchRedirectURI(client.RedirectURIs, req.RedirectURI) {
		return "", ErrInvalidRequest("redirect_uri is not registered for this client")
	}
	return req.RedirectURI, nil
}

// Validated is an authorization request that passed every check.
type Validated struct {
	ClientID      string
	RedirectURI   string
	CodeChallenge string
	Scope         Scope
	Resource      string
	State         string
}

// Validate checks the rest of the request once the redirect target is known. Its errors are
// returned to the client at redirectURI (RFC 6749 §4.1.2.1).
func (p Policy) Validate(req AuthorizeRequest, client RegisteredClient, redirectURI string) (Validated, *Error) {
	v := Validated{ClientID: client.ID, RedirectURI: redirectURI, State: req.State}
	if len(req.State) > MaxStateLength {
		return v, ErrInvalidRequest("state is longer than %d characters", MaxStateLength)
	}
	switch req.ResponseType {
	case "code":
	case "":
		return v, ErrInvalidRequest("response_type is required")
	default:
		// OAuth 2.1 §4.1.1: only the authorization code flow exists.
		return v, ErrUnsupportedResponseType("response_type must be code")
	}
	// OAuth 2.1 §4.1.1 / MCP authorization: PKCE is required, S256 only.
	if req.CodeChallenge == "" {
		return v, ErrInvalidRequest("code_challenge is required (PKCE, RFC 7636)")
	}
	if req.CodeChallengeMethod != "S256" {
		return v, ErrInvalidRequest("code_challenge_method must be S256")
	}
	if !ValidCodeChallenge(req.CodeChallenge) {
		return v, ErrInvalidRequest("code_challenge must be 43 base64url characters (RFC 7636 section 4.2)")
	}
	v.CodeChallenge = req.CodeChallenge

	// RFC 8707 §2: the resource must be one this server issues tokens for.
	if req.Resource == "" {
		v.Resource = p.Resources[0]
	} else if res, ok := p.Resources.Match(req.Resource); ok {
		v.Resource = res
	} else {
		return v, ErrInvalidTarget("resource is not a protected resource of this server")
	}

	scope, err := p.GrantScope(req.Scope, client.Scope)
	if err != nil {
		return v, err
	}
	v.Scope = scope
	return v, nil
}

// GrantScope decides the scope of a grant: the requested scopes the server supports. Scopes
// it does not know are ignored, never a failed sign-in (RFC 6749 §3.3: the server "MAY fully
// or partially ignore the scope requested"; MCP clients send offline_access, openid or
// profile): the token response names the scope granted (RFC 6749 §5.1). offline_access asks
// for a refresh token, which a client gets when it registered the refresh_token grant.
// When nothing supported is requested: the client's registered scope or else the server's
// default. A scope that is not a scope (characters outside RFC 6749 §3.3) is invalid_scope.
func (p Policy) GrantScope(requested, registered string) (Scope, *Error) {
	s, ok := ParseScope(requested)
	if !ok {
		return nil, ErrInvalidScope("scope has characters outside RFC 6749 section 3.3")
	}
	var kept Scope
	for _, sc := range s {
		if p.Supported.Contains(sc) {
			kept = append(kept, sc)
		}
	}
	if len(kept) == 0 {
		if reg, _ := ParseScope(registered); len(reg) > 0 && reg.SubsetOf(p.Supported) {
			return reg, nil
		}
		return p.DefaultScope, nil
	}
	return kept, nil
}
