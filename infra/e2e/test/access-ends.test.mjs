// Access ends: a person signed in through the MCP TypeScript SDK client loses access when
// WorkOS says so (a revoked session at refresh, a user.deleted webhook) or when the operator
// revokes a client's grants (infra/cmd/grants), and forged webhooks change nothing. README
// "Cut off a person or an app" and "WorkOS events cut access"; docs/workos-emulator.md.
//
// The person is Hedy (infra/workos-seed.json), whom no other test signs in as: her session is
// revoked and she is deleted from the stack's WorkOS emulator, so this file runs once per stack
// start (a deleted user stays deleted until the stack restarts). The steps run in order:
// (a) session revoked, (c) forged webhooks, (e) operator revoke by client, (d) Hedy revokes an
// app on the connected-apps page in headless Chromium (screenshots in
// test-artifacts/<stack>/connected-apps*.png), (b) user deleted.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { stacks, sleep, ROOT, ARTIFACTS } from '../lib/stack.mjs';
import { launchChromium } from '../lib/chromium.mjs';
import { createSession, signInAndConnect, jwtPayload, UnauthorizedError } from '../lib/session.mjs';
import { steps } from '../lib/steps.mjs';
import { introspectionCredentials, introspect } from '../lib/introspection.mjs';
import { formUserAgent } from '../lib/signin.mjs';

const run = promisify(execFile);
const HEDY = { id: 'user_01JHEDYLAMARRFHSSP3CTRM5QK', email: 'hedy@example.com' };
// infra/local/stack.sh: the emulator's API key (WORKOS_API_KEY) and the webhook secret it signs
// with (WORKOS_WEBHOOK_SECRET of the webhook function).
const EMULATOR_API_KEY = 'sk_test_local_authbridge';
const WEBHOOK_SECRET = 'whsec_local_authbridge';
// How long the SDK may take to refresh: the 2 s access tokens of the e2e stacks, plus
// CLOCK_LEEWAY, plus margin.
const REFRESH_DEADLINE_MS = 20_000;

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const line = (e) => [e.method, e.url, e.status, e.grantType, e.error].filter(Boolean).join(' ');

/** A test-control call to the stack's WorkOS emulator (docs/workos-emulator.md). */
async function emulator(stack, method, route) {
  const res = await fetch(`${stack.workosUrl}/_emulator/${route}`, { method, headers: { authorization: `Bearer ${EMULATOR_API_KEY}` } });
  const body = await res.json();
  assert.equal(res.status, 200, `${method} /_emulator/${route}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Signs Hedy in through a new MCP client application (its own registration). */
async function signIn(stack, clientName) {
  const ua = formUserAgent({ email: HEDY.email });
  const s = await createSession(stack, { visit: ua.visit, clientName: `Authbridge e2e access-ends (${clientName})` });
  const callback = await signInAndConnect(s);
  assert.match(callback.code ?? '', /^abac_/, JSON.stringify(callback));
  assert.equal(jwtPayload(s.provider.tokens().access_token).sub, HEDY.id);
  s.visit = undefined; // from here on the person does not sign in again when the SDK asks
  return s;
}

/**
 * Calls whoami until the SDK has refreshed (its access token expired, the server answered 401,
 * the SDK used its refresh token). Returns the token endpoint's refresh entry of the fetch log
 * and the call's outcome ({result} or {error}).
 */
async function sdkRefresh(stack, s) {
  const token = `${stack.issuer}/api/ext/auth/token`;
  const deadline = Date.now() + REFRESH_DEADLINE_MS;
  for (;;) {
    const logged = s.log.length;
    const outcome = await s.client.callTool({ name: 'whoami', arguments: {} }).then(
      (result) => ({ result }),
      (error) => ({ error }),
    );
    const refresh = s.log.slice(logged).find((e) => e.method === 'POST' && e.url === token && e.grantType === 'refresh_token');
    if (refresh) return { refresh, since: s.log.slice(logged).map(line), ...outcome };
    if (outcome.error) throw outcome.error;
    assert.ok(!outcome.result.isError, text(outcome.result));
    assert.ok(Date.now() < deadline, `the SDK did not refresh within ${REFRESH_DEADLINE_MS} ms`);
    await sleep(250);
  }
}

/** The SDK's refresh fails with invalid_grant and the SDK asks the person to sign in again. */
async function assertRefreshRefused(stack, s, what) {
  const redirects = s.provider.authorizationUrls.length;
  const { refresh, since, error, result } = await sdkRefresh(stack, s);
  assert.equal(line(refresh), `POST ${stack.issuer}/api/ext/auth/token 400 refresh_token invalid_grant`, `${what}:\n${since.join('\n')}`);
  assert.ok(error instanceof UnauthorizedError, `${what}: expected UnauthorizedError, got ${error?.constructor?.name ?? JSON.stringify(result)}: ${error?.message}`);
  assert.equal(s.provider.authorizationUrls.length, redirects + 1, `${what}: the SDK asks the person to sign in again`);
}

/** The SDK's refresh succeeds and the call goes through. */
async function assertRefreshWorks(stack, s, what) {
  const { refresh, since, error, result } = await sdkRefresh(stack, s);
  assert.equal(line(refresh), `POST ${stack.issuer}/api/ext/auth/token 200 refresh_token`, `${what}:\n${since.join('\n')}`);
  assert.ok(!error, `${what}: ${error?.message}`);
  assert.ok(!result.isError, text(result));
}

/** A refresh straight at the token endpoint with the client's current refresh token. */
async function directRefresh(stack, s) {
  const res = await fetch(`${stack.issuer}/api/ext/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: s.provider.tokens().refresh_token, client_id: s.provider.clientInformation().client_id }),
  });
  const body = await res.json();
  if (res.ok) s.provider.saveTokens({ ...s.provider.tokens(), ...body }); // rotated: keep the client usable (and what the SDK stored with the tokens)
  return { status: res.status, error: body.error };
}

