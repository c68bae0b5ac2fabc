// The Alma JSON user object (GET/POST/PUT /almaws/v1/users) to and from the domain's User.
// The XML form is derived from this JSON shape (user-xml.ts), so the two cannot drift.
// Reading lives in user-json-input.ts and is re-exported here: one module per wire shape.
import { ROLE_TABLE, type CodeTables } from '../model/code-tables.js';
import { SCALAR_FIELDS, fullName, type ScalarField, type Address, type Email, type Phone, type User, type UserBlock, type UserIdentifier, type UserNote, type UserRole, type UserStatistic } from '../model/user.js';
import { codeOut, compact, dateOut, dateTimeOut, type CodeOut, type Json } from './json-values.js';

export { almaJsonToUserInput, OUTPUT_ONLY_FIELDS } from './user-json-input.js';

export interface AlmaUserOptions {
  /** Scheme and host the client used, e.g. https://carrel.example.org; links are built on it. */
  baseUrl: string;
  /** Alma's brief view: core fields, emails, identifiers and statistics only. */
  view?: 'full' | 'brief';
  /** Names the institution when a role is scoped to it (otherwise the code stands in). */
  institution?: { code: string; name: string };
}

/** Linked-account ids are left out when empty, as in Alma's responses. */
const OMIT_WHEN_EMPTY = new Set(['linking_id', 'source_institution_code', 'source_link_id']);

// rest_user.xsd order. The user element is xs:all, but clients diff responses and people read them.
const FIELD_ORDER = [
  'record_type', 'primary_id', 'first_name', 'middle_name', 'last_name', 'full_name', 'pin_number',
  'user_title', 'job_category', 'job_description', 'gender', 'user_group', 'campus_code', 'web_site_url',
  'cataloger_level', 'preferred_language', 'birth_date', 'expiry_date', 'purge_date', 'account_type',
  'external_id', 'password', 'force_password_change', 'status', 'status_date', 'requests', 'loans', 'fees',
  'contact_info', 'user_identifier', 'user_role', 'user_block', 'user_note', 'user_statistic',
  'proxy_for_user', 'rs_library', 'library_notice', 'source_link_id', 'source_institution_code',
  'linking_id', 'pref_first_name', 'pref_middle_name', 'pref_last_name', 'pref_name_suffix',
  'is_researcher', 'link',
];

/** What Alma's brief view leaves out (contact_info keeps only its emails). */
const NOT_IN_BRIEF = new Set(['user_role', 'user_block', 'user_note', 'proxy_for_user', 'rs_library', 'library_notice']);

