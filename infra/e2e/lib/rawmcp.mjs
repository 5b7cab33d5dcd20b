// A small MCP client written against the wire, for the revision the pinned TypeScript SDK
// cannot speak: 2026-07-28 (stateless). No initialize handshake: every request carries its
// protocol version and client capabilities in params._meta, and over Streamable HTTP the
// MCP-Protocol-Version, Mcp-Method and Mcp-Name headers mirror them (MCP 2026-07-28, basic
// and transports); `server/discover` tells the client what the server supports. The OAuth
// side (MCP authorization) is written out too, step by step, so the test sees every message:
// 401 challenge → protected resource metadata (RFC 9728) → authorization server metadata
// (RFC 8414 / OpenID Connect Discovery) → dynamic registration (RFC 7591) → authorization
// request with PKCE S256 (RFC 7636) and `resource` (RFC 8707) → code exchange.
import { createHash, randomBytes } from 'node:crypto';

export const STATELESS = '2026-07-28';

const CLIENT_INFO = { name: 'authbridge-e2e-raw', version: '1.0.0' };

/** The `resource_metadata` parameter of a Bearer challenge (RFC 9728 §5.1), or undefined. */
export function resourceMetadataFrom(wwwAuthenticate) {
  const m = /(?:^|[\s,])resource_metadata="([^"]*)"/i.exec(wwwAuthenticate ?? '');
  return m?.[1];
}

/**
 * The authorization server metadata URLs to try for an issuer, in the order of MCP
 * authorization (2025-11-25 and later, "Authorization Server Metadata Discovery"): for an
 * issuer with a path, RFC 8414 with path insertion, OpenID Connect with path insertion, then
 * OpenID Connect appended to the path; without a path, RFC 8414 then OpenID Connect.
 */
export function metadataUrls(issuer) {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, '');
  if (!path) return [`${u.origin}/.well-known/oauth-authorization-server`, `${u.origin}/.well-known/openid-configuration`];
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}/.well-known/openid-configuration${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
}

/**
 * One client application: `log` records every HTTP exchange ({method, url, status,
 * headers (sent), body (sent, parsed JSON)}).
 */
export class RawMcpClient {
  constructor({ mcpUrl, redirectUrl, clientName = 'Authbridge e2e (raw 2026-07-28 client)', protocolVersion = STATELESS }) {
    this.mcpUrl = mcpUrl;
    this.redirectUrl = redirectUrl;
    this.clientName = clientName;
    this.protocolVersion = protocolVersion;
    this.log = [];
    this.nextId = 1;
    this.accessToken = undefined;
  }

  async fetch(url, init = {}) {
    const res = await fetch(url, init);
    const entry = { method: init.method ?? 'GET', url: String(url), status: res.status, headers: { ...(init.headers ?? {}) } };
    if (typeof init.body === 'string' && init.body.startsWith('{')) entry.body = JSON.parse(init.body);
    this.log.push(entry);
    return res;
  }

