// A minimal user agent for the SDK test: fetch with a cookie jar, redirects followed the way
// a browser follows them, and HTML forms submitted with their fields and the clicked button.
// It speaks no OAuth: it only loads pages and submits the forms people would submit.

/** Cookies keyed by host (RFC 6265: cookies ignore the port), with Path and expiry. */
export class CookieJar {
  constructor() {
    this.cookies = new Map(); // `${host}\n${path}\n${name}` -> {name, value, host, path, expires}
  }

  /** Stores every Set-Cookie of a response to `url`. */
  store(url, headers) {
    const u = new URL(url);
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), host: u.hostname, path: '/', expires: Infinity };
      const defaultPath = u.pathname.replace(/\/[^/]*$/, '') || '/';
      cookie.path = defaultPath;
      for (const attr of attrs) {
        const [k, ...rest] = attr.split('=');
        const key = k.trim().toLowerCase();
        const val = rest.join('=').trim();
        if (key === 'path' && val.startsWith('/')) cookie.path = val;
        else if (key === 'max-age') cookie.expires = Date.now() + Number(val) * 1000;
        else if (key === 'expires' && cookie.expires === Infinity) cookie.expires = Date.parse(val);
      }
      const key = `${cookie.host}\n${cookie.path}\n${cookie.name}`;
      if (cookie.expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, cookie);
    }
  }

  /** The Cookie header for a request to `url` (Secure cookies are sent to loopback over
   * http, as browsers treat 127.0.0.1 as a secure context). */
  header(url) {
    const u = new URL(url);
    const now = Date.now();
    const out = [];
    for (const c of this.cookies.values()) {
      if (c.host !== u.hostname || c.expires <= now) continue;
      if (!(u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/'))) continue;
      out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }

  names() {
    return [...this.cookies.values()].map((c) => c.name);
  }
}

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return entities[e.toLowerCase()] ?? m;
  });
}

function attributes(tag) {
  const attrs = {};
  for (const m of tag.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** The forms of an HTML page: action, method, id, fields (name/value of inputs) and buttons. */
export function parseForms(html, pageURL) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]);
    const body = m[2];
    const fields = [];
    for (const im of body.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(im[1]);
      const type = (a.type ?? 'text').toLowerCase();
      if (!a.name || ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
      fields.push({ name: a.name, value: a.value ?? (type === 'checkbox' ? 'on' : ''), type, required: 'required' in a });
    }
    const buttons = [];
    for (const bm of body.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      const a = attributes(bm[1]);
      if ((a.type ?? 'submit').toLowerCase() !== 'submit') continue;
      buttons.push({ name: a.name, value: a.value ?? '', text: decodeEntities(bm[2].replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim() });
    }
    forms.push({
      id: attrs.id,
      action: new URL(attrs.action ?? '', pageURL).href,
      method: (attrs.method ?? 'get').toUpperCase(),
      fields,
      buttons,
    });
  }
  return forms;
}

/** A page: the final URL after redirects, status, headers and the HTML. */
export class FormBrowser {
  constructor({ fetchImpl = fetch, maxRedirects = 20 } = {}) {
    this.jar = new CookieJar();
    this.fetch = fetchImpl;
    this.maxRedirects = maxRedirects;
    this.history = []; // every request: {method, url, status, location}
  }

  /** Loads `url` (GET) and follows redirects. */
  async open(url) {
    return this.#navigate(url, { method: 'GET' });
  }

  /**
   * Submits `form` of `page` with `values` overriding its fields, clicking the submit button
   * matching `button` ({name, value} or undefined for the form's only/first button).
   */
  async submit(page, form, values = {}, button) {
    const params = new URLSearchParams();
    const seen = new Set();
    for (const f of form.fields) {
      const v = f.name in values ? values[f.name] : f.value;
      if (f.required && v === '') throw new Error(`required field ${f.name} of form ${form.id ?? form.action} is empty`);
      params.append(f.name, v);
      seen.add(f.name);
    }
    for (const [k, v] of Object.entries(values)) if (!seen.has(k)) throw new Error(`form ${form.id ?? form.action} has no field ${k}`);
    let clicked = form.buttons[0];
    if (button) {
      clicked = form.buttons.find((b) => b.name === button.name && b.value === button.value);
      if (!clicked) throw new Error(`form ${form.id ?? form.action} has no button ${button.name}=${button.value}`);
    }
    if (clicked?.name) params.append(clicked.name, clicked.value);
    if (form.method === 'GET') {
      const u = new URL(form.action);
      u.search = params.toString();
      return this.#navigate(u.href, { method: 'GET', referrer: page.url });
    }
    return this.#navigate(form.action, {
      method: 'POST',
      body: params.toString(),
      contentType: 'application/x-www-form-urlencoded',
      origin: new URL(page.url).origin,
      referrer: page.url,
    });
  }

  async #navigate(url, { method, body, contentType, origin, referrer }) {
    for (let i = 0; i <= this.maxRedirects; i++) {
      const headers = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'user-agent': 'authbridge-e2e-formbrowser' };
      const cookie = this.jar.header(url);
      if (cookie) headers.cookie = cookie;
      if (contentType) headers['content-type'] = contentType;
      if (origin) headers.origin = origin;
      if (referrer) headers.referer = referrer;
      const res = await this.fetch(url, { method, body, headers, redirect: 'manual' });
      this.jar.store(url, res.headers);
      const location = res.headers.get('location');
      this.history.push({ method, url, status: res.status, location });
      if ([301, 302, 303, 307, 308].includes(res.status) && location) {
        await res.arrayBuffer();
        const next = new URL(location, url).href;
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          contentType = undefined;
        }
        // A cross-origin navigation carries no Origin on GET; a browser keeps the referrer.
        origin = method === 'POST' ? new URL(url).origin : undefined;
        referrer = url;
        url = next;
        continue;
      }
      const html = await res.text();
      return { url, status: res.status, headers: res.headers, html, forms: parseForms(html, url) };
    }
    throw new Error(`more than ${this.maxRedirects} redirects from ${url}`);
  }
}