export function userLink(baseUrl: string, primaryId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/almaws/v1/users/${encodeURIComponent(primaryId)}`;
}

/** A scalar field as Alma writes it: codes as {value, desc}, dates with Z, empty text as "". */
function scalarOut(f: ScalarField, user: User, tables: CodeTables): Json[string] {
  const v = user[f.key];
  if (f.kind === 'code') return codeOut(tables, f.codeTable ?? '', v as string | null);
  if (f.kind === 'date') return dateOut(v as string | null);
  if (f.kind === 'boolean') return v === true;
  if (OMIT_WHEN_EMPTY.has(f.column)) return v || undefined;
  return v ?? '';
}

const SCALAR_BY_COLUMN = new Map(SCALAR_FIELDS.map((f) => [f.column, f]));

/** FIELD_ORDER resolved once: each key is a scalar field or one of the composite members below. */
const PLAN = FIELD_ORDER.map((key) => ({ key, scalar: SCALAR_BY_COLUMN.get(key), inBrief: !NOT_IN_BRIEF.has(key) }));

/**
 * Written in one ordered pass, straight into the output object: this runs for every GET of a
 * user (a barcode scanned at the desk), so no intermediate copies.
 */
export function userToAlmaJson(user: User, tables: CodeTables, opts: AlmaUserOptions): Json {
  const brief = opts.view === 'brief';
  const scope = (code: string): CodeOut => {
    if (opts.institution && code.toLowerCase() === opts.institution.code.toLowerCase()) {
      return { value: code, desc: opts.institution.name };
    }
    return { value: code, desc: tables.get('Libraries', code)?.description ?? code };
  };
  const composite = (key: string): Json[string] => {
    switch (key) {
      case 'full_name':
        return fullName(user);
      // Never anything else: credentials are write-only, as in Alma's GET.
      case 'pin_number':
      case 'password':
      case 'force_password_change':
        return '';
      case 'requests':
      case 'loans':
      case 'fees':
        return null;
      case 'contact_info': {
        const c = user.contactInfo;
        if (brief) return { email: c.emails.map((e) => emailOut(e, tables)) };
        return {
          address: c.addresses.map((a) => addressOut(a, tables)),
          email: c.emails.map((e) => emailOut(e, tables)),
          phone: c.phones.map((p) => phoneOut(p, tables)),
        };
      }
      case 'user_identifier':
        return user.identifiers.map((i) => identifierOut(i, tables));
      case 'user_role':
        return user.roles.map((r) => roleOut(r, tables, scope));
      case 'user_block':
        return user.blocks.map((b) => blockOut(b, tables));
      case 'user_note':
        return user.notes.map((n) => noteOut(n, tables));
      case 'user_statistic':
        return user.statistics.map((st) => statisticOut(st, tables));
      case 'proxy_for_user':
        return [];
      case 'rs_library':
        return user.rsLibraries.map((code) => ({ code: scope(code) }));
      case 'library_notice':
        return user.libraryNotices.map((n) => ({ code: codeOut(tables, 'LibraryNoticesOptInDisplay', n.code), value: n.value }));
      case 'link':
        return userLink(opts.baseUrl, user.primaryId);
      default:
        return undefined;
    }
  };
  const out: Json = {};
  for (const { key, scalar, inBrief } of PLAN) {
    if (brief && !inBrief) continue;
    const value = scalar ? scalarOut(scalar, user, tables) : composite(key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function addressOut(a: Address, tables: CodeTables): Json {
  return compact({
    line1: a.line1,
    line2: a.line2,
    line3: a.line3,
    line4: a.line4,
    line5: a.line5,
    city: a.city,
    state_province: a.stateProvince,
    postal_code: a.postalCode,
    country: codeOut(tables, 'CountryCodes', a.country),
    address_note: a.addressNote,
    start_date: dateOut(a.startDate),
    end_date: dateOut(a.endDate),
    address_type: a.types.map((t) => codeOut(tables, 'UserAddressTypes', t)),
    preferred: a.preferred,
    segment_type: a.segmentType,
  });
}

function emailOut(e: Email, tables: CodeTables): Json {
  return {
    email_address: e.address,
    description: e.description,
    email_type: e.types.map((t) => codeOut(tables, 'UserEmailTypes', t)),
    preferred: e.preferred,
    segment_type: e.segmentType,
  };
}

function phoneOut(p: Phone, tables: CodeTables): Json {
  return {
    phone_number: p.number,
    phone_type: p.types.map((t) => codeOut(tables, 'UserPhoneTypes', t)),
    preferred: p.preferred,
    preferred_sms: p.preferredSms,
    segment_type: p.segmentType,
  };
}

function identifierOut(i: UserIdentifier, tables: CodeTables): Json {
  return {
    id_type: codeOut(tables, 'UserIdentifierTypes', i.idType),
    value: i.value,
    note: i.note,
    status: i.status,
    segment_type: i.segmentType,
  };
}

function roleOut(r: UserRole, tables: CodeTables, scope: (code: string) => CodeOut): Json {
  return compact({
    status: codeOut(tables, 'UserRoleStatus', r.status),
    scope: scope(r.scope),
    role_type: codeOut(tables, ROLE_TABLE, r.roleType),
    expiry_date: dateOut(r.expiryDate),
    parameter: r.parameters.map((p) => ({
      type: codeOut(tables, 'RoleParameterTypes', p.type),
      scope: p.scope ? scope(p.scope) : { value: '', desc: '' },
      // Desks and departments have no code table here; the code is the best description we have.
      value: { value: p.value, desc: p.value },
    })),
  });
}

function blockOut(b: UserBlock, tables: CodeTables): Json {
  return {
    block_type: codeOut(tables, 'UserBlockTypes', b.blockType),
    block_description: codeOut(tables, 'UserBlockDescription', b.blockDescription),
    block_status: b.blockStatus,
    block_note: b.blockNote,
    created_by: b.createdBy,
    created_date: dateTimeOut(b.createdDate),
    expiry_date: dateTimeOut(b.expiryDate),
    segment_type: b.segmentType,
  };
}

function noteOut(n: UserNote, tables: CodeTables): Json {
  return {
    note_type: codeOut(tables, 'NoteTypes', n.noteType),
    note_text: n.noteText,
    user_viewable: n.userViewable,
    popup_note: n.popupNote,
    created_by: n.createdBy,
    created_date: dateTimeOut(n.createdDate),
    segment_type: n.segmentType,
  };
}

function statisticOut(s: UserStatistic, tables: CodeTables): Json {
  return {
    statistic_category: codeOut(tables, 'UserStatCategories', s.statisticCategory),
    statistic_note: s.statisticNote,
    segment_type: s.segmentType,
  };
}
