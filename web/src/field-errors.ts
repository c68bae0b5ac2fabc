// Alma's errors name the field in their message ("Mandatory field is missing: last_name",
// "Given user_role.expiry_date value (x) is invalid: …") or by their code (401852: the user
// group). This turns a refusal of a save into messages at the form's fields: one table, keyed
// by Alma's field names, so a new field needs one line.
import type { AlmaError } from './api';

/** The console's form fields (and sections for segments), by Alma field name or its first part. */
const FIELD_OF: Record<string, string> = {
  primary_id: 'primary_id',
  first_name: 'first_name',
  middle_name: 'middle_name',
  last_name: 'last_name',
  user_group: 'user_group',
  campus_code: 'campus_code',
  job_category: 'job_category',
  user_title: 'user_title',
  preferred_language: 'preferred_language',
  record_type: 'record_type',
  account_type: 'account_type',
  external_id: 'external_id',
  status: 'status',
  expiry_date: 'expiry_date',
  purge_date: 'purge_date',
  birth_date: 'birth_date',
  user_identifier: 'identifiers',
  'user identifier': 'identifiers',
  user_role: 'roles',
  'role type': 'roles',
  'role parameter': 'roles',
  parameter: 'roles',
  scope: 'roles',
  email: 'contact',
  email_type: 'contact',
  phone: 'contact',
  phone_type: 'contact',
  address: 'contact',
  address_type: 'contact',
  country: 'contact',
  gender: 'gender',
  user_statistic: 'statistics',
  statistic_category: 'statistics',
  user_note: 'notes',
  note_type: 'notes',
  user_block: 'blocks',
  block_type: 'blocks',
  block_description: 'blocks',
  password: 'password',
  label: 'label',
};

const BY_CODE: Record<string, string> = {
  '401851': 'identifiers', // an identifier (or primary id) already taken
  '401852': 'user_group',
  '401853': 'external_id',
  '401854': 'external_id',
  '401857': 'account_type',
  '401858': 'external_id',
  '500038': 'password',
};

const PATTERNS = [/Mandatory field is missing: ([\w. ]+?)\.?$/, /^Given ([\w. ]+?) (?:type|value) \(/, /^Too many ([\w. ]+?) entries/];

export function fieldOf(e: AlmaError): string | null {
  // A refused setting names its path as sent (identifier_generation.PUBLIC.padding): the settings
  // pages key their fields by that path.
  if (e.errorCode === 'CARREL_SETTING_INVALID') return /^Setting ([\w.]+) is not valid/.exec(e.errorMessage)?.[1] ?? null;
  if (/of type primary|primary identifier/i.test(e.errorMessage)) return 'primary_id';
  const byCode = BY_CODE[e.errorCode];
  if (byCode) return byCode;
  for (const re of PATTERNS) {
    const name = re.exec(e.errorMessage)?.[1];
    if (!name) continue;
    const field = FIELD_OF[name] ?? FIELD_OF[name.split('.')[0]!];
    if (field) return field;
  }
  return null;
}

/** Errors by form field; those no field claims under '' (shown at the top of the form). */
export function fieldErrors(errors: AlmaError[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const key = fieldOf(e) ?? '';
    out[key] = out[key] ? `${out[key]} ${e.errorMessage}` : e.errorMessage;
  }
  return out;
}
