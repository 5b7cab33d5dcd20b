// Companion mode: MCP servers that run at their own URL, on another origin than Authbridge,
// and accept Authbridge's tokens themselves (shared/resourceserver). The client is the MCP
// TypeScript SDK with its own OAuth, exactly as in sdk.test.mjs; the servers are
// infra/cmd/sample-mcp-server. For each stack, the first two PROTECTED_RESOURCES on another
// origin than the issuer's get a sample server: the first verifies tokens against the JWKS
// (-validate jwks), the second asks Authbridge's introspection endpoint (-validate introspect,
// RFC 7662) with credentials from infra/cmd/introspection-credentials.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stacks, sleep, ROOT } from '../lib/stack.mjs';
import { createSession, signInAndConnect, jwtPayload, UnauthorizedError } from '../lib/session.mjs';
import { steps } from '../lib/steps.mjs';
import { introspectionCredentials, introspect, CREDENTIALS_COMMAND } from '../lib/introspection.mjs';
import { formUserAgent } from '../lib/signin.mjs';

const run = promisify(execFile);
const ADA = { id: 'user_01JADAGS1DPDFA9S9S631SFWJ6', email: 'ada@example.com', org: 'org_01JENGINESADMFHXS2JFX687EA' };
// exp + the servers' clock-skew leeway (sample server 30 s, Authbridge CLOCK_LEEWAY) + margin.
const EXPIRY_DEADLINE_MS = 75_000;

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

/** The stack's protected resources on another origin than the issuer's (companion mode). */
function remoteResources(stack) {
  const origin = new URL(stack.issuer).origin;
  return (stack.env.PROTECTED_RESOURCES ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r && new URL(r).origin !== origin);
}

// The sample server binary: SAMPLE_MCP_SERVER (make e2e builds it once), else built here once.
let built;
function sampleServerBinary() {
  if (process.env.SAMPLE_MCP_SERVER) return Promise.resolve(process.env.SAMPLE_MCP_SERVER);
  built ??= (async () => {
    const out = path.join(ROOT, '.run', 'bin', 'sample-mcp-server');
    await run('go', ['build', '-o', out, './infra/cmd/sample-mcp-server'], { cwd: ROOT });
    return out;
  })();
  return built;
}

/** Starts the sample server for resource and waits until it answers. */
async function startSampleServer(stack, resource, validate, env = {}) {
  const bin = await sampleServerBinary();
  const child = spawn(bin, ['-addr', new URL(resource).host, '-issuer', stack.issuer, '-resource', resource, '-validate', validate], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const server = { log: () => log, stop: async () => (child.kill('SIGTERM'), await exited) };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const code = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (code !== undefined) throw new Error(`sample-mcp-server (${validate}) exited with ${code}:\n${log}`);
    try {
      await fetch(resource, { method: 'POST' });
      return server;
    } catch {}
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`sample-mcp-server did not answer at ${resource}:\n${log}`);
    }
  }
}

