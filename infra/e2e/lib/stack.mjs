// Which running stacks the tests target: E2E_STACKS names folders of .run/ written by
// `infra/local/stack.sh up NAME PORT [STAGE]` (default: the two stacks `make e2e` starts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

export function readStack(name) {
  const file = path.join(ROOT, '.run', name, 'stack.env');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`stack ${name} is not running (no ${file}); start it with infra/local/stack.sh up ${name} PORT [STAGE], or run make e2e`);
  }
  const env = Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return { name, issuer: env.ISSUER, mcpUrl: env.MCP_URL, workosUrl: env.WORKOS_URL, stage: new URL(env.ISSUER).pathname.replace(/^\//, ''), env };
}

export function stacks() {
  return (process.env.E2E_STACKS ?? 'e2e,e2e-prod').split(',').map((s) => s.trim()).filter(Boolean).map(readStack);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
