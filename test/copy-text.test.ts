// Bulk writes go by COPY (src/db/copy-text.ts, Queryable.copyFrom) on both engines: every value
// comes back as it was written, whatever it holds (COPY's own escapes, quotes, array and JSON
// syntax, non-ASCII), a refused COPY fails with PostgreSQL's error and rolls its transaction back
// whole, and copyFrom takes nothing but COPY table (columns) FROM STDIN.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asJson, copyLine, type CopyValue } from '../src/db/copy-text.js';
import { isUniqueViolation } from '../src/db/database.js';
import { createTestDb, type TestDb } from './helpers/db.js';

let t: TestDb;
before(async () => {
  t = await createTestDb({ migrate: false });
  await t.db.exec('CREATE TABLE copied (n int PRIMARY KEY, s text, tags text[], doc jsonb, d date, b boolean)');
});
after(() => t.drop());

const HOSTILE = [
  'plain',
  '',
  'tab\there',
  'line\nbreak',
  'carriage\rreturn',
  'back\\slash',
  '\\N',
  '\\.',
  'quote " and \' both',
  '{braces,and,commas}',
  'NULL',
  'Ñúñez – 東京 – 🙂',
  '\t\n\r\\',
];

const row = (n: number, s: string | null) => ({
  n,
  s,
  tags: s === null ? [] : [s, `${s}!`, ''],
  doc: { s, nested: [s, { s }], n, none: null },
  d: n % 2 ? '2026-12-01' : null,
  b: n % 3 === 0,
});
type Row = ReturnType<typeof row>;
const line = (r: Row) => copyLine([r.n, r.s, r.tags, asJson(r.doc), r.d, r.b] satisfies CopyValue[]);

async function readBack(): Promise<Row[]> {
  const rows = await t.db.query('SELECT n, s, tags, doc, d, b FROM copied ORDER BY n');
  return rows.map((r) => ({ n: r.n, s: r.s, tags: r.tags, doc: r.doc, d: r.d, b: r.b }) as Row);
}

describe('copyFrom', () => {
  test('every value comes back as written, hostile strings included', async () => {
    const rows = [...HOSTILE.map((s, k) => row(k + 1, s)), row(100, null)];
    await t.db.transaction((tx) => tx.copyFrom('COPY copied (n, s, tags, doc, d, b) FROM STDIN', rows.map(line).join('')));
    assert.deepEqual(await readBack(), rows);
  });

  test('a refused COPY fails with the database error and its transaction writes nothing', async () => {
    const before = await readBack();
    await assert.rejects(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO copied (n, s) VALUES (500, $1)', ['written first']);
        await tx.copyFrom('COPY copied (n, s, tags, doc, d, b) FROM STDIN', [row(501, 'new'), row(1, 'taken')].map(line).join(''));
      }),
      (err: unknown) => isUniqueViolation(err),
    );
    assert.deepEqual(await readBack(), before);
  });

  test('outside a transaction it commits on its own', async () => {
    await t.db.copyFrom('COPY copied (n, s) FROM STDIN', copyLine([600, 'alone']));
    assert.equal((await t.db.one<{ s: string }>('SELECT s FROM copied WHERE n = 600')).s, 'alone');
  });

  test('only COPY table (columns) FROM STDIN is taken', async () => {
    await assert.rejects(t.db.copyFrom("COPY copied (n) FROM '/etc/passwd'", '1\n'), /COPY table \(columns\) FROM STDIN/);
    await assert.rejects(t.db.copyFrom('DELETE FROM copied', ''), /COPY table \(columns\) FROM STDIN/);
    await assert.rejects(t.db.copyFrom('DELETE FROM copied; COPY copied (n) FROM STDIN', ''), /COPY table \(columns\) FROM STDIN/);
    assert.ok((await t.db.query('SELECT 1 FROM copied')).length > 0);
  });
});