  /** The headers of a request for the JSON-RPC message (transports, 2026-07-28). */
  headersFor(message, extra = {}) {
    const h = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': this.protocolVersion,
      'mcp-method': message.method,
    };
    const name = message.params?.name ?? message.params?.uri;
    if (name !== undefined && ['tools/call', 'prompts/get', 'resources/read'].includes(message.method)) h['mcp-name'] = String(name);
    if (this.accessToken) h.authorization = `Bearer ${this.accessToken}`;
    return { ...h, ...extra };
  }

  /** A request with the per-request _meta of 2026-07-28 (basic, _meta). */
  message(method, params = {}) {
    return {
      jsonrpc: '2.0',
      id: this.nextId++,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': this.protocolVersion,
          'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
        },
      },
    };
  }

  /** Sends one JSON-RPC request; returns {res, body} (body parsed when JSON). */
  async send(method, params, extraHeaders) {
    const msg = this.message(method, params);
    const res = await this.fetch(this.mcpUrl, { method: 'POST', headers: this.headersFor(msg, extraHeaders), body: JSON.stringify(msg) });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { res, body, request: msg };
  }

  /** Sends a request that must succeed; returns its result. */
  async call(method, params) {
    const { res, body } = await this.send(method, params);
    if (res.status !== 200 || body?.error || !body?.result) throw new Error(`${method}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body.result;
  }

  /**
   * What an MCP client does on its first request: the server answers 401; the client reads
   * the protected resource metadata named in the challenge, the authorization server's
   * metadata, registers, and sends the person to the authorization URL (`visit`), whose
   * redirect reaches `loop`; then it exchanges the code. Returns every step's data.
   */
  async authorize({ visit, loop }) {
    const flow = {};
    // 1. Unauthenticated: 401 with the challenge (MCP authorization, RFC 9728 §5.1).
    flow.challenge = await this.send('server/discover', {});
    flow.wwwAuthenticate = flow.challenge.res.headers.get('www-authenticate');
    if (flow.challenge.res.status !== 401) throw new Error(`first request: ${flow.challenge.res.status}, want 401`);
    const prmUrl = resourceMetadataFrom(flow.wwwAuthenticate);
    if (!prmUrl) throw new Error(`no resource_metadata in ${flow.wwwAuthenticate}`);
    // 2. Protected resource metadata (RFC 9728 §3).
    const prmRes = await this.fetch(prmUrl);
    flow.resourceMetadata = await prmRes.json();
    if (flow.resourceMetadata.resource !== this.mcpUrl) throw new Error(`resource ${flow.resourceMetadata.resource}, want ${this.mcpUrl} (RFC 9728 §3.3)`);
    const issuer = flow.resourceMetadata.authorization_servers?.[0];
    // 3. Authorization server metadata: the first document that answers, whose issuer is
    // the one named (RFC 8414 §3.3).
    for (const url of metadataUrls(issuer)) {
      const r = await this.fetch(url, { headers: { accept: 'application/json' } });
      if (r.ok) {
        flow.serverMetadata = await r.json();
        flow.serverMetadataUrl = url;
        break;
      }
    }
    if (!flow.serverMetadata) throw new Error(`no authorization server metadata for ${issuer}`);
    if (flow.serverMetadata.issuer !== issuer) throw new Error(`metadata issuer ${flow.serverMetadata.issuer}, want ${issuer}`);
    if (!flow.serverMetadata.code_challenge_methods_supported?.includes('S256')) throw new Error('S256 not supported: MCP clients MUST refuse to proceed');
    // 4. Dynamic client registration (RFC 7591), a public client with a loopback redirect URI.
    const reg = await this.fetch(flow.serverMetadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_name: this.clientName,
        redirect_uris: [this.redirectUrl],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }),
    });
    flow.registration = await reg.json();
    if (reg.status !== 201) throw new Error(`registration: ${reg.status} ${JSON.stringify(flow.registration)}`);
    // 5. Authorization request: PKCE S256, state, resource (RFC 8707), the resource's scopes.
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const url = new URL(flow.serverMetadata.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: flow.registration.client_id,
      redirect_uri: this.redirectUrl,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state,
      resource: this.mcpUrl,
      scope: (flow.resourceMetadata.scopes_supported ?? []).join(' '),
    }).toString();
    flow.authorizationUrl = url;
    flow.visit = await visit(url);
    flow.callback = await loop.next(10_000);
    if (flow.callback.state !== state) throw new Error('state mismatch');
    if (flow.callback.iss !== undefined && flow.callback.iss !== issuer) throw new Error(`iss ${flow.callback.iss} (RFC 9207)`);
    if (!flow.callback.code) throw new Error(`authorization failed: ${JSON.stringify(flow.callback)}`);
    // 6. Code exchange with the verifier and the same resource.
    const tok = await this.fetch(flow.serverMetadata.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: flow.callback.code,
        redirect_uri: this.redirectUrl,
        code_verifier: verifier,
        client_id: flow.registration.client_id,
        resource: this.mcpUrl,
      }).toString(),
    });
    flow.tokens = await tok.json();
    if (tok.status !== 200) throw new Error(`token: ${tok.status} ${JSON.stringify(flow.tokens)}`);
    this.accessToken = flow.tokens.access_token;
    return flow;
  }
}
