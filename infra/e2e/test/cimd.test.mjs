// Client ID Metadata Documents (MCP authorization 2026-07-28): the MCP TypeScript SDK, given
// a document URL (clientMetadataUrl), uses it as its client_id instead of registering, because
// the server metadata says client_id_metadata_document_supported. A local HTTPS fixture plays
// the client's host, fixture.authbridge.test, with a certificate from the CA the stack made
// (infra/local/stack.sh): the stack's functions, built for the local stack only, let exactly
// that address and port through and resolve three more names to a private, a link-local and
// the metadata-service address. Each refused document is shown on Authbridge's own page with
// its reason, and the fixture sees no request beyond the first.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { stacks } from '../lib/stack.mjs';
import { createSession, jwtPayload, UnauthorizedError } from '../lib/session.mjs';
import { steps } from '../lib/steps.mjs';
import { formUserAgent } from '../lib/signin.mjs';

const ADA = { id: 'user_01JADAGS1DPDFA9S9S631SFWJ6', email: 'ada@example.com' };
const HOST = 'fixture.authbridge.test';

/** The client's host: documents by path, every request counted by path. */
async function startFixture(stack) {
  const port = Number(stack.env.CIMD_FIXTURE_PORT);
  assert.ok(port, `stack ${stack.name} has no CIMD_FIXTURE_PORT (started by an older stack.sh?)`);
  const base = `https://${HOST}:${port}`;
  const fx = { base, hits: {}, redirectUris: [], routes: {} };
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const doc = (id) => ({
    client_id: id,
    client_name: 'Notes (metadata document)',
    redirect_uris: fx.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  fx.routes = {
    '/client.json': (res) => json(res, 200, doc(`${base}/client.json`)),
    '/moved.json': (res) => { res.writeHead(302, { Location: `${base}/client.json` }); res.end(); },
    '/big.json': (res) => json(res, 200, { ...doc(`${base}/big.json`), padding: 'x'.repeat(6 * 1024) }),
    '/slow.json': (res) => { setTimeout(() => json(res, 200, doc(`${base}/slow.json`)), 4500); },
    '/mismatch.json': (res) => json(res, 200, doc(`${base}/someone-else.json`)),
  };
  fx.server = https.createServer(
    { cert: readFileSync(stack.env.CIMD_FIXTURE_CERT), key: readFileSync(stack.env.CIMD_FIXTURE_KEY) },
    (req, res) => {
      const path = new URL(req.url, base).pathname;
      fx.hits[path] = (fx.hits[path] ?? 0) + 1;
      const route = fx.routes[path];
      if (route) route(res);
      else json(res, 404, { error: 'not_found' });
    },
  );
  await new Promise((resolve, reject) => fx.server.once('error', reject).listen(port, '127.0.0.1', resolve));
  fx.close = () => new Promise((r) => { fx.server.closeAllConnections?.(); fx.server.close(() => r()); });
  return fx;
}

/** The authorization endpoint's answer to a bare authorization request from clientId. */
async function authorize(stack, clientId, redirectUri) {
  const q = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state: 'st',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', resource: stack.mcpUrl,
  });
  const started = performance.now();
  const res = await fetch(`${stack.issuer}/api/ext/auth/authorize?${q}`, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), html: await res.text(), ms: performance.now() - started };
}

const pageText = (html) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/\s+/g, ' ');

