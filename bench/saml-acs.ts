// Server CPU per SAML ACS POST (issue 9's target: under 20 ms). Carrel's whole HTTP stack runs in
// this process (Fastify inject: routing, form parsing, the flow taken by RelayState, the XML
// signature check, the assertion's checks, the single-use claim, the user match, the session,
// the audit events); responses are signed by a test IdP with a real 2048-bit RSA key before the
// clock starts. CPU is this process's (process.cpuUsage), so on PostgreSQL the database's own
// work is not in it; on PGlite (--engine pglite) the embedded database's is.
//
//   npm run bench:saml -- --requests 300 [--engine postgres|pglite] [--sign assertion|response|both]
import { parseArgs } from 'node:util';
import { createTestContext } from '../test/helpers/app.js';
import { client } from '../test/helpers/alma.js';
import { CHEAP_ARGON2 } from '../test/helpers/identity.js';
import { EPPN, readAuthnRequest, SCOPED_AFFILIATION, TestIdp } from '../test/helpers/saml-idp.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '50' },
    users: { type: 'string', default: '50' },
    engine: { type: 'string', default: 'postgres' },
    sign: { type: 'string', default: 'assertion' },
  },
});
const N = Number(values.requests);
const WARMUP = Number(values.warmup);
const USERS = Number(values.users);
const sign = values.sign as 'assertion' | 'response' | 'both';
process.env.CARREL_TEST_DB = values.engine;
const TARGET_MS = 20;

const ctx = await createTestContext({ config: CHEAP_ARGON2 });
try {
  const inst = await ctx.institution();
  const api = client(ctx.server, inst.key);
  for (let i = 0; i < USERS; i++) {
    const res = await api.post('/users', {
      record_type: { value: 'PUBLIC' }, primary_id: `u${i}`, first_name: 'Bench', last_name: `User ${i}`, account_type: { value: 'EXTERNAL' },
      external_id: 'SIS', status: { value: 'ACTIVE' }, user_group: { value: 'UNDERGRAD' },
      user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: `u${i}@example.edu`, segment_type: 'External' }],
    });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  const idp = new TestIdp();
  await ctx.app.services.loginMethods.create({ kind: 'system', label: 'bench' }, inst.id, {
    code: 'campus', type: 'saml', match: 'UNIV_ID', config: { idp_metadata: idp.metadata(), affiliation_groups: { staff: 'STAFF' } },
  });
  const base = `/auth/${inst.code}`;
  const acs = `http://carrel.test${base}/saml/campus/acs`;
  const audience = `http://carrel.test${base}/saml/campus/metadata`;

  /** Started flows and the IdP's signed answers, prepared before any measuring. */
  async function prepare(count: number, offset: number) {
    const out: Array<{ relayState: string; samlResponse: string }> = [];
    for (let i = 0; i < count; i++) {
      const start = await ctx.server.inject({ method: 'GET', url: `${base}/login/campus`, headers: { host: 'carrel.test' } });
      const req = readAuthnRequest(start.headers.location as string);
      const user = `u${(offset + i) % USERS}@example.edu`;
      const samlResponse = idp.response({ inResponseTo: req.id, acs, audience, sign, attributes: { [EPPN]: [user], [SCOPED_AFFILIATION]: ['member@example.edu', 'staff@example.edu'] } });
      out.push({ relayState: req.relayState!, samlResponse });
    }
    return out;
  }
  async function post(batch: Array<{ relayState: string; samlResponse: string }>) {
    for (const r of batch) {
      const res = await ctx.server.inject({
        method: 'POST', url: `${base}/saml/campus/acs`, headers: { host: 'carrel.test', 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ SAMLResponse: r.samlResponse, RelayState: r.relayState }).toString(),
      });
      if (res.statusCode !== 303 || res.headers.location !== `${base}/account`) throw new Error(`ACS answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    }
  }

  await post(await prepare(WARMUP, 0));
  const batch = await prepare(N, WARMUP);
  const bytes = batch.reduce((s, r) => s + r.samlResponse.length, 0) / N;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await post(batch);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / N;
  const rows = [
    ['engine', values.engine!],
    ['signed', sign],
    ['ACS POSTs measured', String(N)],
    ['SAMLResponse size (base64)', `${Math.round(bytes)} bytes`],
    ['server CPU per ACS POST', `${cpuMs.toFixed(2)} ms`],
    ['wall time per ACS POST (sequential)', `${(wallMs / N).toFixed(2)} ms`],
    ['target', `< ${TARGET_MS} ms CPU`],
    ['verdict', cpuMs < TARGET_MS ? 'PASS' : 'FAIL'],
  ];
  for (const [k, v] of rows) console.log(`${k!.padEnd(38)} ${v}`);
  if (cpuMs >= TARGET_MS) process.exitCode = 1;
} finally {
  await ctx.close();
}
