// What a person does in the browser, for the form browser: approve on Authbridge's consent
// page, enter an email on the WorkOS sign-in page, pick an organization when asked.
import { FormBrowser } from './formbrowser.mjs';

/**
 * Opens `authorizationUrl` in `browser` and completes the pages until a page without
 * any of them (the client's loopback page) is reached. Returns {pages, final}.
 */
export async function signInWithForms(browser, authorizationUrl, { email, organization, decision = 'approve' }) {
  const pages = {};
  let page = await browser.open(String(authorizationUrl));
  for (let step = 0; step < 6; step++) {
    const consent = page.forms.find((f) => f.fields.some((x) => x.name === 'request_id') && f.buttons.some((b) => b.name === 'decision'));
    const emailForm = page.forms.find((f) => f.id === 'email-form');
    const orgForms = page.forms.filter((f) => f.id?.startsWith('org-'));
    if (page.status !== 200) throw new Error(`page ${page.url} answered ${page.status}: ${page.html.slice(0, 500)}`);
    if (consent) {
      pages.consent = page;
      page = await browser.submit(page, consent, {}, { name: 'decision', value: decision });
    } else if (emailForm) {
      pages.signin = page;
      page = await browser.submit(page, emailForm, { email });
    } else if (orgForms.length) {
      pages.organization = page;
      const form = organization
        ? orgForms.find((f) => f.id === `org-${organization}` || f.buttons.some((b) => b.text.includes(organization)))
        : orgForms[0];
      if (!form) throw new Error(`no organization ${organization} on ${page.url}`);
      page = await browser.submit(page, form);
    } else {
      return { pages, final: page };
    }
  }
  throw new Error(`sign-in did not finish: stuck at ${page.url}`);
}

export function formUserAgent(options) {
  const browser = new FormBrowser();
  return {
    browser,
    visit: (url) => signInWithForms(browser, url, options),
  };
}
