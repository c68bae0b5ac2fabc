// Validating an integration profile (its shape: src/model/profile.ts).
import { AppError, assertThat } from '../../errors.js';
import type { CodeTables } from '../../model/code-tables.js';
import { RECORD_TYPES, type RecordType } from '../../model/user.js';
import { mappedIdentifierTypes, parseCsvMapping } from './csv-mapping.js';
import { PROFILE_CODE, SIS_FORMATS, SIS_MODES, type ProfileFields, type ProfileInput, type ProfileSettings } from '../../model/profile.js';

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  const s = typeof v === 'string' ? v.trim() : '';
  const found = allowed.find((a) => a.toLowerCase() === s.toLowerCase());
  if (!found) throw new AppError('INVALID_VALUE', { field, value: String(v ?? ''), reason: `use one of ${allowed.join(', ')}` });
  return found;
}

const SETTING_KEYS: readonly string[] = ['settleSeconds', 'apiKeyEditsAreManual'] satisfies (keyof ProfileSettings)[];

/** The complete profile from a create (base undefined) or a patch over `base`. */
export function validateProfile(input: ProfileInput, tables: CodeTables, base?: ProfileFields): ProfileFields {
  const pick = <K extends keyof ProfileInput>(k: K, fallback: unknown) => (input[k] === undefined ? fallback : input[k]);
  const code = String(pick('code', base?.code) ?? '').trim();
  assertThat(PROFILE_CODE.test(code), 'INVALID_VALUE', { field: 'code', value: code, reason: 'use 1 to 64 letters, digits, - or _' });
  const recordType = oneOf('record_type', pick('recordType', base?.recordType ?? 'PUBLIC'), RECORD_TYPES);
  const mode = oneOf('mode', pick('mode', base?.mode), SIS_MODES);
  const format = oneOf('format', pick('format', base?.format), SIS_FORMATS);

  const matchRaw = String(pick('matchBy', base?.matchBy ?? 'primary_id') ?? '').trim();
  let matchBy = 'primary_id';
  if (matchRaw.toLowerCase() !== 'primary_id') {
    const type = tables.get('UserIdentifierTypes', matchRaw);
    if (!type) throw new AppError('INVALID_CODE', { field: 'match_by identifier', value: matchRaw });
    matchBy = type.code;
  }

  const mappingRaw = pick('csvMapping', base?.csvMapping ?? null);
  const csvMapping = mappingRaw === null || mappingRaw === undefined ? null : parseCsvMapping(mappingRaw);
  if (format === 'csv') assertThat(csvMapping, 'MANDATORY_FIELD', { field: 'csv_mapping (a CSV profile needs one)' });
  for (const type of csvMapping ? mappedIdentifierTypes(csvMapping) : []) {
    assertThat(tables.get('UserIdentifierTypes', type), 'INVALID_CODE', { field: 'csv_mapping identifier', value: type });
  }

  const dropRaw = pick('dropFolder', base?.dropFolder ?? null);
  const dropFolder = typeof dropRaw === 'string' && dropRaw.trim() ? dropRaw.trim() : null;
  if (dropFolder) {
    assertThat(dropFolder.startsWith('/'), 'INVALID_VALUE', { field: 'drop_folder', value: dropFolder, reason: 'use an absolute path' });
  }
  const poll = Number(pick('pollSeconds', base?.pollSeconds ?? 300));
  assertThat(Number.isInteger(poll) && poll >= 1 && poll <= 86_400, 'INVALID_VALUE', {
    field: 'poll_seconds', value: String(poll), reason: 'use 1 to 86400',
  });
  const deactivate = pick('deactivateMissing', base?.deactivateMissing ?? false);
  assertThat(typeof deactivate === 'boolean', 'INVALID_VALUE', { field: 'deactivate_missing', value: String(deactivate), reason: 'true or false' });

  const settingsRaw = pick('settings', {});
  assertThat(typeof settingsRaw === 'object' && settingsRaw !== null && !Array.isArray(settingsRaw), 'INVALID_VALUE', {
    field: 'settings', value: String(settingsRaw), reason: 'expected an object',
  });
  // A patch names the settings it changes; the others stay (null removes one: its default again).
  const given = settingsRaw as Record<string, unknown>;
  const unknown = Object.keys(given).find((k) => !SETTING_KEYS.includes(k));
  assertThat(!unknown, 'INVALID_VALUE', { field: `settings.${String(unknown).slice(0, 40)}`, value: '', reason: `use ${SETTING_KEYS.join(', ')}` });
  const merged: Record<string, unknown> = { ...base?.settings, ...given };
  const settings: ProfileSettings = {};
  const settle = merged.settleSeconds ?? undefined;
  if (settle !== undefined) {
    assertThat(Number.isInteger(settle) && (settle as number) >= 0 && (settle as number) <= 3600, 'INVALID_VALUE', {
      field: 'settings.settleSeconds', value: String(settle), reason: 'use 0 to 3600',
    });
    settings.settleSeconds = settle as number;
  }
  const apiKeyManual = merged.apiKeyEditsAreManual ?? undefined;
  if (apiKeyManual !== undefined) {
    assertThat(typeof apiKeyManual === 'boolean', 'INVALID_VALUE', {
      field: 'settings.apiKeyEditsAreManual', value: String(apiKeyManual).slice(0, 40), reason: 'true or false',
    });
    settings.apiKeyEditsAreManual = apiKeyManual;
  }

  const nameRaw = pick('name', base?.name ?? '');
  return {
    code,
    name: typeof nameRaw === 'string' ? nameRaw.trim().slice(0, 255) : '',
    recordType: recordType as RecordType,
    matchBy,
    mode,
    format,
    csvMapping,
    dropFolder,
    pollSeconds: poll,
    deactivateMissing: deactivate,
    settings,
  };
}
