// Rows in COPY's text format (https://www.postgresql.org/docs/15/sql-copy.html, "Text Format"),
// for Queryable.copyFrom. A bulk write's rows reach PostgreSQL as plain columns it splits on tabs,
// instead of one JSON document per statement that json_to_recordset decodes again, object by
// object and key by key (issue 8: that decoding was a fifth of PostgreSQL's CPU in a first SIS
// load).

/** A column's value: null, a scalar, a string array (a text[] column) or JSON (a jsonb column). */
export type CopyValue = string | number | boolean | null | undefined | readonly string[] | CopyJson;
/** A value written as JSON text, for a jsonb column. */
export interface CopyJson {
  readonly json: unknown;
}

export const asJson = (json: unknown): CopyJson => ({ json });

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A string as a COPY field: backslash, tab, newline and carriage return escaped. */
function field(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : s;
}

/** An array literal of text elements, each quoted ('{"a","b \"c\""}'). */
function textArray(items: readonly string[]): string {
  return `{${items.map((i) => `"${i.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

function encode(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return field(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return field(textArray(v as readonly string[]));
  const json = JSON.stringify((v as CopyJson).json);
  return json === undefined ? '\\N' : field(json);
}

/** One line of COPY text: the values tab-separated, in the COPY statement's column order. */
export function copyLine(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i ? '\t' : '') + encode(values[i]);
  return `${line}\n`;
}
