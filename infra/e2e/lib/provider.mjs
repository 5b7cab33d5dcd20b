// An in-memory OAuthClientProvider, as an MCP client application implements it. The SDK
// does discovery, registration, the authorization request, the code exchange and refresh;
// this object only stores what the SDK hands it and sends the person's browser to the
// authorization URL (onRedirect).
import { randomBytes } from 'node:crypto';

export class MemoryOAuthProvider {
  constructor({ redirectUrl, clientName = 'Authbridge e2e (MCP TypeScript SDK)', onRedirect, clientMetadataUrl }) {
    this._redirectUrl = redirectUrl;
    // A Client ID Metadata Document's URL: the SDK uses it as the client_id, instead of
    // registering, when the server metadata says client_id_metadata_document_supported.
    this.clientMetadataUrl = clientMetadataUrl;
    this._clientName = clientName;
    this.onRedirect = onRedirect;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this.savedTokens = []; // every saveTokens call, oldest first
    this.authorizationUrls = []; // every redirectToAuthorization call
    this.states = []; // every state handed to the SDK
    this.invalidated = []; // every invalidateCredentials scope
    this.discovery = undefined;
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    const s = randomBytes(16).toString('base64url');
    this.states.push(s);
    return s;
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this._client = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
    this.savedTokens.push(tokens);
  }

  async redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url));
    if (this.onRedirect) await this.onRedirect(new URL(url));
  }

  saveCodeVerifier(v) {
    this._verifier = v;
  }

  codeVerifier() {
    if (!this._verifier) throw new Error('no code verifier saved');
    return this._verifier;
  }

  saveDiscoveryState(state) {
    this.discovery = state;
  }

  discoveryState() {
    return this.discovery;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this._client = undefined;
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
}

/** A fetch that records every request the SDK makes: method, URL, status, and for the token
 * endpoint the grant type and (on errors) the OAuth error code. */
export function recordingFetch(log) {
  return async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init.method ?? (typeof input === 'object' && input.method) ?? 'GET';
    const entry = { method, url: String(url) };
    if (init.body instanceof URLSearchParams) entry.grantType = init.body.get('grant_type') ?? undefined;
    else if (typeof init.body === 'string' && init.body.includes('grant_type=')) entry.grantType = new URLSearchParams(init.body).get('grant_type');
    const res = await fetch(input, init);
    entry.status = res.status;
    if (entry.grantType && !res.ok) {
      try {
        entry.error = (await res.clone().json()).error;
      } catch {}
    }
    log.push(entry);
    return res;
  };
}
