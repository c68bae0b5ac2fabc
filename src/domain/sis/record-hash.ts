// The fingerprint of "this record under these rules": if a load sees the same hash on a user
// that nobody changed since the last load wrote it (version = sis_version), merging would give
// the stored record again, so the user is unchanged without being read. Everything the merge
// depends on besides the stored user goes in: the profile (and whether it keeps API keys' manual
// edits), what the file format owns, the code
// tables (values, enabled, managed by SIS) and the institution's settings.
import { createHash } from 'node:crypto';
import type { SisRules } from './merge.js';

const sorted = (s: ReadonlySet<string> | 'all') => (s === 'all' ? 'all' : [...s].sort());

export function rulesFingerprint(rules: SisRules): string {
  const { profile, tables, owned, institution } = rules;
  const codes = tables.names().flatMap((t) => tables.list(t).map((v) => [t, v.code, v.enabled, v.attributes]));
  return createHash('sha256')
    .update(JSON.stringify({
      v: 1,
      profile: [profile.code, profile.recordType, profile.matchBy, profile.mode],
      owned: [sorted(owned.scalars), sorted(owned.segments)],
      codes,
      settings: institution.settings,
      // Only when off, so the hashes of every other profile stay those stored before this setting.
      ...(profile.settings?.apiKeyEditsAreManual === false ? { apiKeyEditsAreManual: false } : {}),
    }))
    .digest('base64url');
}

/** Of the record as the file wrote it (its raw text): the same bytes under the same rules merge the same. */
export function recordHash(fingerprint: string, raw: string): string {
  return createHash('sha256').update(fingerprint).update(raw).digest('base64url').slice(0, 32);
}