describe('Client ID Metadata Documents', { concurrency: true }, () => {
  for (const stack of stacks()) {
    describe(`${stack.issuer} (${stack.stage ? `stage /${stack.stage}` : 'no stage'})`, { concurrency: 1 }, () => {
      let fx;
      let s;
      let ua;
      let callback;
      const it = steps();
      before(async () => {
        fx = await startFixture(stack);
        ua = formUserAgent({ email: ADA.email });
        s = await createSession(stack, { visit: ua.visit, clientMetadataUrl: `${fx.base}/client.json` });
        fx.redirectUris.push(s.loop.redirectUrl);
      });
      after(async () => {
        await s?.close();
        await fx?.close();
      });

      it('the server metadata advertises metadata documents', async () => {
        const meta = await (await fetch(`${stack.issuer}/.well-known/oauth-authorization-server`)).json();
        assert.equal(meta.client_id_metadata_document_supported, true);
      });

      it('the SDK uses the document URL as its client_id, without registering', async () => {
        const err = await s.connect().then(() => undefined, (e) => e);
        assert.ok(err instanceof UnauthorizedError, `connect should be sent to sign in, got ${err?.constructor?.name}: ${err?.message}`);
        const fetched = s.log.map((e) => `${e.method} ${e.url} ${e.status}`);
        assert.ok(!fetched.some((l) => l.includes('/api/ext/auth/register')), `the SDK registered:\n${fetched.join('\n')}`);
        const url = s.provider.authorizationUrls[0];
        assert.equal(url.searchParams.get('client_id'), `${fx.base}/client.json`);
        assert.equal(s.visits.length, 1, 'the browser was not sent to the authorization URL');
        const { pages, final } = s.visits[0];
        assert.ok(pages.consent, 'no consent page');
        const text = pageText(pages.consent.html);
        assert.ok(text.includes('Notes (metadata document)'), text);
        assert.ok(text.includes(`Identified by ${HOST}`), `the consent page does not name the verified domain:\n${text}`);
        assert.ok(text.includes('Local address'), `no warning for the document's loopback redirect URI:\n${text}`);
        assert.ok(!text.includes('not verified'), text);
        assert.ok(fx.hits['/client.json'] >= 1, 'the server never fetched the document');
        assert.ok(final.url.startsWith(`${s.loop.redirectUrl}?`), `ended at ${final.url}`);
        callback = await s.loop.next(1000);
        assert.match(callback.code ?? '', /^abac_/, JSON.stringify(callback));
        assert.equal(callback.iss, stack.issuer);
      });

      it('exchanges the code as the document client and calls a tool', async () => {
        assert.ok(callback?.code, 'no code from the previous step');
        await s.lastTransport.finishAuth(callback.code);
        const tokens = s.provider.tokens();
        assert.match(tokens.refresh_token, /^abrt_/);
        const claims = jwtPayload(tokens.access_token);
        assert.equal(claims.client_id, `${fx.base}/client.json`);
        assert.equal(claims.aud, stack.mcpUrl);
        assert.equal(claims.sub, ADA.id);
        await s.connect();
        const r = await s.client.callTool({ name: 'whoami', arguments: {} });
        assert.ok(!r.isError, JSON.stringify(r));
        assert.equal(r.structuredContent.client_id, `${fx.base}/client.json`);
        assert.equal(r.structuredContent.user_id, ADA.id);
      });

      // MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations
      // (SSRF): each refused on Authbridge's page, with its reason, and nothing followed.
      const refused = [
        ['a loopback address other than the fixture', () => `https://${HOST}:${Number(stack.env.CIMD_FIXTURE_PORT) + 1}/client.json`, /address not public/],
        ['a private address', () => 'https://private.authbridge.test/client.json', /address not public.*10\.0\.0\.5/],
        ['a link-local address', () => 'https://linklocal.authbridge.test/client.json', /address not public.*169\.254\.10\.10/],
        ['the metadata-service address', () => 'https://metadata.authbridge.test/latest/meta-data', /address not public.*169\.254\.169\.254/],
        ['a redirect', () => `${fx.base}/moved.json`, /redirect/],
        ['an oversized document', () => `${fx.base}/big.json`, /too large/],
        ['a slow host', () => `${fx.base}/slow.json`, /could not be fetched/],
        ['a client_id that is not the URL', () => `${fx.base}/mismatch.json`, /does not match its URL/],
      ];
      for (const [what, id, reason] of refused) {
        it(`refuses ${what}`, async () => {
          const before = { ...fx.hits };
          const r = await authorize(stack, id(), s.loop.redirectUrl);
          const text = pageText(r.html);
          assert.equal(r.status, 400, text);
          assert.equal(r.location, null, 'an unvouched client must never be redirected to');
          assert.match(text, reason);
          const path = new URL(id()).pathname;
          const requests = Object.entries(fx.hits).filter(([p, n]) => n !== (before[p] ?? 0)).map(([p, n]) => [p, n - (before[p] ?? 0)]);
          if (new URL(id()).host === new URL(fx.base).host) {
            assert.deepEqual(requests, [[path, 1]], 'the fixture saw more than the first request');
          } else {
            assert.deepEqual(requests, [], 'a request reached the fixture');
          }
          if (what === 'a slow host') assert.ok(r.ms < 5000, `answered after ${Math.round(r.ms)} ms; the fetch is bounded at 3 s`);
        });
      }
    });
  }
});
