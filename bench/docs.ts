// The side table the reference server (bench/doc-server.ts) reads: barcode -> the user document,
// ready-made in Alma JSON and in Alma XML. Filled from Carrel's own answers to
// GET /almaws/v1/users/{barcode}, so the reference sends exactly the bytes Carrel sends; rebuilt
// every run, so a change in Carrel's output never leaves a stale reference behind.
import pg from 'pg';
import { get } from './load.js';

export const JSON_ACCEPT = 'application/json';
export const XML_ACCEPT = 'application/xml';

/** Fills bench.user_doc with the documents Carrel answers for these barcodes; returns their mean sizes. */
export async function fillDocs(
  databaseUrl: string,
  carrelBaseUrl: string,
  apiKey: string,
  barcodes: string[],
): Promise<{ docs: number; jsonBytes: number; xmlBytes: number }> {
  const unique = [...new Set(barcodes)];
  const fetchDoc = async (barcode: string, accept: string) => {
    const a = await get(`${carrelBaseUrl}/almaws/v1/users/${barcode}`, { authorization: `apikey ${apiKey}`, accept });
    if (a.status !== 200) throw new Error(`GET user ${barcode} (${accept}) answered ${a.status}: ${a.body.slice(0, 300)}`);
    return a.body;
  };
  const rows: { barcode: string; json: string; xml: string }[] = [];
  for (const barcode of unique) rows.push({ barcode, json: await fetchDoc(barcode, JSON_ACCEPT), xml: await fetchDoc(barcode, XML_ACCEPT) });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('CREATE SCHEMA IF NOT EXISTS bench');
    await client.query('DROP TABLE IF EXISTS bench.user_doc');
    // The barcode is the primary key: one btree lookup, the document beside it.
    await client.query('CREATE TABLE bench.user_doc (barcode text PRIMARY KEY, json text NOT NULL, xml text NOT NULL)');
    for (let i = 0; i < rows.length; i += 1000) {
      const part = rows.slice(i, i + 1000);
      await client.query('INSERT INTO bench.user_doc SELECT * FROM unnest($1::text[], $2::text[], $3::text[])', [
        part.map((r) => r.barcode), part.map((r) => r.json), part.map((r) => r.xml),
      ]);
    }
    await client.query('VACUUM ANALYZE bench.user_doc');
  } finally {
    await client.end();
  }
  const mean = (f: (r: (typeof rows)[number]) => string) => Math.round(rows.reduce((s, r) => s + Buffer.byteLength(f(r)), 0) / rows.length);
  return { docs: rows.length, jsonBytes: mean((r) => r.json), xmlBytes: mean((r) => r.xml) };
}
