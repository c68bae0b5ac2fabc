// Networks (consortia), their network zone and member institutions, and the settings that shape
// the user rules of each, with their defaults.
import type { RecordType } from './user.js';

export interface InstitutionSettings {
  /** A primary id must match this (anchored) when set, as Alma's primary_identifier_regex. */
  primaryIdentifierRegex: string | null;
  /** The identifier type every new user of a record type must carry, if any. */
  mandatoryIdentifier: Partial<Record<RecordType, string>>;
  /** Shown where one identifier stands for the user (hold shelf slips, the console header). */
  preferredIdentifier: string | null;
  /** EXTERNAL users may also hold a local password (try the IdP, then the password). */
  externalPasswordFallback: boolean;
  /** Password policy: Alma's baseline (8 characters, no identifier or name, not a common password) plus these. */
  passwordMinLength: number;
  passwordRequiredClasses: PasswordCharacterClass[];
  /**
   * Alma's 15 failures, then 30 minutes: failed sign-ins from one source (an address, or an API key)
   * before that source is refused for an account, and for how long; twice loginMaxFailures is the
   * account's burst across sources, then one guess per loginLockMinutes (identity/throttle.ts).
   */
  loginMaxFailures: number;
  loginLockMinutes: number;
  /**
   * How a user of a record type gets its mandatory identifier when created without one, and what
   * desk registration hands out (src/domain/users/identifier-generation.ts). Absent: none generated.
   */
  identifierGeneration: Partial<Record<RecordType, IdentifierGenerationRule>>;
}

/** A library card number: prefix, a per-institution sequence zero-padded, then a check digit. */
export interface IdentifierGenerationRule {
  /** A value of the UserIdentifierTypes code table (or PRIMARY_ID for the primary id). */
  identifierType: string;
  prefix: string;
  /** Digits of the sequence number (zero-padded), 1 to 18. */
  padding: number;
  checkDigit: CheckDigitScheme;
}

export type CheckDigitScheme = 'none' | 'luhn' | 'mod10';

export type PasswordCharacterClass = 'lower' | 'upper' | 'digit' | 'symbol';

export interface NetworkSettings {
  /** Primary ids and identifiers unique across every institution of the network. */
  uniqueIdsAcrossNetwork: boolean;
  /** Named users the consortium's licence allows; null when not tracked. */
  namedUserLicense: number | null;
  /** Who is e-mailed each time a break-glass account signs in (the consortium office). */
  breakGlassNotify: string[];
  /** Named users: warn from this share of the licence (percent, 1 to 100). */
  namedUserWarnPercent: number;
  /** At the licence: only warn, or refuse new named users (a role with a named-user type). */
  namedUserAtLimit: 'warn' | 'refuse';
  /** Who is e-mailed when the count crosses the warning line or reaches the licence. */
  namedUserNotify: string[];
}

export interface Network {
  id: string;
  code: string;
  name: string;
  settings: NetworkSettings;
}

export interface Institution {
  id: string;
  code: string;
  name: string;
  networkId: string | null;
  isNetworkZone: boolean;
  settings: InstitutionSettings;
}

export const DEFAULT_INSTITUTION_SETTINGS: InstitutionSettings = Object.freeze({
  primaryIdentifierRegex: null,
  mandatoryIdentifier: {},
  preferredIdentifier: null,
  externalPasswordFallback: false,
  passwordMinLength: 8,
  passwordRequiredClasses: [],
  loginMaxFailures: 15,
  loginLockMinutes: 30,
  identifierGeneration: {},
});

export const DEFAULT_NETWORK_SETTINGS: NetworkSettings = Object.freeze({
  uniqueIdsAcrossNetwork: false,
  namedUserLicense: null,
  breakGlassNotify: [],
  namedUserWarnPercent: 90,
  namedUserAtLimit: 'warn',
  namedUserNotify: [],
});

/**
 * The settings in force: the defaults, overlaid by what was stored. The one place a stored
 * settings object (which may predate a setting) becomes whole settings.
 */
export function institutionSettings(stored: unknown): InstitutionSettings {
  return { ...DEFAULT_INSTITUTION_SETTINGS, ...(stored as Partial<InstitutionSettings> | null) };
}

export function networkSettings(stored: unknown): NetworkSettings {
  return { ...DEFAULT_NETWORK_SETTINGS, ...(stored as Partial<NetworkSettings> | null) };
}

/** Institution codes follow Alma's shape (01UNI_INST): letters, digits, underscore. */
export const INSTITUTION_CODE = /^[A-Za-z0-9_]{2,64}$/;
