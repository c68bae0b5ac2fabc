// Password policy, per institution: Alma's baseline (at least 8 characters, not containing the
// user's identifiers or names, not a commonly used password) plus a configurable minimum length
// and required character classes. Passwords are compared as NFC, so the same password typed on a
// keyboard that composes (é) or decomposes (e + ◌́) is the same password.
import type { InstitutionSettings, PasswordCharacterClass } from '../../model/institution.js';
import type { User } from '../../model/user.js';

/** Longer passwords are refused before any hashing: a megabyte "password" is an attack, not a user. */
export const MAX_PASSWORD_LENGTH = 256;

/** NFC, or undefined when the input is not a usable password at all (too long, not a string). */
export function normalizePassword(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  // Checked on the raw length first so normalization never runs over a huge string.
  if (raw.length > MAX_PASSWORD_LENGTH * 4) return undefined;
  const nfc = raw.normalize('NFC');
  return [...nfc].length > MAX_PASSWORD_LENGTH ? undefined : nfc;
}

const CLASS_TESTS: Record<PasswordCharacterClass, { test: RegExp; name: string }> = {
  lower: { test: /\p{Ll}/u, name: 'a lower-case letter' },
  upper: { test: /\p{Lu}/u, name: 'an upper-case letter' },
  digit: { test: /\p{Nd}/u, name: 'a digit' },
  symbol: { test: /[^\p{L}\p{Nd}]/u, name: 'a character that is neither a letter nor a digit' },
};

// The common-password list of @zxcvbn-ts/language-common (about 49,000 entries, lower case),
// loaded on first use: most processes never check a new password.
let common: Promise<Set<string>> | undefined;
function commonPasswords(): Promise<Set<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common']));
  return common;
}

/** The values a password may not contain: identifiers and names of 3 characters or more. */
function personalValues(user: Pick<User, 'primaryId' | 'identifiers' | 'firstName' | 'middleName' | 'lastName' | 'prefFirstName' | 'prefMiddleName' | 'prefLastName'>): string[] {
  const values = [
    user.primaryId,
    ...user.identifiers.map((i) => i.value),
    user.firstName,
    user.middleName,
    user.lastName,
    user.prefFirstName,
    user.prefMiddleName,
    user.prefLastName,
  ];
  return values.filter((v): v is string => typeof v === 'string' && v.trim().length >= 3).map((v) => v.trim().normalize('NFC').toLowerCase());
}

export type PolicySettings = Pick<InstitutionSettings, 'passwordMinLength' | 'passwordRequiredClasses'>;

const minLength = (settings: PolicySettings) => Math.max(8, settings.passwordMinLength);

/**
 * The institution's rule in words, for a refusal (PASSWORD_POLICY's {policy}) and the login
 * pages' hint: "at least 12 characters long, with an upper-case letter and a digit".
 */
export function policyDescription(settings: PolicySettings): string {
  const classes = (settings.passwordRequiredClasses ?? []).map((c) => CLASS_TESTS[c]?.name).filter(Boolean) as string[];
  const joined = classes.length > 1 ? `${classes.slice(0, -1).join(', ')} and ${classes.at(-1)}` : (classes[0] ?? '');
  return `at least ${minLength(settings)} characters long${joined ? `, with ${joined}` : ''}`;
}

/**
 * Why this (NFC) password may not be used by this user, or undefined when it may. The reason is
 * for the person choosing it; it never quotes the password.
 */
export async function passwordPolicyViolation(
  password: string,
  user: Parameters<typeof personalValues>[0],
  settings: PolicySettings,
): Promise<string | undefined> {
  const length = [...password].length;
  const min = minLength(settings);
  if (length < min) return `It must be at least ${min} characters long.`;
  if (length > MAX_PASSWORD_LENGTH) return `It must be at most ${MAX_PASSWORD_LENGTH} characters long.`;
  for (const cls of settings.passwordRequiredClasses ?? []) {
    const rule = CLASS_TESTS[cls];
    if (rule && !rule.test.test(password)) return `It must contain ${rule.name}.`;
  }
  const lower = password.toLowerCase();
  if (personalValues(user).some((v) => lower.includes(v))) return 'It must not contain your user name, an identifier or your name.';
  if ((await commonPasswords()).has(lower)) return 'It is a commonly used password.';
  return undefined;
}
