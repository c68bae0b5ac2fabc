// The thin leg of bench/ldap-signin.ts: the thinnest service that signs a browser in through an
// LDAP directory. One Fastify route takes the form (user name, password, a CSRF token bound to a
// cookie, checked in constant time), does the same search-then-bind as the bare loop, and records
// a session for the user the directory's attribute names with one statement (the match and the
// insert together, the session token hashed); 303 with the cookie. No throttling, no audit, no
// flows, no configuration read: the floor under any LDAP login page on this machine, served in this
// process over a socket like Carrel's leg, on PostgreSQL (CARREL_TEST_DATABASE_URL, the tests'
// server), in tables of its own that it drops when it closes.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import { Client, Filter } from 'ldapts';
import pg from 'pg';
import type { LdapConfig } from '../src/domain/sign-in/methods/ldap.js';
import type { Person } from '../test/helpers/slapd.js';

const USERS = 'bench_thin_ldap_user';
const SESSIONS = 'bench_thin_ldap_session';

export async function startThinLeg(config: LdapConfig, people: Person[]): Promise<{ attempt: (p: Person) => Promise<boolean>; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: process.env.CARREL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max: 10 });
  await pool.query(`DROP TABLE IF EXISTS ${SESSIONS}, ${USERS}`);
  await pool.query(`CREATE TABLE ${USERS} (id uuid PRIMARY KEY, identifier text NOT NULL UNIQUE)`);
  await pool.query(`CREATE TABLE ${SESSIONS} (token_hash bytea PRIMARY KEY, user_id uuid NOT NULL REFERENCES ${USERS}, created_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`INSERT INTO ${USERS} (id, identifier) SELECT * FROM unnest($1::uuid[], $2::text[])`, [people.map(() => randomUUID()), people.map((p) => p.employeeNumber)]);
  const sessionSql = `INSERT INTO ${SESSIONS} (token_hash, user_id) SELECT $1, id FROM ${USERS} WHERE identifier = $2`;

  const key = randomBytes(32);
  const tokenOf = (secret: string) => createHmac('sha256', key).update(secret).digest('base64url');
  const csrfSecret = randomBytes(18).toString('base64url');
  const server = Fastify({ logger: false });
  server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  /** The directory's attribute for this user name and password, or undefined. */
  async function directory(username: string, password: string): Promise<string | undefined> {
    const c = new Client({ url: config.url, timeout: 10_000, connectTimeout: 10_000 });
    try {
      await c.bind(config.bind_dn!, config.bind_password!);
      const filter = config.filter.replace('{username}', Filter.escape(username));
      const { searchEntries } = await c.search(config.search_base, { scope: 'sub', filter, attributes: [config.attribute!], sizeLimit: 2 });
      if (searchEntries.length !== 1 || !password) return undefined;
      await c.bind(searchEntries[0]!.dn, password);
      const value = searchEntries[0]![config.attribute!];
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  server.post<{ Body: Record<string, string> }>('/login', async (req, reply) => {
    const secret = /(?:^|;\s*)thin_csrf=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const sent = Buffer.from(req.body._csrf ?? '');
    const expected = Buffer.from(secret ? tokenOf(secret) : '');
    if (!secret || sent.length !== expected.length || !timingSafeEqual(sent, expected)) return reply.status(403).send();
    const identifier = await directory(req.body.username ?? '', req.body.password ?? '');
    if (!identifier) return reply.status(401).send();
    const session = randomBytes(32).toString('base64url');
    const r = await pool.query({ name: 'thin-ldap-session', text: sessionSql, values: [createHash('sha256').update(session).digest(), identifier] });
    if (r.rowCount !== 1) return reply.status(401).send();
    reply.header('set-cookie', `thin_session=${session}; Path=/; HttpOnly; Secure; SameSite=Lax`);
    return reply.status(303).header('location', '/account').send();
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const page = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/login`;
  const cookie = `thin_csrf=${csrfSecret}`;
  const token = tokenOf(csrfSecret);
  return {
    // What a browser sends, as in Carrel's leg: the form's fields and its CSRF cookie.
    async attempt(p) {
      const res = await fetch(page, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: p.uid, password: p.password, _csrf: token }),
        redirect: 'manual',
      });
      await res.arrayBuffer();
      return res.status === 303 && res.headers.getSetCookie().some((c) => c.startsWith('thin_session='));
    },
    async close() {
      await server.close();
      await pool.query(`DROP TABLE IF EXISTS ${SESSIONS}, ${USERS}`).catch(() => undefined);
      await pool.end();
    },
  };
}
