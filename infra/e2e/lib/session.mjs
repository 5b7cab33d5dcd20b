// One MCP client application session: the SDK's Client and StreamableHTTPClientTransport
// with an in-memory OAuthClientProvider, a loopback redirect URI, and a user agent (`visit`)
// that the provider sends to the authorization URL.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { MemoryOAuthProvider, recordingFetch } from './provider.mjs';
import { startLoopback } from './loopback.mjs';

export { UnauthorizedError };

export async function createSession(stack, { visit, clientName, clientMetadataUrl } = {}) {
  const loop = await startLoopback();
  const log = [];
  const fetchFn = recordingFetch(log);
  const session = { stack, loop, log, fetchFn, visit, visits: [], client: undefined };
  session.provider = new MemoryOAuthProvider({
    redirectUrl: loop.redirectUrl,
    clientName,
    clientMetadataUrl,
    onRedirect: async (url) => {
      if (session.visit) session.visits.push(await session.visit(url));
    },
  });
  session.newTransport = () => new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: session.provider, fetch: fetchFn });
  /** Connects a new Client over a new transport; returns {client, transport}. */
  session.connect = async () => {
    const client = new Client({ name: 'authbridge-e2e', version: '1.0.0' });
    const transport = session.newTransport();
    session.lastTransport = transport; // finishAuth is called on the transport that was refused
    try {
      await client.connect(transport);
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
    await session.client?.close().catch(() => {});
    session.client = client;
    session.transport = transport;
    return { client, transport };
  };
  session.close = async () => {
    await session.client?.close().catch(() => {});
    await loop.close();
  };
  return session;
}

/**
 * What an MCP client application does on first use: connect; the server answers 401, the SDK
 * discovers, registers and sends the person to the authorization URL (UnauthorizedError);
 * the loopback receives the code; finishAuth exchanges it; connect again. `marks` receives
 * timestamps of each phase. Returns the callback parameters.
 */
export async function signInAndConnect(session, marks = {}) {
  const first = new Client({ name: 'authbridge-e2e', version: '1.0.0' });
  const transport = session.newTransport();
  const onRedirect = session.provider.onRedirect;
  session.provider.onRedirect = async (url) => {
    marks.redirect = performance.now();
    await onRedirect(url);
  };
  try {
    await first.connect(transport);
    throw new Error('connected without signing in');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  } finally {
    session.provider.onRedirect = onRedirect;
    await first.close().catch(() => {});
  }
  const callback = await session.loop.next();
  marks.callback = performance.now();
  if (!callback.code) throw new Error(`authorization failed: ${JSON.stringify(callback)}`);
  await transport.finishAuth(callback.code);
  marks.tokens = performance.now();
  await session.connect();
  marks.connected = performance.now();
  return callback;
}

export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}