/** The WorkOS-Signature header as WorkOS (and the emulator) computes it. */
function signature(secret, body, ms = Date.now()) {
  return `t=${ms}, v1=${createHmac('sha256', secret).update(`${ms}.${body}`).digest('hex')}`;
}

describe('access ends for a person signed in through the MCP TypeScript SDK client', { concurrency: true }, () => {
  for (const stack of stacks()) {
    const label = `${stack.issuer} (${stack.stage ? `stage /${stack.stage}` : 'no stage'})`;
    describe(label, { concurrency: 1 }, () => {
      const sessions = [];
      const it = steps();
      let stays; // a client that keeps working until Hedy is deleted
      let creds; // introspection credentials, to observe revocation in (b)

      before(async () => {
        const res = await fetch(`${stack.workosUrl}/user_management/users/${HEDY.id}`, { headers: { authorization: `Bearer ${EMULATOR_API_KEY}` } });
        if (res.status === 404) throw new Error(`${HEDY.email} was deleted from stack ${stack.name}'s WorkOS emulator by an earlier run: restart the stack (infra/local/stack.sh down/up ${stack.name})`);
        assert.equal(res.status, 200, `GET user ${HEDY.id}: ${res.status}`);
        creds = await introspectionCredentials(stack, (stack.env.PROTECTED_RESOURCES ?? stack.mcpUrl).split(',')[0].trim());
      });
      after(async () => {
        await Promise.all(sessions.map((s) => s.close()));
      });
      const open = async (name) => {
        const s = await signIn(stack, name);
        sessions.push(s);
        return s;
      };

      it('(a) revoking her WorkOS session in the emulator makes the next refresh fail with invalid_grant', async (t) => {
        const s = await open('session revoked');
        await assertRefreshWorks(stack, s, 'before the session is revoked');
        // Hedy's newest session is the one this sign-in made (no one else signs in as her).
        const list = await emulator(stack, 'GET', `sessions?user_id=${HEDY.id}`);
        const session = list.data[0];
        assert.ok(session && session.user_id === HEDY.id && session.status === 'active', JSON.stringify(list));
        const revoked = await emulator(stack, 'POST', `sessions/${session.id}/revoke`);
        assert.equal(revoked.event?.event, 'session.revoked', JSON.stringify(revoked));
        assert.equal(revoked.webhook, 'delivered', JSON.stringify(revoked));
        t.diagnostic(`session ${session.id} revoked, event ${revoked.event.id} delivered`);
        await assertRefreshRefused(stack, s, 'after the session was revoked');
      });

      it('(c) forged, unsigned and stale webhooks get 4xx and change nothing: her refresh still works', async () => {
        stays = await open('stays');
        const webhook = `${stack.issuer}/api/ext/auth/workos-webhook`;
        // What the emulator would send if Hedy were deleted.
        const user = await (await fetch(`${stack.workosUrl}/user_management/users/${HEDY.id}`, { headers: { authorization: `Bearer ${EMULATOR_API_KEY}` } })).json();
        const body = JSON.stringify({ id: `event_forged${randomUUID().replace(/-/g, '')}`, event: 'user.deleted', data: user, created_at: new Date().toISOString() });
        const attempts = {
          'signed with the wrong secret': { 'workos-signature': signature('whsec_not_the_secret', body) },
          unsigned: {},
          // Correctly signed, ten minutes ago: a replay outside the 180 s tolerance.
          stale: { 'workos-signature': signature(WEBHOOK_SECRET, body, Date.now() - 600_000) },
        };
        for (const [what, headers] of Object.entries(attempts)) {
          const res = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
          const answer = await res.text();
          assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${answer}`);
          assert.equal(res.status, 401, `${what}: ${answer}`);
          assert.equal(JSON.parse(answer).error, 'invalid_signature', `${what}: ${answer}`);
        }
        await assertRefreshWorks(stack, stays, 'after the forged webhooks');
      });

      it('(e) the operator revokes one client (infra/cmd/grants revoke -client): its refresh fails, her other client keeps working', async (t) => {
        const s = await open('revoked by the operator');
        const clientId = s.provider.clientInformation().client_id;
        const started = performance.now();
        const { stdout } = await run('go', ['run', './infra/cmd/grants', 'revoke', '-client', clientId], { cwd: ROOT, env: { ...process.env, ...stack.env } });
        t.diagnostic(`grants revoke -client took ${Math.round(performance.now() - started)} ms (go run included)`);
        assert.deepEqual(JSON.parse(stdout.trim()), { client_id: clientId, matched: 1, revoked: 1 });
        await assertRefreshRefused(stack, s, 'after grants revoke -client');
        await assertRefreshWorks(stack, stays, 'her other client');
      });

      it('(d) on the connected-apps page in headless Chromium she revokes one app: its refresh fails, her other client keeps working', async (t) => {
        const s = await open('revoked by the person');
        const clientId = s.provider.clientInformation().client_id;
        const dir = path.join(ARTIFACTS, stack.name);
        mkdirSync(dir, { recursive: true });
        const browser = await launchChromium();
        const seen = { consoleErrors: [] };
        try {
          const page = await browser.context.newPage();
          page.on('console', (m) => m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && seen.consoleErrors.push(`${page.url()}: ${m.text()}`));
          page.on('pageerror', (e) => seen.consoleErrors.push(`${page.url()}: ${e.message}`));
          const pageUrl = `${stack.issuer}/api/ext/auth/connected-apps`;
          await page.goto(pageUrl);
          // Not signed in to the page: WorkOS's sign-in (the emulator's page), then back.
          await page.waitForURL((u) => u.href.startsWith(`${stack.workosUrl}/`));
          await page.locator('#email-form input[name="email"]').fill(HEDY.email);
          await page.locator('#email-form button[type="submit"]').click();
          await page.waitForURL(pageUrl);
          const section = page.locator(`section.app[data-client-id="${clientId}"]`);
          await section.waitFor();
          assert.match(await page.locator('body').innerText(), new RegExp(`Signed in as ${HEDY.email.replace('.', '\\.')}`));
          const listed = await page.locator('section.app').evaluateAll((els) => els.map((e) => e.dataset.clientId));
          assert.ok(listed.includes(stays.provider.clientInformation().client_id), `her other client is listed: ${listed}`);
          const shown = await section.innerText();
          assert.match(shown, /Authbridge e2e access-ends \(revoked by the person\)/);
          assert.match(shown, /127\.0\.0\.1/); // the SDK client's loopback redirect URI
          assert.match(shown, /Granted\s+\d{1,2} \w{3} \d{4} \d{2}:\d{2} UTC/);
          assert.match(shown, /Last used\s+\d{1,2} \w{3} \d{4} \d{2}:\d{2} UTC/);
          await page.screenshot({ path: path.join(dir, 'connected-apps.png'), fullPage: true });
          await section.locator('button[name="action"][value="revoke"]').click();
          await page.waitForURL(`${pageUrl}?notice=revoked`);
          assert.match(await page.locator('[role="status"]').innerText(), /Access revoked/);
          assert.equal(await page.locator(`section.app[data-client-id="${clientId}"]`).count(), 0, 'the revoked app is no longer listed');
          await page.screenshot({ path: path.join(dir, 'connected-apps-revoked.png'), fullPage: true });
          t.diagnostic(`screenshots: ${path.join(dir, 'connected-apps.png')}, ${path.join(dir, 'connected-apps-revoked.png')}`);
        } finally {
          await browser.close();
        }
        assert.deepEqual(seen.consoleErrors, []);
        await assertRefreshRefused(stack, s, 'after she revoked the app on the connected-apps page');
        await assertRefreshWorks(stack, stays, 'her other client');
      });

      it('(b) deleting her in the emulator: the webhook is delivered and every grant of hers is revoked within a second', async (t) => {
        const other = await open('second client');
        const both = [stays, other];
        // Both work right before.
        for (const s of both) assert.deepEqual(await directRefresh(stack, s), { status: 200, error: undefined });

        // Observable: introspection (RFC 7662) answers active:false for both clients' access
        // tokens, which have time left (refreshed just now), so revocation, not expiry, ends them.
        const tokens = both.map((s) => s.provider.tokens().access_token);
        const exp = Math.min(...tokens.map((a) => jwtPayload(a).exp * 1000));
        for (const a of tokens) assert.equal((await introspect(stack, creds, a)).active, true);

        const started = performance.now();
        const startedAt = Date.now();
        const deleted = await emulator(stack, 'DELETE', `users/${HEDY.id}`);
        const answered = performance.now();
        assert.equal(deleted.event?.event, 'user.deleted', JSON.stringify(deleted));
        assert.equal(deleted.event.data?.id, HEDY.id, JSON.stringify(deleted));
        assert.equal(deleted.webhook, 'delivered', JSON.stringify(deleted));
        let states;
        for (;;) {
          states = await Promise.all(tokens.map((a) => introspect(stack, creds, a)));
          if (states.every((x) => !x.active) || performance.now() - started > 5_000) break;
          await sleep(20);
        }
        const observed = performance.now();
        const observedAt = Date.now();
        // The token endpoint refuses both refresh tokens too (after asking WorkOS, which has
        // ended the user's sessions).
        const results = await Promise.all(both.map((s) => directRefresh(stack, s)));
        const refused = performance.now();
        t.diagnostic(
          `user.deleted: control call answered (webhook delivered) after ${Math.round(answered - started)} ms; ` +
            `revocation observable (introspection active:false for both grants) ${Math.round(observed - started)} ms after the control call; ` +
            `both refreshes answered invalid_grant ${Math.round(refused - started)} ms after it`,
        );
        assert.deepEqual(states, [{ active: false }, { active: false }]);
        assert.ok(observed - started < 1000, `revocation observable only after ${Math.round(observed - started)} ms`);
        assert.ok(observedAt < exp, `observed ${observedAt - exp} ms after exp: that proves nothing about revocation (machine too slow for ACCESS_TOKEN_TTL)`);
        assert.ok(startedAt < exp);
        assert.deepEqual(results, [
          { status: 400, error: 'invalid_grant' },
          { status: 400, error: 'invalid_grant' },
        ]);
        // And the SDK's own refresh fails for both clients.
        for (const [i, s] of both.entries()) await assertRefreshRefused(stack, s, `client ${i + 1} after the user was deleted`);
      });
    });
  }
});
