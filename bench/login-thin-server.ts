// The baseline for the login page: the thinnest service that does a browser's whole password
// sign-in. GET /login answers a form with a CSRF token bound to a cookie (an HMAC of the cookie's
// random value, as Carrel's page does); POST /login checks the token in constant time, reads the
// hash with one select, verifies it with the same library and parameters Carrel uses (they are in
// the stored hash), records a session with one insert (its token hashed, as any serious service
// stores it) and answers 303 with the session cookie. No throttling, no audit, no logging, no
// templates: the floor under what any login page can reach on this machine.
//
//   node --import tsx bench/login-thin-server.ts --database-url URL --institution-id UUID --port 0
// Prints one JSON line {"port": N} when it listens; stops on SIGTERM or SIGINT.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import { verify } from '@node-rs/argon2';
import Fastify from 'fastify';
import pg from 'pg';
import { serveReference } from './reference-server.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'institution-id': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});

const HASH_SQL = `SELECT u.id, c.hash FROM identity.credential c JOIN app_user u ON u.id = c.user_id
  WHERE u.institution_id = $1 AND lower(u.primary_id) = lower($2)`;
const SESSION_SQL = 'INSERT INTO bench_thin_session (token_hash, user_id) VALUES ($1, $2)';

const pool = new pg.Pool({ connectionString: values['database-url'], max: 10 });
await pool.query('CREATE TABLE IF NOT EXISTS bench_thin_session (token_hash bytea PRIMARY KEY, user_id uuid NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
const institutionId = values['institution-id'];
const key = randomBytes(32);
const tokenOf = (secret: string) => createHmac('sha256', key).update(secret).digest('base64url');
const cookieValue = (header: string | undefined, name: string) =>
  header
    ?.split(/;\s*/)
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1);

const server = Fastify({ logger: false });
server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
  done(null, Object.fromEntries(new URLSearchParams(body as string)));
});

server.get('/login', async (_req, reply) => {
  const secret = randomBytes(18).toString('base64url');
  reply.header('set-cookie', `thin_csrf=${secret}; Path=/login; HttpOnly; SameSite=Lax`);
  reply.type('text/html; charset=utf-8');
  return `<!doctype html><form method="post"><input type="hidden" name="_csrf" value="${tokenOf(secret)}"><input name="identifier"><input type="password" name="password"><button>Sign in</button></form>`;
});

server.post<{ Body: Record<string, string> }>('/login', async (req, reply) => {
  const secret = cookieValue(req.headers.cookie, 'thin_csrf');
  const sent = Buffer.from(req.body._csrf ?? '');
  const expected = Buffer.from(secret ? tokenOf(secret) : '');
  if (!secret || sent.length !== expected.length || !timingSafeEqual(sent, expected)) return reply.status(403).send();
  // Prepared once per connection, as Carrel's own queries are.
  const row = (await pool.query<{ id: string; hash: string }>({ name: 'hash', text: HASH_SQL, values: [institutionId, req.body.identifier ?? ''] })).rows[0];
  if (!row || !(await verify(row.hash, req.body.password ?? ''))) return reply.status(401).send();
  const session = randomBytes(32).toString('base64url');
  await pool.query({ name: 'session', text: SESSION_SQL, values: [createHash('sha256').update(session).digest(), row.id] });
  reply.header('set-cookie', `thin_session=${session}; Path=/; HttpOnly; Secure; SameSite=Lax`);
  return reply.status(303).header('location', '/account').send();
});

await serveReference(server, values.port, () => pool.end());
