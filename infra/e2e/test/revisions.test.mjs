// MCP clients speaking each protocol revision Authbridge serves, each through the whole flow
// against each running stack (with and without the stage prefix): 401 challenge → protected
// resource metadata → authorization server metadata → registration → authorization (PKCE
// S256, resource) → consent and sign-in on the WorkOS emulator → callback → code exchange →
// tools/call whoami.
//   - 2026-07-28 (stateless): lib/rawmcp.mjs, written against the wire — the pinned
//     TypeScript SDK (LATEST_PROTOCOL_VERSION 2025-11-25) cannot speak it. No initialize:
//     server/discover first, _meta on every request, MCP-Protocol-Version, Mcp-Method and
//     Mcp-Name headers. Then the same call from headless Chromium on an allowed origin
//     (a real CORS preflight with those headers through the gateway).
//   - 2025-11-25: the TypeScript SDK as it is.
//   - 2025-06-18: the TypeScript SDK, with its initialize asking for 2025-06-18 (it has no
//     option for the version it asks; it accepts 2025-06-18, a supported version, and then
//     sends MCP-Protocol-Version: 2025-06-18 on every request).
// And the Origin rules of MCP transports at the gateway: a disallowed Origin gets 403 with or
// without a token; an allowed or absent one without a token gets the 401 challenge.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { stacks } from '../lib/stack.mjs';
import { createSession, signInAndConnect, jwtPayload } from '../lib/session.mjs';
import { recordingFetch } from '../lib/provider.mjs';
import { steps } from '../lib/steps.mjs';
import { formUserAgent } from '../lib/signin.mjs';
import { startLoopback } from '../lib/loopback.mjs';
import { RawMcpClient, STATELESS, resourceMetadataFrom } from '../lib/rawmcp.mjs';
import { launchChromium, CHROMIUM } from '../lib/chromium.mjs';

