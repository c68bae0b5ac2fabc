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
 * The console's search as you type (Carrel's `order_by=relevance`, on /api/v1 only): the users
 * whose last name begins with the text first, then every other match, each group in name order;
 * and a total counted up to BEST_MATCH_COUNT_LIMIT. A name order over every match must read every
 * match (34,000 for "ande" at a million users: 60 to 300 ms), where a page of last names that
 * begin with the text is a walk of the name index that stops at the page (issue 10, bench/README.md).
 */
export const BEST_MATCH_ORDER = 'relevance';
export const BEST_MATCH_COUNT_LIMIT = 1000;

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
  /**
   * Best-match order (BEST_MATCH_ORDER): the text, lower-cased, whose last-name prefix ranks first;
   * null when the search has no single ALL or last_name term to rank by (name order then).
   */
  bestMatch?: string | null;
  /** Count the matches up to this many and say "at least" beyond (best-match order only). */
  countUpTo?: number;
  limit: number;
  offset: number;
}
