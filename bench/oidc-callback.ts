// Server CPU per OIDC callback (issue 9: under 20 ms). Carrel runs in this process on a fresh
// database (CARREL_TEST_DB: postgres by default, so the database's CPU is another process's;
// pglite counts it here), the OpenID Provider in a child process (bench/oidc-op.ts). Each round
// prepares flows (start at Carrel, walk the OP to the callback URL), then measures
// process.cpuUsage() around Carrel's handling of those callbacks only: the flow, state, the code
// exchanged at the OP, the ID token verified (signature, issuer, audience, nonce), the match, the
// session and the audit event.
//   npm run bench:oidc -- [--callbacks 300] [--round 100]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createTestContext } from '../test/helpers/app.js';
import { client } from '../test/helpers/alma.js';
import { CHEAP_ARGON2 } from '../test/helpers/identity.js';
import { walkToCallback } from '../test/helpers/oidc-provider.js';
import { browser } from '../test/helpers/sign-in.js';

process.env.CARREL_TEST_DB ??= 'postgres';
const { values } = parseArgs({ options: { callbacks: { type: 'string', default: '300' }, round: { type: 'string', default: '100' } } });
const total = Number(values.callbacks);
const round = Number(values.round);
const TARGET_MS = 20;

const ctx = await createTestContext({ config: CHEAP_ARGON2 });
const child = { kill: () => {} } as { kill(): void };
try {
  const inst = await ctx.institution();
  const created = await client(ctx.server, inst.key).post('/users', {
    record_type: { value: 'PUBLIC' }, primary_id: 'bench', first_name: 'Bench', last_name: 'Mark', account_type: { value: 'EXTERNAL' },
    external_id: 'SIS', status: { value: 'ACTIVE' }, user_group: { value: 'UNDERGRAD' },
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: 'U-BENCH', segment_type: 'External' }],
  });
  if (created.statusCode !== 200) throw new Error(created.body);
  const callbackUrl = `http://carrel.test/auth/${inst.code}/login/campus/callback`;
  const secret = randomBytes(16).toString('hex');
  const opProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/oidc-op.ts', JSON.stringify({ client_id: 'bench', client_secret: secret, redirect_uri: callbackUrl, account: 'U-BENCH' })], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.kill = () => opProcess.kill('SIGTERM');
  const [line] = (await once(createInterface({ input: opProcess.stdout! }), 'line')) as [string];
  const { issuer } = JSON.parse(line) as { issuer: string };
  await ctx.app.services.loginMethods.create({ kind: 'system', label: 'bench' }, inst.id, {
    code: 'campus', type: 'oidc', match: 'UNIV_ID', config: { issuer, client_id: 'bench', client_secret: secret },
  });

  /** Flows up to the callback: a browser each, and the URL the OP sent it back to. */
  async function prepare(n: number) {
    const out: { b: ReturnType<typeof browser>; path: string }[] = [];
    for (let i = 0; i < n; i++) {
      const b = browser(ctx.server);
      const start = await b.get(`/auth/${inst.code}/login/campus`);
      if (start.statusCode !== 303) throw new Error(`start: ${start.statusCode} ${start.body.slice(0, 200)}`);
      const back = await walkToCallback(start.headers.location as string, callbackUrl);
      out.push({ b, path: `${back.pathname}${back.search}` });
    }
    return out;
  }

  async function measure(flows: Awaited<ReturnType<typeof prepare>>) {
    const cpu = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const f of flows) {
      const res = await f.b.get(f.path);
      if (res.statusCode !== 303 || !String(res.headers.location).endsWith('/account')) throw new Error(`callback: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    const used = process.cpuUsage(cpu);
    return { cpuMs: (used.user + used.system) / 1000, wallMs: Number(process.hrtime.bigint() - t0) / 1e6, n: flows.length };
  }

  await measure(await prepare(20)); // warm-up: discovery, JWKS, JIT compilation
  const rounds: { cpuMs: number; wallMs: number; n: number }[] = [];
  for (let done = 0; done < total; done += round) rounds.push(await measure(await prepare(Math.min(round, total - done))));
  const perRound = rounds.map((r) => r.cpuMs / r.n).sort((a, b) => a - b);
  const n = rounds.reduce((s, r) => s + r.n, 0);
  const cpuPer = rounds.reduce((s, r) => s + r.cpuMs, 0) / n;
  const wallPer = rounds.reduce((s, r) => s + r.wallMs, 0) / n;
  console.log(`OIDC callback, ${n} callbacks on ${process.env.CARREL_TEST_DB} (${rounds.length} rounds)`);
  console.log(`  server CPU per callback: ${cpuPer.toFixed(2)} ms (rounds: ${perRound.map((x) => x.toFixed(2)).join(', ')}); wall ${wallPer.toFixed(2)} ms`);
  console.log(`  target < ${TARGET_MS} ms: ${cpuPer < TARGET_MS ? 'met' : 'NOT met'}`);
} finally {
  child.kill();
  await ctx.close();
}
