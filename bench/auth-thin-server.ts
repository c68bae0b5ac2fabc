// The baseline for op=auth: the thinnest password check there can be. One Fastify route, one `pg`
// select that reads the hash by identifier, one argon2id verify with the same library and
// parameters Carrel uses (they are in the stored hash). No API key, no throttling, no logging.
//
//   node --import tsx bench/auth-thin-server.ts --database-url URL --institution-id UUID --port 0
// Prints one JSON line {"port": N} when it listens; stops on SIGTERM or SIGINT.
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

const SQL = `SELECT c.hash FROM identity.credential c JOIN app_user u ON u.id = c.user_id
  WHERE u.institution_id = $1 AND lower(u.primary_id) = lower($2)`;

const pool = new pg.Pool({ connectionString: values['database-url'], max: 10 });
const institutionId = values['institution-id'];
const server = Fastify({ logger: false });
server.post<{ Params: { id: string } }>('/users/:id', async (req, reply) => {
  const password = decodeURIComponent(String(req.headers['exl-user-pw'] ?? ''));
  // Prepared once per connection, as Carrel's own login query is.
  const row = (await pool.query<{ hash: string }>({ name: 'hash-by-id', text: SQL, values: [institutionId, req.params.id] })).rows[0];
  const ok = row ? await verify(row.hash, password) : false;
  return reply.status(ok ? 204 : 400).send();
});
await serveReference(server, values.port, () => pool.end());
