// The client's loopback redirect target (RFC 8252 §7.3): a one-path HTTP server on
// 127.0.0.1 and an ephemeral port, the way a native MCP client receives the code.
import http from 'node:http';

export async function startLoopback() {
  const waiting = [];
  const received = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const params = Object.fromEntries(url.searchParams);
    const ok = Boolean(params.code);
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>authbridge-e2e</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto">
<h1 id="result">${ok ? 'Signed in' : 'Sign-in failed'}</h1><p>The test client received the ${ok ? 'authorization code' : 'error'}. You can close this window.</p></body></html>`);
    const w = waiting.shift();
    if (w) w(params);
    else received.push(params);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    redirectUrl: `http://127.0.0.1:${port}/callback`,
    /** The query of the next request to /callback ({code, state, iss} or {error, ...}). */
    next(timeoutMs = 30000) {
      if (received.length) return Promise.resolve(received.shift());
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no redirect reached the loopback callback')), timeoutMs);
        waiting.push((p) => {
          clearTimeout(t);
          resolve(p);
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
