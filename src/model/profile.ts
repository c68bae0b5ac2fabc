// An integration profile: one campus feed loading one record type into one institution, as
// Alma's "Users" integration profile. Its code is the external_id of every user it loads.
// Validating one is the domain's (src/domain/sis/profile.ts).
import type { RecordType } from './user.js';

/** A CSV profile's column mapping, header → field path (null: ignored); see src/domain/sis/csv-mapping.ts. */
export type CsvMapping = Record<string, string | null>;

export const SIS_MODES = ['import', 'synchronize'] as const;
export const SIS_FORMATS = ['alma_xml', 'csv', 'jsonl'] as const;
export type SisMode = (typeof SIS_MODES)[number];
export type SisFormat = (typeof SIS_FORMATS)[number];

export interface ProfileSettings {
  /** A dropped file is taken only once it has not changed for this long (an upload in progress). */
  settleSeconds?: number;
  /**
   * Whether this profile's loads keep a protected field an API key edited, as they keep a staff
   * member's edit (absent: true). Off: a load sets such a field from its file and drops the mark.
   * Decided at load time on each mark's origin (src/domain/users/manual-edit-rules.ts).
   */
  apiKeyEditsAreManual?: boolean;
}

export interface IntegrationProfile {
  id: string;
  institutionId: string;
  code: string;
  name: string;
  recordType: RecordType;
  /** 'primary_id' or an identifier type code (its stored spelling). */
  matchBy: string;
  mode: SisMode;
  format: SisFormat;
  csvMapping: CsvMapping | null;
  dropFolder: string | null;
  pollSeconds: number;
  /** After a full file with no failed record, deactivate this profile's users it did not name. */
  deactivateMissing: boolean;
  settings: ProfileSettings;
  createdAt: Date;
  updatedAt: Date;
}

export type ProfileFields = Omit<IntegrationProfile, 'id' | 'institutionId' | 'createdAt' | 'updatedAt'>;

/** What a client sends; every field optional so one shape serves create and patch. */
export interface ProfileInput {
  code?: unknown;
  name?: unknown;
  recordType?: unknown;
  matchBy?: unknown;
  mode?: unknown;
  format?: unknown;
  csvMapping?: unknown;
  dropFolder?: unknown;
  pollSeconds?: unknown;
  deactivateMissing?: unknown;
  settings?: unknown;
}

/** Profile codes become external_id values, so they keep to a safe, short alphabet. */
export const PROFILE_CODE = /^[A-Za-z0-9_-]{1,64}$/;
