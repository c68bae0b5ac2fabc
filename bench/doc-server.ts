// The reference of issue 8: the physical limit of a user lookup here. One Fastify route that
// returns the user document stored ready-made, found by one indexed select on the barcode. No
// auth, no mapping, no logging; the same pool size as Carrel (10). The documents are Carrel's own
// answers (bench/docs.ts fills bench.user_doc from GET /almaws/v1/users/{barcode}), so both
// servers send the same bytes.
//
//   node --import tsx bench/doc-server.ts --database-url URL --port 0
// Answers GET /almaws/v1/users/{barcode} in Alma XML when asked (Accept or ?format=xml), else
// JSON. Prints one JSON line {"port": N} when it listens; stops on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { serveReference } from './reference-server.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});

const pool = new pg.Pool({ connectionString: values['database-url'], max: 10 });
// Named statements: prepared once per connection, as Carrel's hot lookups are.
const JSON_SQL = { name: 'doc_json', text: 'SELECT json AS doc FROM bench.user_doc WHERE barcode = $1' };
const XML_SQL = { name: 'doc_xml', text: 'SELECT xml AS doc FROM bench.user_doc WHERE barcode = $1' };

const server = Fastify({ logger: false });
server.get<{ Params: { id: string }; Querystring: { format?: string } }>('/almaws/v1/users/:id', async (req, reply) => {
  // Carrel's precedence (src/http/alma/format.ts): ?format=, then Accept; JSON by default.
  const accept = req.headers.accept ?? '';
  const xml = req.query.format ? req.query.format === 'xml' : !/json/i.test(accept) && /xml/i.test(accept);
  const { rows } = await pool.query<{ doc: string }>({ ...(xml ? XML_SQL : JSON_SQL), values: [req.params.id] });
  if (!rows[0]) return reply.status(404).send({ error: 'not found' });
  return reply.type(xml ? 'application/xml; charset=utf-8' : 'application/json; charset=utf-8').send(rows[0].doc);
});
await serveReference(server, values.port, () => pool.end());
