// make bench-e2e: a figure, not an assertion. Against a running stack (BENCH_STACK, default
// `bench`), times
//   - a full flow: a new MCP client (the TypeScript SDK) from its first request (401 →
//     discovery → registration → consent and sign-in in the form browser → callback → code
//     exchange → initialize) to the first tool result (whoami), BENCH_RUNS times, each with
//     a new client registration and a new browser;
//   - a warm tool call: tools/call whoami on a connected client, through the gateway, the
//     authorizer (invoked per request, verified tokens cached in process) and the
//     MCP function (which calls WorkOS GetUser: the local emulator), BENCH_WARM times.
// Prints medians. Run 1 of the full flow meets cold functions on a fresh stack.
// The figures are also printed as machine-readable lines, `BENCH <name> <number>` (read by
// `make bench-report`, infra/cmd/bench-report): flow_cold_ms (run 1), flow_warm_ms (median of
// runs 2..BENCH_RUNS), flow_phase_<phase>_ms (medians of runs 2..), tool_call_warm_ms (whoami,
// median of BENCH_WARM calls) and the other warm calls, each with its p90.
import { readStack } from '../lib/stack.mjs';
import { createSession, signInAndConnect } from '../lib/session.mjs';
import { formUserAgent } from '../lib/signin.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 7);
const warmCalls = Number(process.env.BENCH_WARM ?? 30);
const stack = readStack(process.env.BENCH_STACK ?? 'bench');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const ms = (x) => `${x.toFixed(1).padStart(7)} ms`;
const machine = [];
const bench = (name, x) => machine.push(`BENCH ${name} ${x.toFixed(1)}`);
const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

async function fullFlow() {
  const ua = formUserAgent({ email: 'ada@example.com' });
  const s = await createSession(stack, { visit: ua.visit, clientName: 'Authbridge bench' });
  const marks = {};
  const t0 = performance.now();
  await signInAndConnect(s, marks);
  const r = await s.client.callTool({ name: 'whoami', arguments: {} });
  const t1 = performance.now();
  if (r.isError || r.structuredContent?.email !== 'ada@example.com') throw new Error(`unexpected whoami result: ${JSON.stringify(r)}`);
  return {
    session: s,
    total: t1 - t0,
    phases: {
      'discovery + registration': marks.redirect - t0,
      'browser: consent, sign-in, callback': marks.callback - marks.redirect,
      'code exchange': marks.tokens - marks.callback,
      'initialize (new token)': marks.connected - marks.tokens,
      'first tools/call': t1 - marks.connected,
    },
  };
}

async function main() {
  console.log(`bench-e2e against ${stack.mcpUrl} (MCP TypeScript SDK 1.32.2 client, Node ${process.versions.node})`);
  const results = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const r = await fullFlow();
    results.push(r);
    if (last) await last.close();
    last = r.session;
    console.log(`  full flow run ${String(i + 1).padStart(2)}: ${ms(r.total)}${i === 0 ? '  (cold functions)' : ''}`);
  }
  const warm = results.length > 1 ? results.slice(1) : results;
  console.log(`\nFull flow, discovery → first tool result: median ${ms(median(warm.map((r) => r.total)))} over runs 2..${runs} (run 1, cold: ${ms(results[0].total)}; median of all ${runs}: ${ms(median(results.map((r) => r.total)))})`);
  bench('flow_cold_ms', results[0].total);
  if (results.length > 1) bench('flow_warm_ms', median(warm.map((r) => r.total)));
  bench('flow_warm_runs', results.length - 1);
  for (const phase of Object.keys(results[0].phases)) {
    const m = median(warm.map((r) => r.phases[phase]));
    console.log(`    ${phase.padEnd(38)} ${ms(m)}`);
    bench(`flow_phase_${slug(phase)}_ms`, m);
  }

  const client = last.client;
  for (let i = 0; i < 3; i++) await client.callTool({ name: 'whoami', arguments: {} });
  const times = { whoami: [], list_organizations: [], 'tools/list': [] };
  for (let i = 0; i < warmCalls; i++) {
    let t = performance.now();
    await client.callTool({ name: 'whoami', arguments: {} });
    times.whoami.push(performance.now() - t);
    t = performance.now();
    await client.callTool({ name: 'list_organizations', arguments: {} });
    times.list_organizations.push(performance.now() - t);
    t = performance.now();
    await client.listTools();
    times['tools/list'].push(performance.now() - t);
  }
  console.log(`\nWarm call through gateway, authorizer and function (${warmCalls} calls each, after 3 warm-up calls):`);
  const names = { whoami: 'tool_call', list_organizations: 'list_organizations', 'tools/list': 'tools_list' };
  for (const [name, xs] of Object.entries(times)) {
    console.log(`    ${name.padEnd(38)} median ${ms(median(xs))}   p90 ${ms(pct(xs, 90))}`);
    bench(`${names[name]}_warm_ms`, median(xs));
    bench(`${names[name]}_warm_p90_ms`, pct(xs, 90));
  }
  await last.close();
  console.log(`\n${machine.join('\n')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
