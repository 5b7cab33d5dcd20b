package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
)

// Print writes the table, the fixes (one line per distinct failure, with the clients it
// stops) and the handoff summary.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "doctor: %s\n\n", r.MCPURL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tSTEP\tRESULT\tDETAIL")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.Client, row.Step, row.Status, row.Detail)
	}
	_ = tw.Flush()

	type problem struct {
		status            Status
		step, reason, fix string
		clients           []string
	}
	var problems []*problem
	index := map[string]*problem{}
	failing := map[string]bool{}
	for _, row := range r.Rows {
		if row.Status == Fail {
			failing[row.Client] = true
		}
		if row.Status != Fail && row.Status != Warn {
			continue
		}
		k := string(row.Status) + row.Step + row.Detail + row.Fix
		if p, ok := index[k]; ok {
			p.clients = append(p.clients, row.Client)
			continue
		}
		p := &problem{status: row.Status, step: row.Step, reason: row.Detail, fix: row.Fix, clients: []string{row.Client}}
		index[k] = p
		problems = append(problems, p)
	}
	var names []string
	for _, c := range Clients {
		if failing[c.Key] {
			names = append(names, c.Key)
		}
	}
	fmt.Fprintln(w)
	if len(names) == 0 {
		fmt.Fprintf(w, "Every client (%d) gets through.\n", len(Clients))
	} else {
		fmt.Fprintf(w, "%d of %d clients would fail: %s.\n", len(names), len(Clients), strings.Join(names, ", "))
	}
	if len(problems) > 0 {
		fmt.Fprintln(w, "\nReasons and fixes:")
		for _, p := range problems {
			fmt.Fprintf(w, "  %s %s (%s): %s; fix: %s.\n", p.status, p.step, strings.Join(p.clients, ", "), p.reason, p.fix)
		}
	}
	if len(r.Summary) > 0 {
		fmt.Fprintln(w, "\nHandoff summary (from the live deployment):")
		for _, l := range r.Summary {
			fmt.Fprintln(w, "  - "+l)
		}
	}
}

