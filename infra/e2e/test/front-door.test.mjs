// Companion mode, front door (docs/front-door.md): an existing MCP server that knows nothing
// of OAuth (infra/cmd/sample-mcp-server -validate gateway, started by the stack with
// SAMPLE_UPSTREAM=1) sits behind the API Gateway emulator at {issuer}/mcp/sample. The MCP
// TypeScript SDK client, with its own OAuth, is challenged by the front door, discovers
// Authbridge, signs in, and calls the upstream's whoami through the gateway. The client sends
// forged X-Authbridge-* identity headers on every request; the upstream must see only the
// gateway's values, and never the client's bearer token (MCP: no token passthrough).
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { stacks } from '../lib/stack.mjs';
import { createSession, signInAndConnect, jwtPayload } from '../lib/session.mjs';
import { steps } from '../lib/steps.mjs';
import { formUserAgent } from '../lib/signin.mjs';

const ADA = { id: 'user_01JADAGS1DPDFA9S9S631SFWJ6', email: 'ada@example.com', org: 'org_01JENGINESADMFHXS2JFX687EA' };
const FORGED = {
  'X-Authbridge-User-Id': 'user_forged',
  'X-Authbridge-Email': 'mallory@example.com',
  'X-Authbridge-Organization-Id': 'org_forged',
  'X-Authbridge-Scope': 'admin:everything',
  'X-Authbridge-Client-Id': 'client_forged',
};

describe('front door: an MCP server without OAuth behind the gateway, with the MCP TypeScript SDK client', () => {
  const withFrontDoor = stacks().filter((s) => s.env.FRONT_DOOR_1_RESOURCE);
  if (withFrontDoor.length === 0) {
    test('skipped', (t) => t.skip('no stack with a front door: start one with SAMPLE_UPSTREAM=1 infra/local/stack.sh up NAME PORT (no stage)'));
    return;
  }
  for (const stack of withFrontDoor) {
    const resource = stack.env.FRONT_DOOR_1_RESOURCE;
    describe(`${resource} -> ${stack.env.FRONT_DOOR_1_UPSTREAM}`, { concurrency: 1 }, () => {
      const it = steps();
      let s;
      before(async () => {
        const ua = formUserAgent({ email: ADA.email });
        s = await createSession({ ...stack, mcpUrl: resource }, { visit: ua.visit, clientName: 'Authbridge e2e front door' });
        // Every request of the client carries forged identity headers.
        const forging = (url, init = {}) => {
          const headers = new Headers(init.headers);
          for (const [k, v] of Object.entries(FORGED)) headers.set(k, v);
          return s.fetchFn(url, { ...init, headers });
        };
        s.newTransport = () => new StreamableHTTPClientTransport(new URL(resource), { authProvider: s.provider, fetch: forging });
      });
      after(async () => s?.close());

      it('is challenged by the front door with its own resource_metadata, discovers Authbridge and signs in', async () => {
        // RFC 6750 §3.1, RFC 9728 §5.1: the front door's own 401, naming its own metadata.
        const prm = `${stack.issuer}/.well-known/oauth-protected-resource${new URL(resource).pathname}`;
        const bare = await fetch(resource, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        const meta = await (await fetch(prm)).json();
        assert.equal(meta.resource, resource);
        // MCP authorization (scope selection): the 401 names the scopes the metadata lists.
        assert.deepEqual([bare.status, bare.headers.get('www-authenticate')], [401, `Bearer resource_metadata="${prm}", scope="${meta.scopes_supported.join(' ')}"`]);

        const callback = await signInAndConnect(s);
        assert.match(callback.code ?? '', /^abac_/, JSON.stringify(callback));
        const fetched = s.log.map((e) => `${e.method} ${e.url} ${e.status}`);
        assert.equal(fetched[0], `POST ${resource} 401`, fetched.join('\n'));
        assert.ok(fetched.includes(`GET ${prm} 200`), fetched.join('\n'));
        // RFC 8707: the token is for the front door's resource, not for Authbridge's own /mcp.
        assert.equal(s.provider.authorizationUrls[0].searchParams.get('resource'), resource);
        const claims = jwtPayload(s.provider.tokens().access_token);
        assert.deepEqual([claims.iss, claims.aud, claims.sub], [stack.issuer, resource, ADA.id]);
      });

      it('calls whoami on the upstream: it reports the verified identity, the gateway headers, and never the client token', async () => {
        const r = await s.client.callTool({ name: 'whoami', arguments: {} });
        assert.ok(!r.isError, JSON.stringify(r.content));
        const who = r.structuredContent;
        const clientId = s.provider.clientInformation().client_id;
        // The identity comes from the gateway's assertion: audience = the upstream's own URL.
        assert.deepEqual([who.sub, who.email, who.org_id, who.client_id, who.aud], [ADA.id, ADA.email, ADA.org, clientId, stack.env.FRONT_DOOR_1_UPSTREAM]);
        // The forged headers were overwritten by the gateway's: one value each, the real one.
        const headers = Object.fromEntries(Object.entries(who.authbridge_headers).map(([k, v]) => [k.toLowerCase(), v]));
        assert.deepEqual(headers['x-authbridge-user-id'], [ADA.id]);
        assert.deepEqual(headers['x-authbridge-email'], [ADA.email]);
        assert.deepEqual(headers['x-authbridge-organization-id'], [ADA.org]);
        assert.deepEqual(headers['x-authbridge-client-id'], [clientId]);
        assert.deepEqual(headers['x-authbridge-scope'], [who.scope]);
        const values = who.headers.map((h) => h.value);
        for (const forged of Object.values(FORGED)) assert.ok(!values.some((v) => v.includes(forged)), `forged value ${forged} reached the upstream`);
        // MCP: no token passthrough. The client's access token appears in no header.
        const token = s.provider.tokens().access_token;
        assert.ok(!values.some((v) => v.includes(token)), 'the client token reached the upstream');
        const auth = who.headers.filter((h) => h.name.toLowerCase() === 'authorization');
        assert.equal(auth.length, 1);
        assert.notEqual(auth[0].value, `Bearer ${token}`);
        assert.equal(jwtPayload(auth[0].value.replace(/^Bearer /, '')).aud, stack.env.FRONT_DOOR_1_UPSTREAM);
      });

      it('refuses a tampered token at the gateway (401), before the upstream', async () => {
        const own = await fetch(resource, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.provider.tokens().access_token}x`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        assert.equal(own.status, 401);
      });
    });
  }
});

