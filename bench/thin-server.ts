// The baseline: the thinnest lookup service there can be. One Fastify route, one primary-key
// select on app_user, the row back as JSON. No auth, no validation, no mapping, no logging.
// Same pool size as Carrel (10) on PostgreSQL; on PGlite the one in-process connection.
//
//   node --import tsx bench/thin-server.ts --engine postgres --database-url URL --port 0
// Prints one JSON line {"port": N} when it listens; stops on SIGTERM or SIGINT.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { serveReference } from './reference-server.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'postgres' },
    'database-url': { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});

const SQL = 'SELECT * FROM app_user WHERE id = $1';

async function openLookup(): Promise<{ find: (id: string) => Promise<unknown>; close: () => Promise<void> }> {
  if (values.engine === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const lite = await PGlite.create(join(values['data-dir']!, 'pg'), { extensions: { pg_trgm } });
    return { find: async (id) => (await lite.query(SQL, [id])).rows[0], close: () => lite.close() };
  }
  const pool = new pg.Pool({ connectionString: values['database-url'], max: 10 });
  return { find: async (id) => (await pool.query(SQL, [id])).rows[0], close: () => pool.end() };
}

const lookup = await openLookup();
const server = Fastify({ logger: false });
server.get<{ Params: { id: string } }>('/users/:id', async (req, reply) => {
  const row = await lookup.find(req.params.id);
  if (!row) return reply.status(404).send({ error: 'not found' });
  return row;
});
await serveReference(server, values.port, () => lookup.close());