/** The steps both sample servers share: discovery and sign-in through the server's 401, then whoami. */
function signInSteps(stack, resource, validate, it, state) {
  it('is challenged by the server on its own origin, discovers Authbridge from resource_metadata and signs in', async () => {
    const { host, pathname } = new URL(resource);
    // RFC 9728 §5.1, RFC 6750 §3.1: no token, no error code; the metadata URL is host-qualified.
    const prm = `${stack.issuer}/.well-known/oauth-protected-resource/${host}${pathname}`;
    const bare = await fetch(resource, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.deepEqual([bare.status, bare.headers.get('www-authenticate')], [401, `Bearer resource_metadata="${prm}"`]);

    const callback = await signInAndConnect(state.s);
    const s = state.s;
    assert.match(callback.code ?? '', /^abac_/, JSON.stringify(callback));
    const [challenge] = s.log;
    assert.deepEqual([challenge.method, challenge.url, challenge.status], ['POST', resource, 401]);
    const fetched = s.log.map((e) => `${e.method} ${e.url} ${e.status}`);
    assert.ok(fetched.includes(`GET ${prm} 200`), fetched.join('\n'));
    assert.ok(fetched.includes(`POST ${stack.issuer}/api/ext/auth/register 201`), fetched.join('\n'));
    const url = s.provider.authorizationUrls[0];
    assert.equal(`${url.origin}${url.pathname}`, `${stack.issuer}/api/ext/auth/authorize`);
    // RFC 8707: the SDK asks for a token for the companion server, not for Authbridge's /mcp.
    assert.equal(url.searchParams.get('resource'), resource);
    assert.ok(s.visits[0]?.pages.consent, 'no consent page');
    const claims = jwtPayload(s.provider.tokens().access_token);
    assert.deepEqual([claims.iss, claims.aud, claims.sub], [stack.issuer, resource, ADA.id]);
  });

  it(`calls whoami: the server (-validate ${validate}) reports the identity and aud it verified`, async () => {
    const r = await state.s.client.callTool({ name: 'whoami', arguments: {} });
    assert.ok(!r.isError, text(r));
    assert.deepEqual(r.structuredContent, {
      sub: ADA.id,
      email: ADA.email,
      org_id: ADA.org,
      client_id: state.s.provider.clientInformation().client_id,
      scope: r.structuredContent.scope,
      aud: resource,
    });
    assert.ok(r.structuredContent.scope.split(' ').includes('mcp:tools'), r.structuredContent.scope);
  });
}

describe('companion MCP servers (shared/resourceserver) with the MCP TypeScript SDK client', { concurrency: true }, () => {
  for (const stack of stacks()) {
    const [jwksResource, introspectResource] = remoteResources(stack);
    const label = `${stack.issuer} (${stack.stage ? `stage /${stack.stage}` : 'no stage'})`;
    describe(label, { concurrency: true }, () => {
      for (const [validate, resource] of [['jwks', jwksResource], ['introspect', introspectResource]]) {
        describe(`-validate ${validate} at ${resource ?? '(no resource)'}`, { concurrency: 1 }, () => {
          const missing = !resource
            ? `stack ${stack.name} has no second PROTECTED_RESOURCES entry on another origin; start it with STACK_ENV="PROTECTED_RESOURCES=${stack.issuer}/mcp,http://127.0.0.1:<port>/mcp,http://127.0.0.1:<port+1>/mcp"`
            : validate === 'introspect' && !existsSync(path.join(ROOT, CREDENTIALS_COMMAND))
              ? `${CREDENTIALS_COMMAND} does not exist yet: no introspection credentials`
              : undefined;
          if (missing) {
            test('skipped', (t) => t.skip(missing));
            return;
          }
          const state = {};
          let server;
          const it = steps((e) => {
            if (server) e.message += `\nsample-mcp-server log:\n${server.log().slice(-3000)}`;
          });
          before(async () => {
            if (validate === 'introspect') state.creds = await introspectionCredentials(stack, resource);
            server = await startSampleServer(
              stack,
              resource,
              validate,
              state.creds && { INTROSPECTION_CLIENT_ID: state.creds.client_id, INTROSPECTION_CLIENT_SECRET: state.creds.client_secret },
            );
            const ua = formUserAgent({ email: ADA.email });
            state.s = await createSession({ ...stack, mcpUrl: resource }, { visit: ua.visit, clientName: `Authbridge e2e companion (${validate})` });
          });
          after(async () => {
            await state.s?.close();
            await server?.stop();
          });

          signInSteps(stack, resource, validate, it, state);

          if (validate !== 'introspect') return;
          it('refuses the next call once the grant is revoked (RFC 7009): introspection answers active:false before exp', async (t) => {
            const s = state.s;
            const revoke = (token, hint) =>
              fetch(`${stack.issuer}/api/ext/auth/revoke`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({ token, token_type_hint: hint, client_id: s.provider.clientInformation().client_id }),
              });
            // RFC 7009 §2.2: an unknown token gets 200; this also warms the revoke function, so
            // that the steps below fit in one access token's life.
            assert.equal((await revoke(`abrt_unknown${Date.now()}`, 'refresh_token')).status, 200);
            // A token with time left to prove that revocation, not expiry, ends it: with the
            // e2e stacks' 2 s tokens, call until the SDK has refreshed on the server's 401.
            const saved = s.provider.savedTokens.length;
            const firstExp = jwtPayload(s.provider.tokens().access_token).exp * 1000;
            while (firstExp - Date.now() < 1500 && s.provider.savedTokens.length === saved) {
              assert.ok(Date.now() < firstExp + EXPIRY_DEADLINE_MS, 'the expired access token was still accepted long after exp');
              const r = await s.client.callTool({ name: 'whoami', arguments: {} });
              assert.ok(!r.isError, text(r));
              if (s.provider.savedTokens.length === saved) await sleep(250);
            }
            const tokens = s.provider.tokens();
            const exp = jwtPayload(tokens.access_token).exp * 1000;
            const active = await introspect(stack, state.creds, tokens.access_token);
            assert.deepEqual([active.active, active.aud, active.sub], [true, resource, ADA.id]);

            // RFC 7009 §2.1: the client revokes its refresh token, which ends the grant.
            const res = await revoke(tokens.refresh_token, 'refresh_token');
            assert.equal(res.status, 200, await res.text());
            const afterRevoke = await introspect(stack, state.creds, tokens.access_token);
            const checkedAt = Date.now();
            assert.deepEqual(afterRevoke, { active: false });
            t.diagnostic(`inactive ${exp - checkedAt} ms before exp`);
            assert.ok(checkedAt < exp, `introspected ${checkedAt - exp} ms after exp: that proves nothing about revocation (machine too slow for the stack's ACCESS_TOKEN_TTL)`);

            // The person does not sign in again when the SDK asks.
            s.visit = undefined;
            const redirects = s.provider.authorizationUrls.length;
            const logged = s.log.length;
            const refused = await s.client.callTool({ name: 'whoami', arguments: {} }).then(
              (r) => new Error(`whoami still answered after the revocation: ${text(r)}`),
              (e) => e,
            );
            assert.ok(refused instanceof UnauthorizedError, `expected UnauthorizedError, got ${refused?.constructor?.name}: ${refused?.message}`);
            // The server refused the token (its introspection said inactive); the SDK's refresh
            // then fails with invalid_grant.
            const since = s.log.slice(logged).map((e) => [e.method, e.url, e.status, e.grantType, e.error].filter(Boolean).join(' '));
            assert.equal(since[0], `POST ${resource} 401`, since.join('\n'));
            assert.ok(since.includes(`POST ${stack.issuer}/api/ext/auth/token 400 refresh_token invalid_grant`), since.join('\n'));
            assert.equal(s.provider.authorizationUrls.length, redirects + 1, 'the SDK asks the person to sign in again');
          });
        });
      }
    });
  }
});
