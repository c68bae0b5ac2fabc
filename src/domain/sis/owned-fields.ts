// Which fields an SIS file may set. Alma tags each field of rest_user.xsd with `sis` or not:
// record type, account type, external id, passwords and roles are not SIS fields (they come
// from the profile or not at all), and the linked-account and status-date fields are Alma's own.
import { SCALAR_FIELDS, type UserScalars } from '../../model/user.js';

const NOT_FROM_SIS: ReadonlySet<keyof UserScalars> = new Set<keyof UserScalars>([
  'recordType',
  'accountType',
  'externalId',
  'statusDate',
  'linkingId',
  'sourceInstitutionCode',
  'sourceLinkId',
  'isResearcher',
]);

export const SIS_SCALAR_KEYS: readonly (keyof UserScalars)[] = SCALAR_FIELDS.map((f) => f.key).filter((k) => !NOT_FROM_SIS.has(k));
export const SIS_SCALAR_COLUMNS: readonly string[] = SCALAR_FIELDS.filter((f) => !NOT_FROM_SIS.has(f.key)).map((f) => f.column);

export function columnToKey(column: string): keyof UserScalars {
  return SCALAR_FIELDS.find((f) => f.column === column)!.key;
}

/** The segment lists an SIS file replaces the external part of. */
export const SIS_SEGMENTS = ['addresses', 'emails', 'phones', 'identifiers', 'blocks', 'notes', 'statistics'] as const;
export type SisSegment = (typeof SIS_SEGMENTS)[number];

/**
 * What one file speaks for. An Alma XML or JSON user is the whole record ("swap all": a field
 * absent from it is cleared); a CSV speaks only for the columns its mapping names.
 */
export interface OwnedFields {
  scalars: ReadonlySet<string> | 'all';
  segments: ReadonlySet<string> | 'all';
}

export const OWNS_ALL: OwnedFields = { scalars: 'all', segments: 'all' };

export const ownsScalar = (o: OwnedFields, key: string) => o.scalars === 'all' || o.scalars.has(key);
export const ownsSegment = (o: OwnedFields, key: string) => o.segments === 'all' || o.segments.has(key);