// summary is what a security reviewer asks for, read from the deployment (the answers
// already fetched, plus the JWKS and the callback).
func (d *doctor) summary(ctx context.Context) []string {
	var out []string
	ch := d.challenge(ctx, "")
	params, _ := parseChallenges(ch.Header.Values("WWW-Authenticate"), "Bearer")
	var p prm
	seen := map[string]bool{"": true}
	for _, u := range append([]string{params["resource_metadata"]}, d.prmFallbacks()...) {
		if seen[u] {
			continue
		}
		seen[u] = true
		if got, why := readPRM(d.get(ctx, u, "MCP-Protocol-Version", protocolVersion)); why == "" {
			if p.URL == "" {
				p = got
			} else if got.Resource == p.Resource {
				p.URL += ", " + u
			}
		}
	}
	if p.URL == "" {
		return []string{"Protected resource metadata: not found, so nothing more could be read (see the failures above)."}
	}
	out = append(out, fmt.Sprintf("Protected resource metadata (RFC 9728): %s — resource %s, authorization_servers %v, bearer_methods_supported %v.",
		p.URL, p.Resource, p.AuthorizationServers, p.BearerMethods))
	if len(p.AuthorizationServers) == 0 {
		return out
	}
	issuer := p.AuthorizationServers[0]
	var served, notServed []string
	var meta *asMetadata
	for _, w := range []WellKnown{OAuthInserted, OIDCInserted, OIDCAppended, OAuthRoot} {
		u, _ := metadataURL(issuer, w)
		if strings.Contains(strings.Join(served, " ")+" "+strings.Join(notServed, " "), u+" ") {
			continue
		}
		a := d.get(ctx, u, "MCP-Protocol-Version", protocolVersion)
		if m := a.jsonObject(); a.Status == http.StatusOK && m != nil && str(m, "issuer") == issuer {
			served = append(served, u+" ")
			if meta == nil {
				meta = &asMetadata{URL: u, Kind: w, Doc: m}
			}
		} else {
			notServed = append(notServed, u+" ("+a.String()+") ")
		}
	}
	if meta == nil {
		return append(out, "Authorization server metadata: not found at any well-known URL of "+issuer+".")
	}
	out = append(out, fmt.Sprintf("Authorization server metadata (RFC 8414, OpenID discovery): issuer %s, served at %s; not at %s.",
		issuer, strings.Join(trim(served), ", "), orNone(strings.Join(trim(notServed), ", "))))
	decision := "doctor sent none (Authbridge has no RFC 7592 deletion, so a registration cannot be removed); each client's registration was checked against the metadata and Authbridge's rules without sending it"
	if d.o.Register {
		decision = fmt.Sprintf("doctor sent one registration as %s (%s), left unused: it expires after UNUSED_CLIENT_TTL (24 h by default), and two authorization requests for it", d.o.RegisterAs, orNone(d.registered[d.o.RegisterAs]))
	}
	out = append(out, fmt.Sprintf("Registration (RFC 7591): %s, open to anyone; token_endpoint_auth_methods_supported %v; client ID metadata documents: %v. Here: %s.",
		orNone(meta.s("registration_endpoint")), meta.l("token_endpoint_auth_methods_supported"), meta.flag("client_id_metadata_document_supported"), decision))
	out = append(out, fmt.Sprintf("Authorization: %s, response_types %v, PKCE %v, iss in the response (RFC 9207): %v, resource indicator (RFC 8707) %s; scopes_supported %v.",
		orNone(meta.s("authorization_endpoint")), meta.l("response_types_supported"), meta.l("code_challenge_methods_supported"),
		meta.flag("authorization_response_iss_parameter_supported"), p.Resource, meta.l("scopes_supported")))
	// The sign-in callback is not in any metadata; Authbridge's is {issuer}/api/ext/auth/callback.
	cb := d.get(ctx, strings.TrimSuffix(issuer, "/")+"/api/ext/auth/callback")
	out = append(out, fmt.Sprintf("Callback (identity provider → authorization server): in no metadata document; Authbridge's %s answered %s to a request without state (it accepts only a state it issued, once).",
		cb.URL, cb))
	out = append(out, fmt.Sprintf("Token exchange: %s, grant_types %v, client authentication %v; revocation %s; introspection %s (%v).",
		orNone(meta.s("token_endpoint")), meta.l("grant_types_supported"), meta.l("token_endpoint_auth_methods_supported"),
		orNone(meta.s("revocation_endpoint")), orNone(meta.s("introspection_endpoint")), meta.l("introspection_endpoint_auth_methods_supported")))
	jwks := meta.s("jwks_uri")
	keys := "none read"
	if jwks != "" {
		if m := d.get(ctx, jwks).jsonObject(); m != nil {
			var ks []string
			l, _ := m["keys"].([]any)
			for _, k := range l {
				if km, ok := k.(map[string]any); ok {
					alg := str(km, "alg")
					if alg == "" {
						alg = "alg not stated"
					}
					ks = append(ks, fmt.Sprintf("%s %s/%s %s", str(km, "kid"), str(km, "kty"), str(km, "crv"), alg))
				}
			}
			keys = orNone(strings.Join(ks, "; "))
		}
	}
	challenge := strings.Join(ch.Header.Values("WWW-Authenticate"), ", ")
	out = append(out, fmt.Sprintf("Bearer tokens in front of the tools: JWT access tokens (RFC 9068) verified against the JWKS %s (keys: %s), iss = %s, aud = %s (the RFC 8707 resource); a request without a token got %d %s.",
		orNone(jwks), keys, issuer, p.Resource, ch.Status, orNone(challenge)))
	out = append(out, fmt.Sprintf("Scopes: the resource advertises %v. Which scope each tool needs is not visible without a token: doctor saw no 403 insufficient_scope challenge and no tools/list (Authbridge: every tool needs REQUIRED_SCOPES, mcp:tools by default; front doors add FrontDoorNToolScopes per tool).",
		p.Scopes))
	return out
}

func trim(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
