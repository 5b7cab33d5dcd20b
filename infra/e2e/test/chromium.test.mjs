// Headless Chromium as the person's browser: the MCP TypeScript SDK is the client (it
// discovers, registers, builds the authorization URL and exchanges the code), Chromium opens
// the authorization URL, shows Authbridge's consent page, clicks approve, signs in on the
// WorkOS emulator's page (grace@example.com, who picks one of her two organizations) and
// lands on the client's loopback page. Screenshots go to test-artifacts/<stack>/.
import { describe, it as test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { stacks, ARTIFACTS } from '../lib/stack.mjs';
import { createSession, UnauthorizedError } from '../lib/session.mjs';
import { steps } from '../lib/steps.mjs';
import { launchChromium } from '../lib/chromium.mjs';

const GRACE = { id: 'user_01JGRACEKMTYT908QFRXV1B71A', email: 'grace@example.com' };
const BLETCHLEY = 'org_01JBETCHQRG70JHEH2TNSCKN1M';

describe('headless Chromium on the consent and sign-in pages', { concurrency: true }, () => {
  for (const stack of stacks()) {
    describe(`${stack.issuer} (${stack.stage ? `stage /${stack.stage}` : 'no stage'})`, { concurrency: 1 }, () => {
      const dir = path.join(ARTIFACTS, stack.name);
      const shot = (name) => path.join(dir, `${name}.png`);
      let browser;
      let s;
      const visits = [];
      const it = steps();

      // The person's side of one authorization: everything Chromium saw, for the assertions.
      async function visit(url, { screenshots }) {
        const seen = { urls: [], consoleErrors: [], consent: undefined };
        const page = await browser.context.newPage();
        // Browsers ask every origin for /favicon.ico; the gateway refuses it (403), which is fine.
        page.on('console', (m) => m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && seen.consoleErrors.push(`${m.location().url || page.url()}: ${m.text()}`));
        page.on('pageerror', (e) => seen.consoleErrors.push(`${page.url()}: ${e.message}`));
        page.on('framenavigated', (f) => f === page.mainFrame() && seen.urls.push(f.url()));
        try {
          await page.goto(url.href);
          if (page.url().startsWith(`${stack.issuer}/`)) {
            const approve = page.locator('form button[name="decision"][value="approve"]');
            await approve.waitFor();
            seen.consent = {
              url: page.url(),
              title: await page.title(),
              text: await page.locator('body').innerText(),
              action: await approve.evaluate((b) => b.form.action),
              hidden: await page.locator('form input[type="hidden"]').evaluateAll((els) => els.map((e) => e.name)),
            };
            if (screenshots) await page.screenshot({ path: shot('consent'), fullPage: true });
            await approve.click();
          }
          await page.waitForURL((u) => u.href.startsWith(`${stack.workosUrl}/`));
          const email = page.locator('#email-form input[name="email"]');
          await email.waitFor();
          seen.signinTitle = await page.title();
          if (screenshots) await page.screenshot({ path: shot('signin'), fullPage: true });
          await email.fill(GRACE.email);
          await page.locator('#email-form button[type="submit"]').click();
          const org = page.locator(`#org-${BLETCHLEY} button`);
          await org.waitFor();
          seen.organizations = await page.locator('form[id^="org-"]').evaluateAll((fs) => fs.map((f) => f.id));
          if (screenshots) await page.screenshot({ path: shot('organization'), fullPage: true });
          await org.click();
          await page.waitForURL((u) => u.href.startsWith(`${s.loop.redirectUrl}?`));
          await page.locator('#result').waitFor();
          if (screenshots) await page.screenshot({ path: shot('client-callback'), fullPage: true });
          seen.finalUrl = page.url();
        } finally {
          await page.close();
        }
        visits.push(seen);
      }

      before(async () => {
        mkdirSync(dir, { recursive: true });
        browser = await launchChromium();
        s = await createSession(stack, { clientName: 'Authbridge e2e (Chromium)', visit: (url) => visit(url, { screenshots: true }) });
      });
      after(async () => {
        await s?.close();
        await browser?.close();
      });

      it('shows the consent page, approves, signs in with an organization choice, and reaches the client', async () => {
        const err = await s.connect().then(() => undefined, (e) => e);
        if (!(err instanceof UnauthorizedError)) {
          const requests = s.log.map((e) => `  ${e.method} ${e.url} -> ${e.status}`).join('\n');
          throw new Error(`connect should fail with UnauthorizedError (sent to sign in), got ${err?.constructor?.name}: ${err?.message}\nrequests the SDK made:\n${requests}`);
        }
        assert.equal(visits.length, 1);
        const [v] = visits;
        assert.ok(v.consent, `Chromium never saw the consent page: ${v.urls.join(' -> ')}`);
        assert.ok(v.consent.url.startsWith(`${stack.issuer}/api/ext/auth/authorize?`), v.consent.url);
        assert.equal(v.consent.action, `${stack.issuer}/api/ext/auth/consent`);
        assert.ok(v.consent.hidden.includes('request_id') && v.consent.hidden.includes('csrf_token'), v.consent.hidden.join(','));
        assert.match(v.consent.text, /Authbridge e2e \(Chromium\)/, 'the consent page names the client');
        assert.match(v.consent.text, /127\.0\.0\.1/, 'the consent page shows where the code goes');
        assert.deepEqual(v.organizations.sort(), [`org-${BLETCHLEY}`, 'org-org_01JENGINESADMFHXS2JFX687EA'].sort());
        assert.deepEqual(v.consoleErrors, [], 'no console errors (CSP, scripts) on the pages');
        const callback = await s.loop.next(1000);
        assert.equal(callback.iss, stack.issuer);
        assert.equal(callback.state, s.provider.states.at(-1));
        const cookies = await browser.context.cookies(stack.issuer);
        const c = cookies.find((x) => x.name === '__Host-authbridge-browser');
        assert.ok(c, `Chromium kept no __Host-authbridge-browser cookie: ${JSON.stringify(cookies)}`);
        assert.deepEqual([c.secure, c.httpOnly, c.sameSite, c.path], [true, true, 'Lax', '/']);

        await s.lastTransport.finishAuth(callback.code);
        await s.connect();
        const r = await s.client.callTool({ name: 'whoami', arguments: {} });
        assert.ok(!r.isError);
        assert.equal(r.structuredContent.user_id, GRACE.id);
        assert.equal(r.structuredContent.organization_id, BLETCHLEY, 'the organization picked in the browser');
      });

      it('in the same browser, the next authorization of this client skips the consent page', async () => {
        s.provider.invalidateCredentials('tokens');
        s.visit = (url) => visit(url, { screenshots: false });
        const err = await s.connect().then(() => undefined, (e) => e);
        assert.ok(err instanceof UnauthorizedError, String(err));
        const v = visits.at(-1);
        assert.equal(v.consent, undefined, `consent was asked again: ${v.urls.join(' -> ')}`);
        const callback = await s.loop.next(1000);
        await s.lastTransport.finishAuth(callback.code);
        await s.connect();
        const r = await s.client.callTool({ name: 'whoami', arguments: {} });
        assert.equal(r.structuredContent.user_id, GRACE.id);
      });
    });
  }
});
