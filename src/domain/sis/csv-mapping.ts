// A CSV profile's column mapping: {"Header in the file": "field path"}. A row becomes an Alma
// JSON user object, so CSV goes through the same mapping as the XML and JSON formats.
//
// Field paths:
//   primary_id, first_name, last_name, user_group, expiry_date, ... any SIS scalar (Alma's names)
//   email | email:TYPE        one e-mail per column; the first non-empty one is preferred
//   phone | phone:TYPE        likewise
//   identifier:TYPE           an additional identifier of that type (BARCODE, UNIV_ID, ...)
//   address.line1 ... address.line5, address.city, address.state_province, address.postal_code,
//   address.country, address.type   one address (type home unless a column says otherwise)
//   statistic                 a statistic category
//   note | note:TYPE          a note's text (type OTHER unless given)
//   "" or "-"                 a column the load ignores
// A file owns only what its mapping names: a column it does not have leaves that field alone.
import { AppError, assertThat } from '../../errors.js';
import type { Json } from '../../alma/json-values.js';
import { restoreCsvCell } from '../csv.js';
import type { CsvMapping } from '../../model/profile.js';
import type { User } from '../../model/user.js';
import type { OwnedFields } from './owned-fields.js';
import { SIS_SCALAR_COLUMNS, columnToKey } from './owned-fields.js';


const ADDRESS_PARTS = ['line1', 'line2', 'line3', 'line4', 'line5', 'city', 'state_province', 'postal_code', 'country', 'type'];
const TYPED = /^(email|phone|identifier|note)(?::([A-Za-z0-9_.-]{1,64}))?$/;

function checkPath(header: string, path: string): void {
  const bad = (reason: string) => new AppError('INVALID_VALUE', { field: `csv_mapping["${header.slice(0, 40)}"]`, value: path.slice(0, 60), reason });
  if (SIS_SCALAR_COLUMNS.includes(path) || path === 'external_id' || path === 'statistic') return;
  if (path.startsWith('address.')) {
    if (!ADDRESS_PARTS.includes(path.slice('address.'.length))) throw bad(`an address has ${ADDRESS_PARTS.join(', ')}`);
    return;
  }
  const m = TYPED.exec(path);
  if (!m) throw bad('not a field Carrel can load from a CSV (see the list in the documentation)');
  if (m[1] === 'identifier' && !m[2]) throw bad('name the identifier type, e.g. identifier:BARCODE');
}

