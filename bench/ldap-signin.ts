// LDAP sign-in through Carrel against a bare ldapts search-then-bind loop on the same slapd
// (issue 9: Carrel at least 0.8 of the bare rate). The bench starts its own slapd
// (test/helpers/slapd.ts) with N people, then runs the two legs in alternating rounds, each a
// closed loop of C concurrent sign-ins for D seconds, and prints the median ratio.
//
//   npm run bench:ldap -- --people 200 --duration 10 --rounds 3 --concurrency 8 [--via page|module]
//
// --via page (default): Carrel's method login page, POST /auth/{inst}/login/{code} with the form's
// CSRF token, as a browser does (the sign-in service, the user match, the session and its cookie),
// served by Carrel in this process over a socket, on a fresh database (--engine postgres, the
// default, at CARREL_TEST_DATABASE_URL as in the tests; or --engine pglite). The load generator
// shares the process with it, as it does with the bare loop.
// --via module: the LDAP module alone (src/domain/sign-in/methods/ldap.ts), no HTTP or database.
// Both legs open one connection per sign-in (Carrel does, so no state outlives an attempt).
// With --via page on PostgreSQL a third leg runs, bench/ldap-thin-leg.ts: the thinnest LDAP login
// page (form and CSRF, the same search-then-bind, one statement that matches the user and records
// the session), the floor any such page meets here, so the table shows how far HTTP and a session
// alone sit below the bare loop, and how close Carrel comes to that floor.
// Results print as a table and are saved as JSON under bench/results/ (not committed).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Filter } from 'ldapts';
import { verifyLdap, type LdapConfig } from '../src/domain/sign-in/methods/ldap.js';
import { PEOPLE, SERVICE_DN, SERVICE_PASSWORD, startSlapd, type Person, type Slapd } from '../test/helpers/slapd.js';
import { methodContext } from '../test/helpers/method-context.js';
import { machineInfo } from './report.js';
import { startCarrelLeg } from './ldap-signin-page.js';
import { startThinLeg } from './ldap-thin-leg.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    via: { type: 'string', default: 'page' },
    engine: { type: 'string', default: 'postgres' },
  },
});
const opts = {
  people: Number(values.people),
  seconds: Number(values.duration),
  rounds: Number(values.rounds),
  concurrency: Number(values.concurrency),
  via: values.via === 'module' ? ('module' as const) : ('page' as const),
  engine: values.engine === 'pglite' ? ('pglite' as const) : ('postgres' as const),
};
const log = (s: string) => console.log(s);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

const FILTER = '(&(objectClass=inetOrgPerson)(uid={username}))';
const people: Person[] = Array.from({ length: opts.people }, (_, i) => {
  const n = String(i + 1).padStart(5, '0');
  return { uid: `p${n}`, password: `pw-${n}-bench`, givenName: 'Bench', sn: `Person ${n}`, mail: `p${n}@lib.test`, employeeNumber: `E${n}` };
});

/** One sign-in attempt; true when it proved the person. */
export type Attempt = (p: Person) => Promise<boolean>;

interface Leg {
  rps: number;
  ok: number;
  failed: number;
}

