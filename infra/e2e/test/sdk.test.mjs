// The official MCP TypeScript SDK as the client, with its own OAuth implementation
// (OAuthClientProvider + StreamableHTTPClientTransport), against each running stack (with
// and without the stage prefix). The SDK does discovery, registration, the authorization
// request, the code exchange and refresh; the test only plays the person in the browser
// (lib/formbrowser.mjs submits the consent and sign-in forms) and revokes at the end.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stacks, sleep } from '../lib/stack.mjs';
import { createSession, jwtPayload, UnauthorizedError } from '../lib/session.mjs';
import { steps } from '../lib/steps.mjs';
import { formUserAgent } from '../lib/signin.mjs';

const ADA = { id: 'user_01JADAGS1DPDFA9S9S631SFWJ6', email: 'ada@example.com', org: 'org_01JENGINESADMFHXS2JFX687EA' };
// How long past `exp` a token may still be accepted (clock-skew leeway of the authorizer
// and the MCP function) plus margin; the tests poll, so this is only a deadline.
const EXPIRY_DEADLINE_MS = 75_000;

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

describe('MCP TypeScript SDK client', { concurrency: true }, () => {
  for (const stack of stacks()) {
    describe(`${stack.issuer} (${stack.stage ? `stage /${stack.stage}` : 'no stage'})`, { concurrency: 1 }, () => {
      let s;
      let ua;
      let callback;
      const it = steps();
      before(async () => {
        ua = formUserAgent({ email: ADA.email });
        s = await createSession(stack, { visit: ua.visit });
      });
      after(async () => s?.close());

      it('is challenged, discovers, registers and sends the person to the authorization endpoint', async () => {
        const err = await s.connect().then(() => undefined, (e) => e);
        if (!(err instanceof UnauthorizedError)) {
          const requests = s.log.map((e) => `  ${e.method} ${e.url} -> ${e.status}`).join('\n');
          throw new Error(`connect should fail with UnauthorizedError (sent to sign in), got ${err?.constructor?.name}: ${err?.message}\nrequests the SDK made:\n${requests}`);
        }
        const [challenge] = s.log;
        assert.deepEqual([challenge.method, challenge.url, challenge.status], ['POST', stack.mcpUrl, 401]);
        const fetched = s.log.map((e) => `${e.method} ${e.url} ${e.status}`);
        assert.ok(fetched.includes(`GET ${stack.issuer}/.well-known/oauth-protected-resource/mcp 200`), fetched.join('\n'));
        assert.ok(
          fetched.some((l) => /\/\.well-known\/(oauth-authorization-server|openid-configuration)\S* 200$/.test(l)),
          `no authorization server metadata found:\n${fetched.join('\n')}`,
        );
        assert.ok(fetched.includes(`POST ${stack.issuer}/api/ext/auth/register 201`), fetched.join('\n'));
        assert.equal(s.provider.authorizationUrls.length, 1);
        const url = s.provider.authorizationUrls[0];
        assert.equal(`${url.origin}${url.pathname}`, `${stack.issuer}/api/ext/auth/authorize`);
        assert.equal(url.searchParams.get('client_id'), s.provider.clientInformation().client_id);
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        assert.equal(url.searchParams.get('resource'), stack.mcpUrl);
        assert.equal(url.searchParams.get('redirect_uri'), s.loop.redirectUrl);
      });

      it('the person approves on the consent page and signs in; the loopback receives code, state and iss', async () => {
        assert.equal(s.visits.length, 1, 'the browser was not sent to the authorization URL');
        const { pages, final } = s.visits[0];
        assert.ok(pages.consent, 'no consent page');
        const consentForm = pages.consent.forms.find((f) => f.fields.some((x) => x.name === 'request_id'));
        assert.equal(consentForm.action, `${stack.issuer}/api/ext/auth/consent`);
        assert.ok(consentForm.fields.some((x) => x.name === 'csrf_token' && x.value), 'consent form has no csrf_token');
        assert.deepEqual(consentForm.buttons.map((b) => `${b.name}=${b.value}`).sort(), ['decision=approve', 'decision=deny']);
        assert.ok(pages.consent.html.includes('Authbridge e2e (MCP TypeScript SDK)'), 'the consent page does not name the client');
        assert.ok(pages.signin, 'no WorkOS sign-in page');
        assert.ok(pages.signin.url.startsWith(`${stack.workosUrl}/`), pages.signin.url);
        assert.equal(pages.organization, undefined, 'ada has one organization: no picker expected');
        assert.ok(final.url.startsWith(`${s.loop.redirectUrl}?`), `ended at ${final.url}`);
        callback = await s.loop.next(1000);
        assert.match(callback.code ?? '', /^abac_/, JSON.stringify(callback));
        assert.equal(callback.iss, stack.issuer, 'RFC 9207 iss');
        assert.equal(callback.state, s.provider.states.at(-1), 'state round trip');
        assert.ok(ua.browser.jar.names().includes('__Host-authbridge-browser'), 'no browser cookie was set');
      });

      it('exchanges the code (finishAuth) and connects with the access token', async () => {
        assert.ok(callback?.code, 'no code from the previous step');
        await s.lastTransport.finishAuth(callback.code);
        const exchange = s.log.filter((e) => e.grantType === 'authorization_code');
        assert.deepEqual(exchange.map((e) => [e.url, e.status]), [[`${stack.issuer}/api/ext/auth/token`, 200]]);
        const tokens = s.provider.tokens();
        assert.equal(tokens.token_type.toLowerCase(), 'bearer');
        assert.match(tokens.refresh_token, /^abrt_/);
        const claims = jwtPayload(tokens.access_token);
        assert.equal(claims.iss, stack.issuer);
        assert.equal(claims.aud, stack.mcpUrl);
        assert.equal(claims.sub, ADA.id);
        assert.equal(claims.client_id, s.provider.clientInformation().client_id);
        assert.deepEqual(claims.scope.split(' ').sort(), ['mcp:tools', 'orgs:read']);
        await s.connect();
      });

      it('lists the tools', async () => {
        const { tools } = await s.client.listTools();
        const names = tools.map((t) => t.name).sort();
        assert.ok(names.includes('whoami') && names.includes('list_organizations'), names.join(', '));
      });

      it('calls whoami', async () => {
        const r = await s.client.callTool({ name: 'whoami', arguments: {} });
        assert.ok(!r.isError, text(r));
        assert.equal(r.structuredContent.user_id, ADA.id);
        assert.equal(r.structuredContent.email, ADA.email);
        assert.equal(r.structuredContent.organization_id, ADA.org);
        assert.equal(r.structuredContent.client_id, s.provider.clientInformation().client_id);
        assert.match(text(r), /Ada Lovelace <ada@example\.com>/);
      });

      it('calls list_organizations', async () => {
        const r = await s.client.callTool({ name: 'list_organizations', arguments: {} });
        assert.ok(!r.isError, text(r));
        assert.equal(r.structuredContent.user_id, ADA.id);
        assert.deepEqual(r.structuredContent.memberships.map((m) => [m.organization_id, m.role, m.status]), [[ADA.org, 'admin', 'active']]);
      });

      it('refreshes on its own once the access token has expired, and the call succeeds', async () => {
        const before = s.provider.tokens();
        assert.ok(before, 'no tokens from the previous steps');
        const saved = s.provider.savedTokens.length;
        const exp = jwtPayload(before.access_token).exp * 1000;
        assert.ok(exp - Date.now() < 60_000, `the stack's ACCESS_TOKEN_TTL is too long for this test (token expires at ${new Date(exp).toISOString()}); start it with STACK_ENV=ACCESS_TOKEN_TTL=2s`);
        await sleep(Math.max(0, exp - Date.now()));
        // Call until the server refuses the expired token and the SDK refreshes (exp + the
        // server's clock-skew leeway); every call must succeed.
        const deadline = exp + EXPIRY_DEADLINE_MS;
        while (s.provider.savedTokens.length === saved) {
          assert.ok(Date.now() < deadline, 'the expired access token was still accepted long after exp');
          const r = await s.client.callTool({ name: 'whoami', arguments: {} });
          assert.ok(!r.isError, text(r));
          assert.equal(r.structuredContent.user_id, ADA.id);
          if (s.provider.savedTokens.length === saved) await sleep(1000);
        }
        const after = s.provider.tokens();
        assert.notEqual(after.access_token, before.access_token, 'new access token');
        assert.notEqual(after.refresh_token, before.refresh_token, 'refresh token rotated');
        const refresh = s.log.filter((e) => e.grantType === 'refresh_token');
        assert.deepEqual(refresh.map((e) => [e.url, e.status]), [[`${stack.issuer}/api/ext/auth/token`, 200]]);
        const i = s.log.indexOf(refresh[0]);
        assert.deepEqual([s.log[i - 1].url, s.log[i - 1].status], [stack.mcpUrl, 401], 'the refresh followed a 401 from /mcp');
        assert.equal(jwtPayload(after.access_token).sub, ADA.id);
      });

      it('is refused after its refresh token is revoked (refresh gets invalid_grant)', async () => {
        const tokens = s.provider.tokens();
        assert.ok(tokens?.refresh_token, 'no refresh token from the previous steps');
        // The metadata the SDK discovered; when it came from openid-configuration (the only
        // document reachable under a stage prefix) the SDK's OIDC schema drops
        // revocation_endpoint, so the application reads it from the document itself.
        const revocation =
          s.provider.discoveryState()?.authorizationServerMetadata?.revocation_endpoint ??
          (await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json()).revocation_endpoint;
        assert.equal(revocation, `${stack.issuer}/api/ext/auth/revoke`);
        const res = await fetch(revocation, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: s.provider.clientInformation().client_id }),
        });
        assert.equal(res.status, 200, await res.text());
        // From now on the person does not sign in again when the SDK asks.
        s.visit = undefined;
        const redirects = s.provider.authorizationUrls.length;
        const exp = jwtPayload(tokens.access_token).exp * 1000;
        const deadline = exp + EXPIRY_DEADLINE_MS;
        let refused;
        while (!refused) {
          assert.ok(Date.now() < deadline, 'still served long after the access token expired');
          try {
            // Access tokens are not revocable (docs/decisions.md): calls succeed until exp.
            const r = await s.client.callTool({ name: 'whoami', arguments: {} });
            assert.ok(!r.isError, text(r));
            await sleep(Math.min(1000, Math.max(200, exp - Date.now())));
          } catch (e) {
            refused = e;
          }
        }
        assert.ok(refused instanceof UnauthorizedError, `expected UnauthorizedError, got ${refused?.constructor?.name}: ${refused?.message}`);
        const refresh = s.log.filter((e) => e.grantType === 'refresh_token');
        assert.deepEqual(refresh.at(-1) && [refresh.at(-1).status, refresh.at(-1).error], [400, 'invalid_grant']);
        assert.ok(s.provider.invalidated.includes('tokens'), 'the SDK did not drop the refused tokens');
        assert.equal(s.provider.tokens(), undefined);
        assert.equal(s.provider.authorizationUrls.length, redirects + 1, 'the SDK asks the person to sign in again');
      });
    });
  }
});
