// JSON lines: one Alma JSON user object per line, read through the API's own mapping (pass two).
// A line that is not JSON fails on its own; a file whose first record is not JSON is not JSON
// lines at all, and is refused.
import { AppError } from '../../../errors.js';
import { isObject, readCode, readList, readText } from '../../../alma/json-values.js';
import { almaJsonToUserInput } from '../../../alma/user-json.js';
import { at, fileRefused, textLines, type MappedRecord, type RawRecord } from './text.js';

const MAX_LINE_CHARS = 1 << 20;

/** A value as the mapping would read it, or null when the mapping would refuse or find none. */
function quietly<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

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
    if (!isObject(value)) {
      yield { where: at(name, line), line, error: `line ${line} is not a JSON object` };
      continue;
    }
    const ids = quietly(() => readList(value.user_identifier)) ?? [];
    yield {
      where: at(name, line),
      line,
      raw: s,
      primaryId: quietly(() => readText(value.primary_id, 'primary_id'))?.trim() || null,
      externalId: quietly(() => readText(value.external_id, 'external_id'))?.trim() || null,
      identifiers: ids.flatMap((i) => {
        if (!isObject(i)) return [];
        const type = quietly(() => readCode(i.id_type, 'id_type'))?.trim();
        const v = quietly(() => readText(i.value, 'value'))?.trim();
        return type && v ? [{ type, value: v }] : [];
      }),
    };
  }
}

/** Pass two: JSON lines kept by pass one to UserInputs. */
export function mapJsonlUsers(raws: readonly string[]): MappedRecord[] {
  return raws.map((raw) => {
    try {
      return { input: almaJsonToUserInput(JSON.parse(raw)) };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { error: err.message };
    }
  });
}
