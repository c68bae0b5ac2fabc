// Alma JSON user bodies (POST/PUT) read into the domain's UserInput. The XML reader converts
// to this JSON shape first, so both formats share this one mapping.
import { SCALAR_FIELDS, type Address, type ContactInfo, type Email, type Phone, type RoleParameter, type SegmentType, type Status, type UserBlock, type UserIdentifier, type UserInput, type UserNote, type UserRole, type UserStatistic } from '../model/user.js';
import {
  at,
  invalid,
  isObject,
  readBool,
  readCode,
  readCodes,
  readDate,
  readList,
  readObject,
  readSecret,
  readText,
  type Json,
} from './json-values.js';

/** Fields Alma sets itself: sent back on a PUT after a GET, and ignored there as Alma does. */
export const OUTPUT_ONLY_FIELDS: readonly string[] = ['status_date', 'linking_id', 'source_institution_code', 'source_link_id'];

/** Unknown and output-only fields are ignored, as Alma ignores them. */
export function almaJsonToUserInput(body: unknown): UserInput {
  if (!isObject(body)) throw invalid('user', body, 'expected a user object');
  const input: Record<string, unknown> = {};
  for (const f of SCALAR_FIELDS) {
    if (OUTPUT_ONLY_FIELDS.includes(f.column)) continue;
    const v = body[f.column];
    if (f.kind === 'code') input[f.key] = readCode(v, f.column);
    else if (f.kind === 'date') input[f.key] = readDate(v, f.column);
    else if (f.kind === 'boolean') input[f.key] = readBool(v, f.column);
    else input[f.key] = readText(v, f.column);
  }
  input.password = readSecret(body.password, 'password');
  input.pinNumber = readSecret(body.pin_number, 'pin_number');
  input.forcePasswordChange = readBool(body.force_password_change, 'force_password_change');

  if (body.contact_info !== undefined) input.contactInfo = contactInfoIn(body.contact_info);
  input.identifiers = segmentsIn(body, 'user_identifier', identifierIn);
  input.roles = segmentsIn(body, 'user_role', roleIn);
  input.blocks = segmentsIn(body, 'user_block', blockIn);
  input.notes = segmentsIn(body, 'user_note', noteIn);
  input.statistics = segmentsIn(body, 'user_statistic', statisticIn);
  input.rsLibraries = segmentsIn(body, 'rs_library', (o, p) => code(o, p, 'code') ?? '', { bareCode: true });
  input.libraryNotices = segmentsIn(body, 'library_notice', (o, p) => ({ code: code(o, p, 'code') ?? '', value: bool(o, p, 'value') }));
  // Absent stays absent: on PUT, no user_role means "keep the roles". (Deleted in place: copying
  // an object this size costs more than reading it; SIS loads read every record of a file.)
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  return input as UserInput;
}

/** Absent: undefined. Present: every entry read by `item`, which gets the entry's wire path. */
function segmentsIn<T>(
  container: Json,
  key: string,
  item: (o: Json, path: string) => T,
  opts: { parent?: string; bareCode?: boolean } = {},
): T[] | undefined {
  return readList(container[key])?.map((v, i) => {
    const path = at(at(opts.parent ?? '', key), i);
    // rs_library entries may come as a bare code ("MAIN") rather than {"code": "MAIN"}.
    if (opts.bareCode && typeof v === 'string') return item({ code: v }, path);
    return item(readObject(v, path), path);
  });
}

function contactInfoIn(v: unknown): ContactInfo {
  if (v === null || v === '') return { addresses: [], emails: [], phones: [] };
  const c = readObject(v, 'contact_info');
  return {
    addresses: segmentsIn(c, 'address', addressIn, { parent: 'contact_info' }) ?? [],
    emails: segmentsIn(c, 'email', emailIn, { parent: 'contact_info' }) ?? [],
    phones: segmentsIn(c, 'phone', phoneIn, { parent: 'contact_info' }) ?? [],
  };
}

const text = (o: Json, p: string, key: string): string | null => readText(o[key], at(p, key)) ?? null;
const date = (o: Json, p: string, key: string): string | null => readDate(o[key], at(p, key)) ?? null;
const bool = (o: Json, p: string, key: string): boolean => readBool(o[key], at(p, key)) ?? false;
const code = (o: Json, p: string, key: string): string | null => readCode(o[key], at(p, key)) ?? null;

