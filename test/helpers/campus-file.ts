// Generated campus SIS files: N users as Alma user XML (plain or zipped), CSV with a mapping, or
// JSON lines. Deterministic: user i of variant v is always the same, so a test (or the benchmark)
// can make "the same file", "a changed file" and check the result field by field.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Zip, ZipDeflate, zipSync } from 'fflate';
import { USER_XML_SHAPE } from '../../src/alma/user-xml.js';
import { toXmlElement, XML_DECLARATION } from '../../src/alma/xml-codec.js';

export type AlmaJsonUser = Record<string, unknown>;

const FIRST = ['Ada', 'Grace', 'Alan', 'Émile', 'Zoë', 'José', 'Mei', 'Olu', 'Ines', 'Raj', 'Ana', 'Piotr'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Zola', 'Núñez', 'Okafor', 'Chen', 'Kowalski', 'Smith', 'Haddad'];
const GROUPS = ['UNDERGRAD', 'GRAD', 'FACULTY', 'STAFF'];

export const pad = (i: number) => String(i).padStart(7, '0');
export const univId = (i: number) => `U${pad(i)}`;
export const barcode = (i: number) => `B${pad(i)}`;
export const primaryIdOf = (i: number) => `stu${pad(i)}`;

/** Campus user i. variant > 0 changes the last name, expiry date and e-mail (a later file). */
export function campusUser(i: number, opts: { variant?: number; externalId?: string; group?: string } = {}): AlmaJsonUser {
  const v = opts.variant ?? 0;
  const last = LAST[i % LAST.length]! + (v ? `-${v}` : '');
  return {
    record_type: 'PUBLIC',
    primary_id: primaryIdOf(i),
    first_name: FIRST[i % FIRST.length],
    last_name: last,
    user_group: opts.group ?? GROUPS[i % GROUPS.length],
    campus_code: 'MAIN',
    preferred_language: 'en',
    expiry_date: `${2027 + v}-08-31`,
    purge_date: `${2028 + v}-08-31`,
    account_type: 'EXTERNAL',
    external_id: opts.externalId ?? 'CAMPUS',
    status: 'ACTIVE',
    contact_info: {
      address: [{ line1: `${i} College Road`, city: 'Springfield', postal_code: '12345', country: 'USA', address_type: ['home'], preferred: true, segment_type: 'External' }],
      email: [{ email_address: `s${i}${v ? `.v${v}` : ''}@campus.example.edu`, email_type: ['school'], preferred: true, segment_type: 'External' }],
    },
    user_identifier: [
      { id_type: 'UNIV_ID', value: univId(i), status: 'ACTIVE', segment_type: 'External' },
      { id_type: 'BARCODE', value: barcode(i), status: 'ACTIVE', segment_type: 'External' },
    ],
    user_statistic: [{ statistic_category: i % 2 ? 'Undergraduate' : 'Graduate', segment_type: 'External' }],
  };
}

export const userXml = (u: AlmaJsonUser) => toXmlElement('user', u, USER_XML_SHAPE);

export function almaXml(users: Iterable<AlmaJsonUser>): string {
  let s = `${XML_DECLARATION}\n<users>\n`;
  for (const u of users) s += `${userXml(u)}\n`;
  return `${s}</users>\n`;
}

export function zipOf(files: Record<string, string | Uint8Array>): Buffer {
  const entries = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]));
  return Buffer.from(zipSync(entries));
}

/** The CSV mapping these files use (header -> field path). */
export const CSV_MAPPING = {
  'Student ID': 'identifier:UNIV_ID',
  'Login': 'primary_id',
  'Given name': 'first_name',
  'Family name': 'last_name',
  'Patron group': 'user_group',
  'Campus': 'campus_code',
  'Language': 'preferred_language',
  'E-mail': 'email:school',
  'Card': 'identifier:BARCODE',
  'Expires': 'expiry_date',
  'Purge': 'purge_date',
  'Street': 'address.line1',
  'City': 'address.city',
  'Postcode': 'address.postal_code',
  'Country': 'address.country',
  'Statistic': 'statistic',
  'Profile': 'external_id',
} as const;

const csvCell = (s: unknown) => {
  const t = s === null || s === undefined ? '' : String(s);
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
};

export function csvRow(u: AlmaJsonUser): string {
  const c = u.contact_info as { address: Record<string, unknown>[]; email: Record<string, unknown>[] };
  const ids = u.user_identifier as { id_type: string; value: string }[];
  const a = c.address[0] ?? {};
  const cells = [
    ids.find((x) => x.id_type === 'UNIV_ID')?.value, u.primary_id, u.first_name, u.last_name, u.user_group, u.campus_code,
    u.preferred_language, c.email[0]?.email_address, ids.find((x) => x.id_type === 'BARCODE')?.value, u.expiry_date, u.purge_date,
    a.line1, a.city, a.postal_code, a.country, (u.user_statistic as { statistic_category: string }[])[0]?.statistic_category, u.external_id,
  ];
  return cells.map(csvCell).join(',');
}

export function csvOf(users: Iterable<AlmaJsonUser>): string {
  let s = `${Object.keys(CSV_MAPPING).map(csvCell).join(',')}\n`;
  for (const u of users) s += `${csvRow(u)}\n`;
  return s;
}

export function jsonlOf(users: Iterable<AlmaJsonUser>): string {
  let s = '';
  for (const u of users) s += `${JSON.stringify(u)}\n`;
  return s;
}

export function* range(from: number, to: number, f: (i: number) => AlmaJsonUser): Generator<AlmaJsonUser> {
  for (let i = from; i < to; i++) yield f(i);
}

/** Streams n users of Alma XML into a zip on disk (one entry), in constant memory (benchmark sizes). */
export async function writeXmlZip(path: string, n: number, user: (i: number) => AlmaJsonUser, entryName = 'users.xml'): Promise<void> {
  const out = createWriteStream(path);
  const zip = new Zip((err, data) => {
    if (err) throw err;
    out.write(data);
  });
  const entry = new ZipDeflate(entryName, { level: 6 });
  zip.add(entry);
  entry.push(Buffer.from(`${XML_DECLARATION}\n<users>\n`));
  let chunk = '';
  for (let i = 0; i < n; i++) {
    chunk += `${userXml(user(i))}\n`;
    if (chunk.length > 1 << 20) {
      entry.push(Buffer.from(chunk));
      chunk = '';
      if (out.writableNeedDrain) await once(out, 'drain');
    }
  }
  entry.push(Buffer.from(`${chunk}</users>\n`), true);
  zip.end();
  out.end();
  await once(out, 'close');
}
