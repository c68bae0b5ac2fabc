// CSV with a header row, read as a stream and mapped by the profile's column mapping. The header
// must name exactly the mapped columns, or the whole file is refused before anything is written
// (a renamed or missing column would silently clear a field for every user). A row with another
// number of fields than the header (shifted columns) fails on its own, with its line.
// Pass one keeps each row as {"header": "value"}; pass two maps the rows that need it.
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { AppError } from '../../../errors.js';
import { restoreCsvCell } from '../../csv.js';
import { almaJsonToUserInput } from '../../../alma/user-json.js';
import { csvRowToAlmaJson } from '../csv-mapping.js';
import type { CsvMapping } from '../../../model/profile.js';
import { at, fileRefused, type MappedRecord, type RawRecord } from './text.js';

const MAX_FIELD_CHARS = 1 << 20;

export async function* readCsvUsers(text: AsyncIterable<string>, name: string, mapping: CsvMapping): AsyncGenerator<RawRecord> {
  const source = Readable.from(text, { objectMode: false });
  const parser = parse({ relax_column_count: true, skip_empty_lines: true, bom: true, info: true, max_record_size: MAX_FIELD_CHARS });
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let header: string[] | undefined;
  const columnOf = (path: string) => header!.findIndex((h) => mapping[h]?.toLowerCase() === path.toLowerCase());
  let primaryCol = -1;
  let externalCol = -1;
  let idCols: { type: string; col: number }[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.map((h) => restoreCsvCell(h.trim()));
        checkHeader(header, mapping, name, info.lines);
        primaryCol = columnOf('primary_id');
        externalCol = columnOf('external_id');
        idCols = header.flatMap((h, col) => (mapping[h]?.startsWith('identifier:') ? [{ type: mapping[h]!.slice('identifier:'.length), col }] : []));
        continue;
      }
      const out: RawRecord = { where: at(name, info.lines), line: info.lines };
      if (record.length !== header.length) {
        out.error = `line ${info.lines} has ${record.length} fields where the header has ${header.length} (shifted columns?)`;
      } else {
        const cell = (col: number) => (col < 0 ? null : restoreCsvCell(record[col]!.trim()) || null);
        out.primaryId = cell(primaryCol);
        out.externalId = cell(externalCol);
        out.identifiers = idCols.flatMap(({ type, col }) => (cell(col) ? [{ type, value: cell(col)! }] : []));
        out.raw = JSON.stringify(Object.fromEntries(header.map((h, i) => [h, record[i]])));
      }
      yield out;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const e = err as { message?: string; lines?: number };
    throw fileRefused(at(name, e.lines ?? 0), `not a readable CSV file: ${e.message ?? String(err)}`);
  }
  if (!header) throw fileRefused(name, 'the file is empty (no header row)');
}

/** Pass two: rows kept by pass one to UserInputs, through the mapping to Alma's JSON user. */
export function mapCsvUsers(raws: readonly string[], mapping: CsvMapping): MappedRecord[] {
  return raws.map((raw) => {
    const row = JSON.parse(raw) as Record<string, string>;
    try {
      return { input: almaJsonToUserInput(csvRowToAlmaJson(mapping, Object.keys(row), Object.values(row))) };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { error: err.message };
    }
  });
}

function checkHeader(header: string[], mapping: CsvMapping, name: string, line: number): void {
  const expected = Object.keys(mapping);
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) throw fileRefused(at(name, line), `the header names column "${dup}" twice`);
  const missing = expected.filter((h) => !header.includes(h));
  const extra = header.filter((h) => !(h in mapping));
  if (missing.length || extra.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.map((h) => `"${h}"`).join(', ')}`);
    if (extra.length) parts.push(`not in the mapping ${extra.map((h) => `"${h.slice(0, 40)}"`).join(', ')}`);
    throw fileRefused(at(name, line), `the header does not match the profile's CSV mapping: ${parts.join('; ')}`);
  }
}
