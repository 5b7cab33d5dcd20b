// make bench-report: Node's `jose` (jwtVerify) on ES256 access tokens shaped like Authbridge's,
// the Node figure beside the Go authorizer benchmarks (shared/guard). A figure, not an assertion.
//
// One ES256 key pair is generated with jose, its public JWK (with a kid, as Authbridge's JWKS
// publishes it) goes into a local JWKS (createLocalJWKSet: kid lookup, key imported once), and
// JOSE_TOKENS distinct tokens are signed with the header and claims of an Authbridge access token
// (typ at+jwt, kid; iss, aud, sub, client_id, scope, exp, iat, nbf, jti, email, org_id, sid, fam).
// Each operation is one `await jwtVerify(token, jwks, options)` with the checks a resource server
// makes: algorithm, typ, issuer, audience, time claims, required claims. The tokens are cycled,
// so that every verification sees another token. After JOSE_WARMUP verifications, JOSE_RUNS runs
// of JOSE_OPS verifications each are timed; each run prints a line in `go test -bench` format,
// and the median of the runs is printed last as `BENCH jose_jwtverify_ns_op <ns>`.
import { readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';

const count = (name, def) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, not ${process.env[name]}`);
  return v;
};
const nTokens = count('JOSE_TOKENS', 128);
const runs = count('JOSE_RUNS', 7);
const ops = count('JOSE_OPS', 3000);
const warmup = count('JOSE_WARMUP', 3000);

const issuer = 'https://auth.example.com';
const audience = `${issuer}/mcp`;
const scope = 'mcp:tools orgs:read';
const b64url = (n) => randomBytes(n).toString('base64url');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const joseVersion = JSON.parse(readFileSync(new URL('../node_modules/jose/package.json', import.meta.url), 'utf8')).version;
  const kid = randomUUID(); // a KMS key id
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const jwks = createLocalJWKSet({ keys: [jwk] });

  const now = Math.floor(Date.now() / 1000);
  const tokens = [];
  for (let i = 0; i < nTokens; i++) {
    tokens.push(
      await new SignJWT({
        client_id: b64url(16),
        scope,
        email: `person${i}@example.com`,
        org_id: `org_${b64url(12)}`,
        sid: `session_${b64url(12)}`,
        fam: b64url(16),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(`user_${b64url(12)}`)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 3600)
        .setJti(b64url(16))
        .sign(privateKey),
    );
  }
  const options = {
    algorithms: ['ES256'],
    typ: 'at+jwt',
    issuer,
    audience,
    clockTolerance: 30,
    requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
  };
  let i = 0;
  const verify = async () => {
    const { payload } = await jwtVerify(tokens[i % nTokens], jwks, options);
    if (payload.scope !== scope) throw new Error('unexpected payload');
    i++;
  };

  console.log(`# jose ${joseVersion} jwtVerify, Node ${process.version}: ${nTokens} distinct ES256 tokens, ${warmup} warm-up verifications, ${runs} runs of ${ops}`);
  for (let k = 0; k < warmup; k++) await verify();
  const perOp = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < ops; k++) await verify();
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    perOp.push(ns);
    console.log(`BenchmarkNodeJoseJwtVerify\t${ops}\t${ns.toFixed(0)} ns/op`);
  }
  console.log(`BENCH jose_jwtverify_ns_op ${median(perOp).toFixed(0)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
