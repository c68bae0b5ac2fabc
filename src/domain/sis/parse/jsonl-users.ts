// JSON lines: one Alma JSON user object per line, read through the API's own mapping. A line that
// is not JSON fails on its own; a file whose first record is not JSON is not JSON lines at all.
import { AppError } from '../../../errors.js';
import { almaJsonToUserInput } from '../../../http/alma/user-json.js';
import { at, fileRefused, textLines, type RawRecord } from './text.js';

const MAX_LINE_CHARS = 1 << 20;

export async function* readJsonlUsers(text: AsyncIterable<string>, name: string): AsyncGenerator<RawRecord> {
  let records = 0;
  for await (const { line, text: raw } of textLines(text, name, MAX_LINE_CHARS)) {
    const s = raw.trim();
    if (s === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (err) {
      if (records === 0) throw fileRefused(at(name, line), 'the file is not JSON lines (one JSON user object per line)');
      records++;
      yield { where: at(name, line), line, error: `line ${line} is not valid JSON: ${(err as Error).message}` };
      continue;
    }
    records++;
    const record: RawRecord = { where: at(name, line), line };
    try {
      record.input = almaJsonToUserInput(value);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      record.error = err.message;
    }
    yield record;
  }
}
