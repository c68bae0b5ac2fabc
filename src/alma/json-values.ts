// Alma's JSON value conventions in both directions. Reading is tolerant the way Alma is (a code
// as {"value":"X"} or "X", a list as an array or one object, booleans as strings) but never
// guesses across types: a number where a name belongs is a client bug, not a name.
import type { CodeTables } from '../model/code-tables.js';
import { AppError } from '../errors.js';
import { shownText } from '../model/safe-text.js';

export type Json = Record<string, unknown>;

export interface CodeOut {
  value: string;
  desc: string;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The wire path of a field, for error messages: contact_info.email[1].email_address. */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function shown(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return shownText(s);
}

/** Secrets (password, PIN) are never echoed back, not even in an error about their type. */
export function invalid(field: string, value: unknown, reason: string, secret = false): AppError {
  return new AppError('INVALID_VALUE', { field, value: secret ? '(hidden)' : shown(value), reason });
}

// Reading. Each reader returns undefined when the field is absent and null when it is present
// but empty (null or ""), so a PUT can tell "not sent" from "cleared".

export function readText(v: unknown, field: string): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === '') return null;
  if (typeof v === 'string') return v;
  throw invalid(field, v, 'expected a string');
}

export function readCode(v: unknown, field: string): string | null | undefined {
  if (v === undefined) return undefined;
  if (isObject(v)) {
    const value = v.value;
    if (value === undefined || value === null || value === '') return null;
    if (typeof value === 'string') return value;
    throw invalid(field, value, 'expected a code as a string');
  }
  if (v === null || v === '' || typeof v === 'string') return readText(v, field);
  throw invalid(field, v, 'expected a code, as "CODE" or {"value": "CODE"}');
}

/** Alma writes calendar dates as 2030-01-16Z; the zone carries no meaning for a date. */
export function readDate(v: unknown, field: string): string | null | undefined {
  const s = readText(v, field);
  return typeof s === 'string' ? s.trim().replace(/Z$/i, '') : s;
}

export function readBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === '') return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  throw invalid(field, v, 'expected true or false');
}

/** Passwords and PINs: strings only, and empty means "keep the current one" (Alma's PUT). */
export function readSecret(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  throw invalid(field, v, 'expected a string', true);
}

/** A segment list: absent stays undefined; null, "" or [] is an empty list; one object is a list of one. */
export function readList(v: unknown): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === '') return [];
  return Array.isArray(v) ? v : [v];
}

export function readObject(v: unknown, field: string): Json {
  if (isObject(v)) return v;
  throw invalid(field, v, 'expected an object');
}

/** A list of codes (address_type[] and the like); empty entries carry nothing and are dropped. */
export function readCodes(v: unknown, field: string): string[] {
  return (readList(v) ?? [])
    .map((c, i) => readCode(c, at(field, i)))
    .filter((c): c is string => typeof c === 'string' && c.trim() !== '');
}

// Writing.

export function codeOut(tables: CodeTables, table: string, code: string | null | undefined): CodeOut {
  if (!code) return { value: '', desc: '' };
  return { value: code, desc: tables.get(table, code)?.description ?? '' };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/** Empty dates are left out, as Alma does: an empty xs:date element would not validate. */
export function dateOut(d: string | null | undefined): string | undefined {
  if (!d) return undefined;
  return DATE.test(d) ? `${d}Z` : d;
}

/**
 * Block and note timestamps are xs:dateTime. The domain keeps what the client sent, so normalise
 * anything else that parses as a date, and leave out what does not rather than emit invalid XML.
 */
export function dateTimeOut(s: string | null | undefined): string | null {
  if (!s) return null;
  if (DATE_TIME.test(s)) return s;
  if (DATE.test(s)) return `${s}T00:00:00Z`;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Drops undefined members so JSON and XML leave the field out alike. */
export function compact(o: Json): Json {
  const out: Json = {};
  for (const key in o) if (o[key] !== undefined) out[key] = o[key];
  return out;
}