/** Alma: on an external user an empty or illegal segment_type means External. */
function segmentType(o: Json, p: string): SegmentType {
  return text(o, p, 'segment_type')?.trim().toLowerCase() === 'internal' ? 'Internal' : 'External';
}

/** Alma's rule for role (and identifier, block) status: empty means active, anything else inactive. */
function status(o: Json, p: string, key: string): Status {
  const s = code(o, p, key)?.trim();
  return !s || s.toUpperCase() === 'ACTIVE' ? 'ACTIVE' : 'INACTIVE';
}

function addressIn(o: Json, p: string): Address {
  return {
    line1: text(o, p, 'line1') ?? '',
    line2: text(o, p, 'line2'),
    line3: text(o, p, 'line3'),
    line4: text(o, p, 'line4'),
    line5: text(o, p, 'line5'),
    city: text(o, p, 'city') ?? '',
    stateProvince: text(o, p, 'state_province'),
    postalCode: text(o, p, 'postal_code'),
    country: code(o, p, 'country'),
    addressNote: text(o, p, 'address_note'),
    startDate: date(o, p, 'start_date'),
    endDate: date(o, p, 'end_date'),
    types: readCodes(o.address_type, at(p, 'address_type')),
    preferred: bool(o, p, 'preferred'),
    segmentType: segmentType(o, p),
  };
}

function emailIn(o: Json, p: string): Email {
  return {
    address: text(o, p, 'email_address') ?? '',
    description: text(o, p, 'description'),
    types: readCodes(o.email_type, at(p, 'email_type')),
    preferred: bool(o, p, 'preferred'),
    segmentType: segmentType(o, p),
  };
}

function phoneIn(o: Json, p: string): Phone {
  return {
    number: text(o, p, 'phone_number') ?? '',
    types: readCodes(o.phone_type, at(p, 'phone_type')),
    preferred: bool(o, p, 'preferred'),
    preferredSms: bool(o, p, 'preferred_sms'),
    segmentType: segmentType(o, p),
  };
}

function identifierIn(o: Json, p: string): UserIdentifier {
  return {
    idType: code(o, p, 'id_type') ?? '',
    value: text(o, p, 'value') ?? '',
    note: text(o, p, 'note'),
    status: status(o, p, 'status'),
    segmentType: segmentType(o, p),
  };
}

function roleIn(o: Json, p: string): UserRole {
  return {
    roleType: code(o, p, 'role_type') ?? '',
    scope: code(o, p, 'scope') ?? '',
    status: status(o, p, 'status'),
    expiryDate: date(o, p, 'expiry_date'),
    parameters: segmentsIn(o, 'parameter', parameterIn, { parent: p }) ?? [],
  };
}

function parameterIn(o: Json, p: string): RoleParameter {
  return { type: code(o, p, 'type') ?? '', scope: code(o, p, 'scope'), value: code(o, p, 'value') ?? '' };
}

function blockIn(o: Json, p: string): UserBlock {
  return {
    blockType: code(o, p, 'block_type') ?? '',
    blockDescription: code(o, p, 'block_description') ?? '',
    blockStatus: status(o, p, 'block_status'),
    blockNote: text(o, p, 'block_note'),
    createdBy: text(o, p, 'created_by'),
    createdDate: text(o, p, 'created_date'),
    expiryDate: text(o, p, 'expiry_date'),
    segmentType: segmentType(o, p),
  };
}

function noteIn(o: Json, p: string): UserNote {
  return {
    noteType: code(o, p, 'note_type') ?? '',
    noteText: text(o, p, 'note_text') ?? '',
    userViewable: bool(o, p, 'user_viewable'),
    popupNote: bool(o, p, 'popup_note'),
    createdBy: text(o, p, 'created_by'),
    createdDate: text(o, p, 'created_date'),
    segmentType: segmentType(o, p),
  };
}

function statisticIn(o: Json, p: string): UserStatistic {
  return {
    statisticCategory: code(o, p, 'statistic_category') ?? '',
    statisticNote: text(o, p, 'statistic_note'),
    segmentType: segmentType(o, p),
  };
}
