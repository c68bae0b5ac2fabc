// Alma's code_table object, JSON and XML, both directions: what GET /conf/code-tables/{name}
// answers and PUT takes. A row is Alma's code, description, enabled, default, plus Carrel's facts
// where the table has them (managed_by_sis on UserGroups, record_types on UserIdentifierTypes,
// named_user on roles). Reading only maps the wire to one shape; the rules are the domain's
// (src/domain/institutions/code-table-service.ts).
import { AppError } from '../errors.js';
import type { CodeValue } from '../model/code-tables.js';
import { isObject, type Json } from './json-values.js';
import { parseXmlDocument, toXmlDocument, type XmlShape } from './xml-codec.js';

const SHAPE: XmlShape = { attributes: new Set(), wrappers: { row: 'rows', record_type: 'record_types' } };

/** A row as a client sent it: values still unchecked (XML gives every one as text). */
export interface CodeRowInput {
  code: unknown;
  description: unknown;
  enabled?: unknown;
  default?: unknown;
  managed_by_sis?: unknown;
  record_types?: unknown;
  named_user?: unknown;
}

export interface CodeTableInput {
  /** The name the body gives, if any (it must agree with the URL's). */
  name?: unknown;
  rows: CodeRowInput[];
}

const ROW_KEYS = new Set(['code', 'description', 'enabled', 'default', 'managed_by_sis', 'record_types', 'record_type', 'named_user']);

function refuse(format: 'JSON' | 'XML', reason: string): AppError {
  return new AppError('INVALID_BODY', { format, reason });
}

export function codeRowOut(v: CodeValue): Json {
  const extra: Json = {};
  if ('managedBySis' in v.attributes) extra.managed_by_sis = v.attributes.managedBySis === true;
  if (Array.isArray(v.attributes.recordTypes)) extra.record_types = v.attributes.recordTypes;
  if ('namedUser' in v.attributes) extra.named_user = v.attributes.namedUser === true;
  return { code: v.code, description: v.description, default: v.attributes.default === true, enabled: v.enabled, ...extra };
}

export function codeTableToJson(name: string, rows: CodeValue[]): Json {
  return { name, description: name, row: rows.map(codeRowOut) };
}

export function codeTableToXml(name: string, rows: CodeValue[]): string {
  return toXmlDocument('code_table', { name, description: name, row: rows.map((r) => {
    const out = codeRowOut(r);
    const { record_types: types, ...rest } = out;
    return types ? { ...rest, record_type: types } : rest;
  }) }, SHAPE);
}

function rowsOf(format: 'JSON' | 'XML', body: Json): CodeTableInput {
  // Alma's own members (sub_system, patron_facing, language, scope ...) are not Carrel's to change: ignored.
  // No rows at all is more likely a mistake than a wish to empty the table: an empty table is
  // said as "row": [] (JSON) or <rows/> (XML).
  if (body.row === undefined) throw refuse(format, format === 'JSON' ? 'there is no row list (an empty table is "row": [])' : 'there is no <rows> element (an empty table is <rows/>)');
  const list = body.row;
  const rows = Array.isArray(list) ? list : [list];
  return {
    name: body.name,
    rows: rows.map((r, i) => {
      if (!isObject(r)) throw refuse(format, `row ${i + 1} is not an object`);
      const unknown = Object.keys(r).find((k) => !ROW_KEYS.has(k));
      if (unknown) throw refuse(format, `row ${i + 1} has an unknown member ${unknown.slice(0, 40)}`);
      const { record_type: xmlTypes, record_types: jsonTypes, ...rest } = r;
      const types = jsonTypes ?? xmlTypes;
      return { ...rest, ...(types === undefined ? {} : { record_types: types }) } as CodeRowInput;
    }),
  };
}

/** A parsed JSON body (Fastify's parser) as a code table. */
export function codeTableFromJson(body: unknown): CodeTableInput {
  if (!isObject(body)) throw refuse('JSON', 'expected a code_table object');
  if (body.row !== undefined && !Array.isArray(body.row)) throw refuse('JSON', 'row must be a list');
  return rowsOf('JSON', body);
}

/** An XML body (<code_table> with <rows><row>...) as a code table. */
export function codeTableFromXml(xml: string): CodeTableInput {
  const doc = parseXmlDocument(xml, 'code_table', SHAPE);
  return rowsOf('XML', doc);
}
