// Alma's brief search: q=field~value[ AND field~value...], limit, offset, order_by.
// Parsing and its rules live here; turning terms into SQL is the query module's business.
import { AppError, assertThat } from '../../errors.js';
import { isCalendarDate } from '../../model/safe-text.js';
import { BEST_MATCH_COUNT_LIMIT, BEST_MATCH_ORDER, FILTER_FIELDS, MAX_SEARCH_OFFSET, ORDER_FIELDS, type FilterField, SEARCH_FIELDS, type BriefSearch, type OrderField, type SearchTerm } from '../../model/brief-search.js';

export interface BriefSearchParams {
  q?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
  order_by?: string | undefined;
  modify_date_from?: string | undefined;
  /** Carrel's exact filters (not Alma's): record_type, account_type, status, user_group. */
  filters?: Partial<Record<FilterField, string | undefined>> | undefined;
  /** Carrel's extensions (the console's mount): order_by=relevance. Alma's mount has none. */
  extended?: boolean | undefined;
}

export function parseBriefSearch(p: BriefSearchParams): BriefSearch {
  const limit = p.limit ?? 10;
  const offset = p.offset ?? 0;
  assertThat(Number.isInteger(limit) && limit >= 0 && limit <= 100, 'INVALID_PARAMETER', { reason: 'limit must be 0 to 100' });
  assertThat(Number.isInteger(offset) && offset >= 0 && offset <= MAX_SEARCH_OFFSET, 'INVALID_PARAMETER', {
    reason: `offset must be 0 to ${MAX_SEARCH_OFFSET}`,
  });

  const terms: SearchTerm[] = [];
  const q = p.q?.trim();
  if (q) {
    for (const part of q.split(/\s+AND\s+/)) {
      const tilde = part.indexOf('~');
      assertThat(tilde > 0, 'INVALID_PARAMETER', { reason: `q term "${part.slice(0, 80)}" is not field~value` });
      const name = part.slice(0, tilde).trim();
      const field = SEARCH_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
      if (!field) throw new AppError('INVALID_PARAMETER', { reason: `q cannot search field "${name.slice(0, 40)}"` });
      const value = part.slice(tilde + 1).trim();
      assertThat(value.length > 0 && value.length <= 255, 'INVALID_PARAMETER', { reason: `q value for ${field} must be 1 to 255 characters` });
      assertThat(!/[\u0000-\u001f]/.test(value), 'INVALID_PARAMETER', { reason: 'q contains control characters' });
      if (field === 'birth_date') {
        assertThat(isCalendarDate(value), 'INVALID_PARAMETER', { reason: 'birth_date must be a date as YYYY-MM-DD' });
      }
      terms.push({ field, value });
    }
  }

  const modifiedSince = p.modify_date_from?.trim() || null;
  if (modifiedSince) {
    assertThat(terms.length === 0, 'INVALID_PARAMETER', { reason: 'modify_date_from cannot be combined with q' });
    assertThat(isCalendarDate(modifiedSince), 'INVALID_PARAMETER', { reason: 'modify_date_from must be a date as yyyy-MM-dd' });
  }

  const filters: Partial<Record<FilterField, string>> = {};
  for (const [name, raw] of Object.entries(p.filters ?? {})) {
    const value = raw?.trim();
    if (!value) continue;
    assertThat(name in FILTER_FIELDS, 'INVALID_PARAMETER', { reason: `cannot filter on ${name.slice(0, 40)}` });
    assertThat(value.length <= 255 && !/[\u0000-\u001f]/.test(value), 'INVALID_PARAMETER', { reason: `${name} must be a code of 1 to 255 characters` });
    filters[name as FilterField] = value;
  }
  const search = { terms, filters, modifiedSince, orderBy: [...ORDER_FIELDS] as OrderField[], limit, offset };

  const wanted = p.order_by?.trim().toLowerCase();
  if (p.extended && wanted === BEST_MATCH_ORDER) {
    // Ranked by the last names that begin with the text of the one name-bearing term (a `*` in
    // it leaves nothing to begin with); any other search keeps name order, counted the same way.
    const one = terms.length === 1 ? terms[0]! : undefined;
    const ranked = one && (one.field === 'ALL' || one.field === 'last_name') && !one.value.includes('*');
    return { ...search, bestMatch: ranked ? one.value.toLowerCase() : null, countUpTo: BEST_MATCH_COUNT_LIMIT };
  }
  if (wanted) {
    const first = ORDER_FIELDS.find((f) => f === wanted);
    const orders = p.extended ? [...ORDER_FIELDS, BEST_MATCH_ORDER] : ORDER_FIELDS;
    if (!first) throw new AppError('INVALID_PARAMETER', { reason: `order_by must be one of ${orders.join(', ')}` });
    // A name sort gets primary_id as the tie-break, as Alma does.
    search.orderBy = first === 'primary_id' ? ['primary_id'] : [first, 'primary_id'];
  }
  return search;
}
