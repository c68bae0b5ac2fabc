// Alma's brief search as parsed (src/domain/users/brief-search.ts) and run as SQL
// (src/db/queries/users.ts).

/** The largest offset a search takes (PostgreSQL's integer; no list is longer). */
export const MAX_SEARCH_OFFSET = 2_147_483_647;

export const SEARCH_FIELDS = [
  'primary_id',
  'first_name',
  'last_name',
  'middle_name',
  'email',
  'phone_number',
  'job_category',
  'identifiers',
  'birth_date',
  'user_group',
  'campus_code',
  'block_type',
  'id_type',
  'note_text',
  'note_type',
  'statistic_category',
  'general_info',
  'ALL',
] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];

export interface SearchTerm {
  field: SearchField;
  value: string;
}

export const ORDER_FIELDS = ['last_name', 'first_name', 'primary_id'] as const;
export type OrderField = (typeof ORDER_FIELDS)[number];

/**
 * Exact-match filters beyond Alma's q (Carrel's /api/v1/users, for the console's filters):
 * a column of the user equals the value.
 */
export const FILTER_FIELDS = { record_type: 'record_type', account_type: 'account_type', status: 'status', user_group: 'user_group' } as const;
export type FilterField = keyof typeof FILTER_FIELDS;

export interface BriefSearch {
  terms: SearchTerm[];
  filters?: Partial<Record<FilterField, string>>;
  modifiedSince: string | null;
  orderBy: OrderField[];
  limit: number;
  offset: number;
}
