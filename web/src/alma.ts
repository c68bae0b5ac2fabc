// The Alma user JSON the console reads and writes (the same format as /almaws/v1; src/alma on
// the server is its one definition). Only what the pages touch is typed; the rest of a record
// read is sent back untouched on save.

export interface Code {
  value: string;
  desc?: string;
}

export interface AlmaIdentifier {
  id_type: Code;
  value: string;
  note?: string | null;
  status?: string;
  segment_type?: string;
}

export interface AlmaRole {
  role_type: Code;
  scope: Code;
  status: Code;
  expiry_date?: string | null;
  parameter?: { type: Code; scope?: Code | null; value: Code }[];
}

export interface AlmaEmail {
  email_address: string;
  description?: string | null;
  email_type: Code[];
  preferred: boolean;
  segment_type?: string;
}

export interface AlmaPhone {
  phone_number: string;
  phone_type: Code[];
  preferred: boolean;
  segment_type?: string;
}

export interface AlmaAddress {
  line1?: string | null;
  city?: string | null;
  postal_code?: string | null;
  country?: Code | null;
  address_type: Code[];
  preferred: boolean;
}

export interface AlmaNote {
  note_type: Code;
  note_text: string;
  user_viewable?: boolean;
  popup_note?: boolean;
  created_by?: string | null;
  created_date?: string | null;
  segment_type?: string;
}

export interface AlmaBlock {
  block_type: Code;
  block_description: Code;
  block_status: string;
  block_note?: string | null;
  expiry_date?: string | null;
  created_date?: string | null;
}

export interface AlmaStatistic {
  statistic_category: Code;
  statistic_note?: string | null;
  segment_type?: string;
}

export interface AlmaUser {
  record_type: Code;
  primary_id: string;
  first_name: string;
  middle_name?: string;
  last_name: string;
  full_name?: string;
  user_title?: Code | null;
  job_category?: Code | null;
  job_description?: string;
  user_group?: Code | null;
  gender?: Code | null;
  campus_code?: Code | null;
  preferred_language?: Code | null;
  birth_date?: string | null;
  expiry_date?: string | null;
  purge_date?: string | null;
  account_type: Code;
  external_id?: string | null;
  status: Code;
  status_date?: string | null;
  contact_info?: { address?: AlmaAddress[]; email?: AlmaEmail[]; phone?: AlmaPhone[] };
  user_identifier?: AlmaIdentifier[];
  user_role?: AlmaRole[];
  user_block?: AlmaBlock[];
  user_note?: AlmaNote[];
  user_statistic?: AlmaStatistic[];
  [more: string]: unknown;
}

export interface BriefUser {
  primary_id: string;
  first_name?: string;
  last_name?: string;
  full_name?: string;
  record_type?: Code;
  account_type?: Code;
  status?: Code;
  user_group?: Code;
  expiry_date?: string | null;
}

export interface UserList {
  total_record_count: number;
  /** Present when the total was counted up to a limit (order_by=relevance): false means more. */
  total_record_count_exact?: boolean;
  user?: BriefUser[];
}

/** "2027-08-31Z" (Alma's date) as 2027-08-31, for a date input and for display. */
export function day(v: string | null | undefined): string {
  return v ? v.slice(0, 10) : '';
}

export function codeText(c: Code | null | undefined): string {
  if (!c?.value) return '';
  return c.desc && c.desc !== c.value ? `${c.desc} (${c.value})` : c.value;
}

export function nameOf(u: { first_name?: string; last_name?: string; full_name?: string; primary_id: string }): string {
  return u.full_name?.trim() || [u.first_name, u.last_name].filter(Boolean).join(' ') || u.primary_id;
}
