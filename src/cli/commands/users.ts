// `carrel users ...`: bulk operations on users from the command line.
//   users import-hashes FILE --institution CODE [--force-change]
// FILE is CSV `identifier,hash` (a header line `identifier,hash` is skipped). Each line is its own
// import: a refused line (unknown user, unknown hash format) is reported with its line number and
// the others still go in. Exit code 1 when any line was refused.
// Also the identity options of `institution settings` (identitySettingsPatch).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import type { Actor } from '../../domain/access/actor.js';
import type { InstitutionSettings, PasswordCharacterClass } from '../../model/institution.js';
import { RECORD_TYPES } from '../../model/user.js';
import { AppError } from '../../errors.js';
import { withApp } from '../context.js';

const CLI_ACTOR: Actor = { kind: 'system', label: 'cli users import-hashes' };

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

export function usersCommand(program: Command): void {
  const users = program.command('users').description('bulk operations on users');
  users
    .command('import-hashes <file>')
    .description('import password hashes from another system (CSV identifier,hash); verified and re-hashed at first login')
    .requiredOption('--institution <code>', 'institution of the users')
    .option('--force-change', 'users must choose a new password at their next login')
    .action(async (file: string, opts: { institution: string; forceChange?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const institution = await app.services.institutions.byCode(opts.institution);
        const rows = parse(readFileSync(file, 'utf8'), { info: true, skip_empty_lines: true, trim: true, relax_column_count: true }) as unknown as CsvRecord[];
        let imported = 0;
        let refused = 0;
        for (const { record, info } of rows) {
          const [identifier = '', hash = ''] = record;
          if (info.lines === 1 && identifier.toLowerCase() === 'identifier') continue;
          try {
            if (record.length !== 2 || !identifier || !hash) throw new Error('expected two fields: identifier,hash');
            await app.services.identity.importPasswordHash(CLI_ACTOR, institution.id, identifier, {
              hash,
              forceChange: opts.forceChange === true,
            });
            imported += 1;
          } catch (err) {
            if (!(err instanceof AppError) && !(err instanceof Error && err.message.startsWith('expected'))) throw err;
            refused += 1;
            // The message names the identifier and the problem, never the hash.
            console.error(`line ${info.lines} (${identifier.slice(0, 80)}): ${err.message}`);
          }
        }
        console.log(`imported ${imported}, refused ${refused}`);
        if (refused > 0) process.exitCode = 1;
      }),
    );
}

const CLASSES = ['lower', 'upper', 'digit', 'symbol'] as const;

function intOption(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** The identity settings of `institution settings` (password policy, lockout, fallback password). */
export function identitySettingsPatch(opts: Record<string, string | string[] | undefined>): Partial<InstitutionSettings> {
  const patch: Partial<InstitutionSettings> = {};
  if (typeof opts.externalPasswordFallback === 'string') patch.externalPasswordFallback = opts.externalPasswordFallback === 'true';
  if (typeof opts.passwordMinLength === 'string') patch.passwordMinLength = intOption('password-min-length', opts.passwordMinLength, 8, 256);
  if (typeof opts.loginMaxFailures === 'string') patch.loginMaxFailures = intOption('login-max-failures', opts.loginMaxFailures, 1, 1000);
  if (typeof opts.loginLockMinutes === 'string') patch.loginLockMinutes = intOption('login-lock-minutes', opts.loginLockMinutes, 1, 10_080);
  if (typeof opts.passwordClasses === 'string') {
    const classes = opts.passwordClasses.split(',').map((c) => c.trim()).filter(Boolean);
    const unknown = classes.filter((c) => !(CLASSES as readonly string[]).includes(c));
    if (unknown.length) throw new Error(`--password-classes takes ${CLASSES.join(', ')}; not ${unknown.join(', ')}`);
    patch.passwordRequiredClasses = classes as PasswordCharacterClass[];
  }
  return patch;
}

/**
 * `--generate-identifier RECORD_TYPE=TYPE:PREFIX:PADDING:CHECK` over the rules in force (the
 * prefix may hold colons: the type is the first part, padding and check the last two);
 * `RECORD_TYPE=` drops the record type's rule. The settings API checks the rules further.
 */
export function generationRules(
  current: InstitutionSettings['identifierGeneration'],
  pairs: string[],
): InstitutionSettings['identifierGeneration'] {
  const rules = { ...current };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const recordType = (at < 0 ? pair : pair.slice(0, at)).trim().toUpperCase() as keyof typeof rules;
    if (!(RECORD_TYPES as readonly string[]).includes(recordType)) {
      throw new AppError('INVALID_VALUE', { field: 'generate-identifier', value: pair, reason: `${RECORD_TYPES.join(', ')} are the record types` });
    }
    const spec = at < 0 ? '' : pair.slice(at + 1);
    if (!spec) {
      delete rules[recordType];
      continue;
    }
    const parts = spec.split(':');
    const bad = (reason: string) => new AppError('INVALID_VALUE', { field: 'generate-identifier', value: pair, reason });
    if (parts.length < 4) throw bad('expected RECORD_TYPE=TYPE:PREFIX:PADDING:CHECK');
    const checkDigit = parts.at(-1)!;
    const padding = Number(parts.at(-2));
    if (!Number.isInteger(padding) || padding < 1 || padding > 18) throw bad('padding is 1 to 18 digits');
    if (checkDigit !== 'none' && checkDigit !== 'luhn' && checkDigit !== 'mod10') throw bad('check is none, luhn or mod10');
    const identifierType = parts[0]!.trim();
    if (!identifierType) throw bad('the identifier type is missing');
    rules[recordType] = { identifierType, prefix: parts.slice(1, -2).join(':'), padding, checkDigit };
  }
  return rules;
}