/** Accepts {"Header": "field"}; refuses unknown field paths and a mapping without a match field. */
export function parseCsvMapping(raw: unknown): CsvMapping {
  const obj = typeof raw === 'string' ? safeJson(raw) : raw;
  assertThat(typeof obj === 'object' && obj !== null && !Array.isArray(obj), 'INVALID_VALUE', {
    field: 'csv_mapping', value: String(raw).slice(0, 60), reason: 'expected {"Column header": "field path", ...}',
  });
  const out: CsvMapping = {};
  const seen = new Set<string>();
  for (const [header, v] of Object.entries(obj as Record<string, unknown>)) {
    assertThat(header.trim() !== '', 'INVALID_VALUE', { field: 'csv_mapping', value: header, reason: 'a column header is empty' });
    const path = typeof v === 'string' ? v.trim() : v === null ? '' : undefined;
    assertThat(path !== undefined, 'INVALID_VALUE', { field: `csv_mapping["${header}"]`, value: String(v), reason: 'expected a field path' });
    if (path === '' || path === '-') {
      out[header] = null;
      continue;
    }
    checkPath(header, path);
    // Repeatable paths (several e-mails or statistics) are fine; a scalar twice is a mistake.
    const repeatable = /^(email|phone|statistic|note)(:|$)/.test(path);
    assertThat(repeatable || !seen.has(path), 'INVALID_VALUE', { field: 'csv_mapping', value: path, reason: 'mapped from two columns' });
    seen.add(path);
    out[header] = path;
  }
  assertThat(Object.values(out).some((p) => p !== null), 'INVALID_VALUE', { field: 'csv_mapping', value: '{}', reason: 'maps no column' });
  return out;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The identifier types a mapping loads (checked against the institution's code table). */
export function mappedIdentifierTypes(mapping: CsvMapping): string[] {
  return Object.values(mapping).flatMap((p) => (p?.startsWith('identifier:') ? [p.slice('identifier:'.length)] : []));
}

export function ownedByMapping(mapping: CsvMapping): OwnedFields {
  const paths = Object.values(mapping).filter((p): p is string => p !== null);
  const scalars = new Set(paths.filter((p) => SIS_SCALAR_COLUMNS.includes(p)).map((p) => columnToKey(p)));
  const has = (prefix: string) => paths.some((p) => p === prefix || p.startsWith(`${prefix}:`) || p.startsWith(`${prefix}.`));
  const segments = new Set<string>();
  if (has('email')) segments.add('emails');
  if (has('phone')) segments.add('phones');
  if (has('address')) segments.add('addresses');
  if (has('identifier')) segments.add('identifiers');
  if (has('statistic')) segments.add('statistics');
  if (has('note')) segments.add('notes');
  return { scalars, segments };
}

/** One data row (already split, same length as the header) as an Alma JSON user. */
export function csvRowToAlmaJson(mapping: CsvMapping, header: readonly string[], row: readonly string[]): Json {
  const user: Json = {};
  const emails: Json[] = [];
  const phones: Json[] = [];
  const identifiers: Json[] = [];
  const statistics: Json[] = [];
  const notes: Json[] = [];
  const address: Record<string, string> = {};
  header.forEach((h, i) => {
    const path = mapping[h];
    const value = restoreCsvCell((row[i] ?? '').trim());
    if (!path) return;
    if (SIS_SCALAR_COLUMNS.includes(path) || path === 'external_id') {
      user[path] = value;
      return;
    }
    if (value === '') return;
    if (path.startsWith('address.')) {
      address[path.slice('address.'.length)] = value;
      return;
    }
    if (path === 'statistic') {
      statistics.push({ statistic_category: value, segment_type: 'External' });
      return;
    }
    const [kind, type] = path.split(':') as [string, string | undefined];
    if (kind === 'email') {
      emails.push({ email_address: value, email_type: type ? [type] : [], preferred: emails.length === 0, segment_type: 'External' });
    } else if (kind === 'phone') {
      phones.push({ phone_number: value, phone_type: type ? [type] : [], preferred: phones.length === 0, segment_type: 'External' });
    } else if (kind === 'identifier') {
      identifiers.push({ id_type: type, value, segment_type: 'External' });
    } else if (kind === 'note') {
      notes.push({ note_type: type ?? 'OTHER', note_text: value, segment_type: 'External' });
    }
  });
  const contact: Json = {};
  if (emails.length) contact.email = emails;
  if (phones.length) contact.phone = phones;
  if (Object.keys(address).some((k) => k !== 'type')) {
    const { type, ...parts } = address;
    contact.address = [{ ...parts, address_type: [type ?? 'home'], preferred: true, segment_type: 'External' }];
  }
  if (Object.keys(contact).length) user.contact_info = contact;
  if (identifiers.length) user.user_identifier = identifiers;
  if (statistics.length) user.user_statistic = statistics;
  if (notes.length) user.user_note = notes;
  return user;
}

/** The columns of a CSV export without a profile mapping: headers are the field paths themselves. */
export const DEFAULT_EXPORT_MAPPING: CsvMapping = Object.fromEntries(
  [
    'primary_id', 'first_name', 'middle_name', 'last_name', 'user_group', 'job_category', 'campus_code', 'preferred_language',
    'birth_date', 'expiry_date', 'purge_date', 'status', 'external_id', 'email', 'phone', 'identifier:BARCODE',
    'identifier:UNIV_ID', 'address.line1', 'address.city', 'address.postal_code', 'address.country',
  ].map((p) => [p, p]),
);

/** A user as one CSV row under `mapping` (the inverse of csvRowToAlmaJson, for exports). */
export function userToCsvValues(user: User, mapping: CsvMapping): string[] {
  const used = new Set<object>();
  const take = <T extends object>(list: T[], ok: (x: T) => boolean): T | undefined => {
    const found = list.find((x) => !used.has(x) && ok(x));
    if (found) used.add(found);
    return found;
  };
  const byPreference = <T extends { preferred: boolean }>(list: T[]) => [...list].sort((a, b) => Number(b.preferred) - Number(a.preferred));
  const emails = byPreference(user.contactInfo.emails);
  const phones = byPreference(user.contactInfo.phones);
  const address = byPreference(user.contactInfo.addresses)[0];
  const addressPart: Record<string, string | null | undefined> = address
    ? { line1: address.line1, line2: address.line2, line3: address.line3, line4: address.line4, line5: address.line5, city: address.city,
        state_province: address.stateProvince, postal_code: address.postalCode, country: address.country, type: address.types[0] }
    : {};
  return Object.values(mapping).map((path) => {
    if (!path) return '';
    if (SIS_SCALAR_COLUMNS.includes(path) || path === 'external_id') {
      const v = user[columnToKey(path)];
      return v === null || v === undefined ? '' : String(v);
    }
    if (path.startsWith('address.')) return addressPart[path.slice('address.'.length)] ?? '';
    if (path === 'statistic') return take(user.statistics, () => true)?.statisticCategory ?? '';
    const [kind, type] = path.split(':') as [string, string | undefined];
    const typed = (types: string[]) => !type || types.some((t) => t.toLowerCase() === type.toLowerCase());
    if (kind === 'email') return take(emails, (e) => typed(e.types))?.address ?? '';
    if (kind === 'phone') return take(phones, (p) => typed(p.types))?.number ?? '';
    if (kind === 'identifier') return take(user.identifiers, (i) => i.idType.toLowerCase() === type?.toLowerCase())?.value ?? '';
    if (kind === 'note') return take(user.notes, (n) => !type || n.noteType.toLowerCase() === type.toLowerCase())?.noteText ?? '';
    return '';
  });
}