/** C workers, each signing in random people back to back for the duration. */
async function closedLoop(attempt: Attempt): Promise<Leg> {
  const until = performance.now() + opts.seconds * 1000;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (performance.now() < until) {
        const p = people[Math.floor(Math.random() * people.length)]!;
        if (await attempt(p).catch(() => false)) ok++;
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { rps: ok / seconds, ok, failed };
}

/** The bare loop: what any LDAP client does, nothing more. */
function bareAttempt(slapd: Slapd): Attempt {
  return async (p) => {
    const c = new Client({ url: slapd.url, timeout: 10_000, connectTimeout: 10_000 });
    try {
      await c.bind(SERVICE_DN, SERVICE_PASSWORD);
      const { searchEntries } = await c.search(PEOPLE, { scope: 'sub', filter: FILTER.replace('{username}', Filter.escape(p.uid)), attributes: ['employeeNumber'], sizeLimit: 2 });
      if (searchEntries.length !== 1) return false;
      await c.bind(searchEntries[0]!.dn, p.password);
      return true;
    } finally {
      await c.unbind().catch(() => undefined);
    }
  };
}

async function main(): Promise<void> {
  log(`starting slapd with ${opts.people} people`);
  const slapd = await startSlapd(people);
  const config: LdapConfig = {
    url: slapd.url,
    bind_dn: SERVICE_DN,
    bind_password: SERVICE_PASSWORD,
    search_base: PEOPLE,
    filter: FILTER,
    attribute: 'employeeNumber',
    timeout_ms: 10_000,
    connect_timeout_ms: 10_000,
  };
  let carrel: { attempt: Attempt; close(): Promise<void> };
  if (opts.via === 'module') {
    const ctx = methodContext('ldap', config);
    carrel = { attempt: async (p) => !('refused' in (await verifyLdap(ctx, p.uid, p.password))), close: async () => undefined };
  } else {
    log(`starting Carrel (${opts.engine}) with ${opts.people} users and the LDAP method`);
    carrel = await startCarrelLeg({ engine: opts.engine, config, people });
  }
  const bare = bareAttempt(slapd);
  const thin = opts.via === 'page' && opts.engine === 'postgres' ? await startThinLeg(config, people) : undefined;
  type LegName = 'bare' | 'thin' | 'carrel';
  const attempts: Partial<Record<LegName, Attempt>> = { bare, carrel: carrel.attempt, ...(thin ? { thin: thin.attempt } : {}) };
  try {
    // Every person once through each leg: the answers are right before anything is timed.
    for (const p of people.slice(0, 5)) {
      for (const [name, attempt] of Object.entries(attempts)) if (!(await attempt(p))) throw new Error(`${name} refused ${p.uid}`);
    }
    const legs = Object.keys(attempts) as LegName[];
    const rounds: Partial<Record<LegName, Leg>>[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      // Who goes first rotates, so a neighbour's burst does not always land on the same leg.
      const order = legs.map((_, i) => legs[(i + r - 1) % legs.length]!);
      const round: Partial<Record<LegName, Leg>> = {};
      for (const leg of order) round[leg] = await closedLoop(attempts[leg]!);
      rounds.push(round);
      log(
        `round ${r}: ` +
          legs.map((l) => `${l} ${round[l]!.rps.toFixed(0)}/s`).join(', ') +
          ` (Carrel/bare ${(round.carrel!.rps / round.bare!.rps).toFixed(2)}` +
          (round.thin ? `, thin/bare ${(round.thin.rps / round.bare!.rps).toFixed(2)}, Carrel/thin ${(round.carrel!.rps / round.thin.rps).toFixed(2)}` : '') +
          `); failed ${legs.map((l) => round[l]!.failed).join('/')}`,
      );
    }
    const ratio = median(rounds.map((r) => r.carrel!.rps / r.bare!.rps));
    const thinRatio = thin ? median(rounds.map((r) => r.thin!.rps / r.bare!.rps)) : undefined;
    const carrelOfThin = thin ? median(rounds.map((r) => r.carrel!.rps / r.thin!.rps)) : undefined;
    const rps = (l: LegName) => median(rounds.map((r) => r[l]!.rps));
    const result = { bench: 'ldap-signin', opts, machine: machineInfo(), rounds, ratio, thinRatio, carrelOfThin, bareRps: rps('bare'), carrelRps: rps('carrel'), thinRps: thin ? rps('thin') : undefined };
    console.table({
      'bare ldapts search-then-bind': { 'sign-ins/s (median)': result.bareRps.toFixed(0) },
      ...(thin ? { 'thinnest LDAP login page (form, CSRF, search-then-bind, one session statement)': { 'sign-ins/s (median)': result.thinRps!.toFixed(0) } } : {}),
      [`Carrel (${opts.via})`]: { 'sign-ins/s (median)': result.carrelRps.toFixed(0) },
    });
    if (thin) log(`thin / bare: ${thinRatio!.toFixed(2)} (the floor of any LDAP login page here); Carrel / thin: ${carrelOfThin!.toFixed(2)}`);
    log(`Carrel / bare: ${ratio.toFixed(2)} (issue 9 asks at least 0.80)`);
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `ldap-signin-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    log(`saved ${file}`);
  } finally {
    await thin?.close();
    await carrel.close();
    await slapd.stop();
  }
}

await main();
