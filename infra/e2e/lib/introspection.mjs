// RFC 7662 introspection as a resource server does it: credentials from the operator command
// infra/cmd/introspection-credentials, then POST token with HTTP Basic.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from './stack.mjs';

const run = promisify(execFile);
export const CREDENTIALS_COMMAND = 'infra/cmd/introspection-credentials';

/** The introspection credentials of resource on stack, from the command that issues them (one JSON line). */
export async function introspectionCredentials(stack, resource) {
  const { stdout } = await run('go', ['run', `./${CREDENTIALS_COMMAND}`, '-resource', resource], { cwd: ROOT, env: { ...process.env, ...stack.env } });
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `introspection-credentials printed ${lines.length} lines`);
  const creds = JSON.parse(lines[0]);
  assert.equal(creds.resource, resource);
  assert.ok(creds.client_id && creds.client_secret, lines[0].replace(/"client_secret":"[^"]*"/, '"client_secret":"…"'));
  return creds;
}

/** RFC 7662 §2.1: POST token with the resource server's HTTP Basic credentials; the parsed 200 answer. */
export async function introspect(stack, creds, token) {
  const basic = Buffer.from(`${encodeURIComponent(creds.client_id)}:${encodeURIComponent(creds.client_secret)}`).toString('base64');
  const res = await fetch(`${stack.issuer}/api/ext/auth/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200, `introspection answered ${res.status}`);
  return res.json();
}