const ADA = { id: 'user_01JADAGS1DPDFA9S9S631SFWJ6', email: 'ada@example.com', org: 'org_01JENGINESADMFHXS2JFX687EA' };
// Browser origins: allowed by the stacks' ALLOWED_ORIGINS (infra/local/stack.sh), and not.
const ALLOWED_ORIGIN = 'http://127.0.0.1:6274';
const DISALLOWED_ORIGIN = 'http://127.0.0.1:6275';
const MIRRORED = ['authorization', 'content-type', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-param-region'];

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const prmUrl = (stack) => `${stack.issuer}/.well-known/oauth-protected-resource/mcp`;

test('the pinned TypeScript SDK cannot speak 2026-07-28 (hence lib/rawmcp.mjs)', () => {
  assert.equal(LATEST_PROTOCOL_VERSION, '2025-11-25');
  assert.ok(!SUPPORTED_PROTOCOL_VERSIONS.includes(STATELESS), SUPPORTED_PROTOCOL_VERSIONS.join(', '));
  assert.ok(SUPPORTED_PROTOCOL_VERSIONS.includes('2025-06-18'));
});

/** A fetch for the SDK whose initialize asks for `version`, recording the negotiated answer. */
function askingFor(version, inner, seen) {
  return async (input, init = {}) => {
    let body = init.body;
    let initialize = false;
    if (typeof body === 'string' && body.includes('"initialize"')) {
      const msg = JSON.parse(body);
      if (msg.method === 'initialize') {
        msg.params.protocolVersion = version;
        body = JSON.stringify(msg);
        initialize = true;
      }
    }
    const headers = new Headers(init.headers);
    if (typeof body === 'string' && body.startsWith('{')) seen.requests.push({ method: JSON.parse(body).method, version: headers.get('mcp-protocol-version') });
    const res = await inner(input, { ...init, body });
    if (initialize && res.ok) seen.negotiated = (await res.clone().json()).result?.protocolVersion;
    return res;
  };
}

describe('MCP protocol revisions', { concurrency: true }, () => {
  for (const stack of stacks()) {
    const where = `${stack.issuer} (${stack.stage ? `stage /${stack.stage}` : 'no stage'})`;

    describe(`${STATELESS}, stateless (raw client), ${where}`, { concurrency: 1 }, () => {
      const it = steps();
      let loop;
      let c;
      let flow;
      let ua;
      before(async () => {
        loop = await startLoopback();
        ua = formUserAgent({ email: ADA.email });
        c = new RawMcpClient({ mcpUrl: stack.mcpUrl, redirectUrl: loop.redirectUrl });
      });
      after(async () => loop?.close());

      it('is challenged, discovers, registers, signs in with PKCE S256 and resource, and exchanges the code', async () => {
        flow = await c.authorize({ visit: (url) => ua.visit(url), loop });
        // The first request is server/discover, unauthenticated: 401 and the challenge.
        assert.equal(flow.challenge.request.method, 'server/discover');
        assert.equal(flow.challenge.res.status, 401);
        assert.equal(resourceMetadataFrom(flow.wwwAuthenticate), prmUrl(stack));
        assert.deepEqual(flow.resourceMetadata.authorization_servers, [stack.issuer]);
        // Under a stage prefix only the OpenID document appended to the issuer's path is
        // reachable (the path-insertion URLs are outside the stage).
        assert.equal(flow.serverMetadataUrl, stack.stage ? `${stack.issuer}/.well-known/openid-configuration` : `${stack.issuer}/.well-known/oauth-authorization-server`);
        assert.match(flow.registration.client_id ?? '', /./);
        assert.equal(`${flow.authorizationUrl.origin}${flow.authorizationUrl.pathname}`, `${stack.issuer}/api/ext/auth/authorize`);
        const { pages, final } = flow.visit;
        assert.ok(pages.consent?.html.includes('Authbridge e2e (raw 2026-07-28 client)'), 'the consent page does not name the client');
        assert.ok(pages.signin?.url.startsWith(`${stack.workosUrl}/`), 'no WorkOS sign-in page');
        assert.ok(final.url.startsWith(`${loop.redirectUrl}?`), `ended at ${final.url}`);
        assert.match(flow.callback.code, /^abac_/);
        assert.equal(flow.callback.iss, stack.issuer, 'RFC 9207 iss');
        const claims = jwtPayload(flow.tokens.access_token);
        assert.equal(claims.aud, stack.mcpUrl);
        assert.equal(claims.sub, ADA.id);
        assert.equal(claims.client_id, flow.registration.client_id);
        assert.deepEqual(claims.scope.split(' ').sort(), ['mcp:tools', 'orgs:read']);
      });

      it('server/discover answers without any handshake and lists 2026-07-28', async () => {
        const { res, body } = await c.send('server/discover', {});
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.ok(body.result.supportedVersions.includes(STATELESS), JSON.stringify(body.result));
        assert.ok(body.result.capabilities?.tools, 'no tools capability');
        assert.equal(res.headers.get('mcp-session-id'), null, 'a stateless server sets no session');
      });

      it('lists the tools and calls whoami, each request on its own', async () => {
        const { tools } = await c.call('tools/list', {});
        assert.ok(tools.some((t) => t.name === 'whoami'), tools.map((t) => t.name).join(', '));
        const r = await c.call('tools/call', { name: 'whoami', arguments: {} });
        assert.ok(!r.isError, text(r));
        assert.equal(r.structuredContent.user_id, ADA.id);
        assert.equal(r.structuredContent.client_id, flow.registration.client_id);
        // Every MCP request carried the version and the mirrored method (and name) headers.
        for (const e of c.log.filter((x) => x.url === stack.mcpUrl)) {
          assert.equal(e.headers['mcp-protocol-version'], STATELESS);
          assert.equal(e.headers['mcp-method'], e.body.method);
          assert.equal(e.body.params._meta['io.modelcontextprotocol/protocolVersion'], STATELESS);
          if (e.body.method === 'tools/call') assert.equal(e.headers['mcp-name'], e.body.params.name);
        }
      });

      it('a mirrored header that disagrees with the body is refused (400)', async () => {
        const { res, body } = await c.send('tools/call', { name: 'whoami', arguments: {} }, { 'mcp-name': 'list_organizations' });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.ok(body.error, JSON.stringify(body));
      });

      it('a browser preflight with the mirrored headers succeeds through the gateway', async () => {
        const res = await fetch(stack.mcpUrl, {
          method: 'OPTIONS',
          headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': MIRRORED.join(', ') },
        });
        assert.ok(res.status === 204 || res.status === 200, `preflight: ${res.status}`);
        assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
        assert.match(res.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
        const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').map((h) => h.trim());
        for (const h of MIRRORED) assert.ok(allowed.includes(h), `${h} not in Access-Control-Allow-Headers: ${allowed.join(', ')}`);
        // Another origin's preflight is refused (no CORS headers for it).
        const bad = await fetch(stack.mcpUrl, {
          method: 'OPTIONS',
          headers: { origin: DISALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': MIRRORED.join(', ') },
        });
        assert.equal(bad.status, 403);
        assert.equal(bad.headers.get('access-control-allow-origin'), null);
      });

      it('headless Chromium on an allowed origin calls whoami with those headers (real CORS); another origin cannot', async (t) => {
        if (!existsSync(CHROMIUM)) return t.skip(`no Chromium at ${CHROMIUM} (make e2e-deps installs it)`);
        const browser = await launchChromium();
        try {
          // The two origins' pages are served by the test (no server listens there), so
          // Chromium counts them as public: Local Network Access must be granted for them to
          // reach the loopback stack at all (the refusal below is then CORS's, not LNA's).
          for (const origin of [ALLOWED_ORIGIN, DISALLOWED_ORIGIN]) await browser.context.grantPermissions(['local-network-access'], { origin });
          await browser.context.route(/^http:\/\/127\.0\.0\.1:627[45]\//, (route) =>
            route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>browser MCP client</title>' }),
          );
          const call = async (origin) => {
            const page = await browser.context.newPage();
            try {
              await page.goto(`${origin}/`);
              const msg = c.message('tools/call', { name: 'whoami', arguments: {} });
              const headers = { ...c.headersFor(msg), 'mcp-param-region': 'eu' };
              return await page.evaluate(
                async ({ url, headers, body }) => {
                  try {
                    const res = await fetch(url, { method: 'POST', headers, body });
                    // A readable answer is CORS's approval (the preflight's and the response's).
                    return { status: res.status, body: await res.json() };
                  } catch (e) {
                    return { error: String(e) };
                  }
                },
                { url: stack.mcpUrl, headers, body: JSON.stringify(msg) },
              );
            } finally {
              await page.close();
            }
          };
          const ok = await call(ALLOWED_ORIGIN);
          assert.equal(ok.status, 200, JSON.stringify(ok));
          assert.equal(ok.body.result.structuredContent.user_id, ADA.id);
          const refused = await call(DISALLOWED_ORIGIN);
          assert.match(refused.error ?? '', /Failed to fetch/, `a disallowed origin read the answer: ${JSON.stringify(refused)}`);
        } finally {
          await browser.close();
        }
      });

      it('a disallowed Origin gets 403 with a token, and without one; an allowed or absent one without a token gets the 401 challenge', async () => {
        const msg = c.message('tools/list', {});
        const post = (extra) => {
          const headers = { ...c.headersFor(msg), ...extra };
          delete headers.authorization;
          if (extra.authorization) headers.authorization = extra.authorization;
          return fetch(stack.mcpUrl, { method: 'POST', headers, body: JSON.stringify(msg) });
        };
        for (const authorization of [undefined, `Bearer ${c.accessToken}`]) {
          const res = await post({ origin: 'https://evil.example', authorization });
          const body = await res.json();
          assert.equal(res.status, 403, `token: ${Boolean(authorization)}: ${JSON.stringify(body)}`);
          assert.equal(res.headers.get('www-authenticate'), null, 'no challenge on an Origin refusal');
          assert.equal(body.error?.code, -31001, JSON.stringify(body));
        }
        for (const origin of [undefined, ALLOWED_ORIGIN, new URL(stack.issuer).origin]) {
          const res = await post(origin ? { origin } : {});
          assert.equal(res.status, 401, `Origin ${origin}`);
          assert.equal(resourceMetadataFrom(res.headers.get('www-authenticate')), prmUrl(stack));
        }
      });
    });

    for (const version of ['2025-11-25', '2025-06-18']) {
      describe(`${version} (MCP TypeScript SDK), ${where}`, { concurrency: 1 }, () => {
        const it = steps();
        let s;
        const seen = { requests: [], negotiated: undefined };
        before(async () => {
          const ua = formUserAgent({ email: ADA.email });
          s = await createSession(stack, { visit: ua.visit, clientName: `Authbridge e2e (SDK, ${version})` });
          const fetchFn = askingFor(version, recordingFetch(s.log), seen);
          s.newTransport = () => new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: s.provider, fetch: fetchFn });
        });
        after(async () => s?.close());

        it('is challenged, discovers, registers, signs in (PKCE S256, resource), exchanges the code and initializes', async () => {
          await signInAndConnect(s);
          const fetched = s.log.map((e) => `${e.method} ${e.url} ${e.status}`);
          assert.equal(fetched[0], `POST ${stack.mcpUrl} 401`);
          assert.ok(fetched.includes(`GET ${prmUrl(stack)} 200`), fetched.join('\n'));
          assert.ok(fetched.some((l) => /\/\.well-known\/(oauth-authorization-server|openid-configuration)\S* 200$/.test(l)), fetched.join('\n'));
          assert.ok(fetched.includes(`POST ${stack.issuer}/api/ext/auth/register 201`), fetched.join('\n'));
          assert.deepEqual(s.log.filter((e) => e.grantType === 'authorization_code').map((e) => e.status), [200]);
          const url = s.provider.authorizationUrls[0];
          assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
          assert.equal(url.searchParams.get('resource'), stack.mcpUrl);
          assert.ok(s.visits[0]?.pages.consent && s.visits[0]?.pages.signin, 'no consent or sign-in page');
          assert.equal(jwtPayload(s.provider.tokens().access_token).aud, stack.mcpUrl);
          assert.equal(seen.negotiated, version, 'the server answered initialize with another version');
        });

        it('calls whoami, every request after initialize naming the negotiated version', async () => {
          const r = await s.client.callTool({ name: 'whoami', arguments: {} });
          assert.ok(!r.isError, text(r));
          assert.equal(r.structuredContent.user_id, ADA.id);
          assert.equal(r.structuredContent.client_id, s.provider.clientInformation().client_id);
          const after = seen.requests.slice(seen.requests.findLastIndex((q) => q.method === 'initialize') + 1);
          assert.ok(after.some((q) => q.method === 'tools/call'), JSON.stringify(seen.requests));
          for (const q of after) assert.equal(q.version, version, JSON.stringify(q));
        });
      });
    }
  }
});
