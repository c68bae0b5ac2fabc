// Reading and replacing an institution's code tables: Alma's PUT /conf/code-tables/{name} (the
// rows given become the table), with Carrel's facts per row. The rules:
// - The tables whose values Carrel's rules depend on (record types, account types, statuses) are
//   fixed. Roles are Alma's fixed list: their descriptions are the institution's own (rows over
//   the global catalogue, code-tables.ts); their codes and named-user flags (the licence's rule,
//   one for the whole network) are not.
// - A code a user still holds is never removed: the PUT is refused with the number of holders.
//   It can be disabled instead (enabled false): users keep it and show its description, new
//   writes may not set it (validate-user.ts: a disabled value is refused unless the user held it).
// - One audit event per change with the rows that changed; the documents of GET /users show the
//   change at once (the trigger of migration 0006 moves the institution's document generation)
//   and this process's code-table cache is dropped.
import type { Db } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { countCodeHolders, listCodeValues, listRoleTypes, lockCodeTable, replaceCodeValues, type CodeValueWrite } from '../../db/queries/code-tables.js';
import { AppError } from '../../errors.js';
import type { CodeRowInput, CodeTableInput } from '../../alma/code-table.js';
import { ROLE_TABLE, type CodeValue } from '../../model/code-tables.js';
import { unsafeTextReason } from '../../model/safe-text.js';
import { authorize, type Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import type { CodeTableCache } from './code-tables.js';
import { DEFAULT_CODE_TABLES } from './default-code-tables.js';

/** Tables whose values the rules name (validate-user.ts, the SIS): the same everywhere. */
export const FIXED_CODE_TABLES: readonly string[] = ['AddNewUserOptions', 'UserUserType', 'ContentStructureStatus', 'UserRoleStatus'];

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAX_CODE = 64;
const MAX_DESCRIPTION = 255;
const MAX_ROWS = 1000;
// What a person record may carry as identifiers (CONTACT users carry none: validate-user.ts).
const IDENTIFIER_RECORD_TYPES = ['PUBLIC', 'STAFF'];
const TEXT_REFUSED = /[\u0000-\u001f\u007f]/;

export interface CodeTableSummary {
  name: string;
  rows: number;
  editable: boolean;
}

export interface CodeTableView {
  name: string;
  editable: boolean;
  rows: CodeValue[];
}

export function createCodeTableService(deps: { db: Db; codeTables: CodeTableCache }) {
  const { db, codeTables } = deps;

  /** Every table an institution has, also one emptied by a PUT (it must stay addressable). */
  function knownNames(stored: string[]): string[] {
    return [...new Set([...Object.keys(DEFAULT_CODE_TABLES), ROLE_TABLE, ...stored])].sort();
  }

  async function resolve(institutionId: string, name: string) {
    const tables = await codeTables.forInstitution(institutionId);
    const found = knownNames(tables.names()).find((n) => n.toLowerCase() === name.toLowerCase());
    if (!found) throw new AppError('CODE_TABLE_UNKNOWN', { name: name.slice(0, 100) });
    return { tables, name: found };
  }

  const editable = (name: string) => !FIXED_CODE_TABLES.includes(name);

  return {
    async list(actor: Actor, institutionId: string): Promise<CodeTableSummary[]> {
      authorize(actor, 'users:read', institutionId);
      const tables = await codeTables.forInstitution(institutionId);
      return knownNames(tables.names()).map((name) => ({ name, rows: tables.list(name).length, editable: editable(name) }));
    },

    async show(actor: Actor, institutionId: string, name: string): Promise<CodeTableView> {
      authorize(actor, 'users:read', institutionId);
      const { tables, name: table } = await resolve(institutionId, name);
      return { name: table, editable: editable(table), rows: tables.list(table) };
    },

    /** Alma's PUT: the rows given become the table, in their order. */
    async replace(actor: Actor, institutionId: string, name: string, input: CodeTableInput): Promise<CodeTableView> {
      authorize(actor, 'config:manage', institutionId);
      const { tables, name: table } = await resolve(institutionId, name);
      const refuse = (reason: string) => new AppError('CODE_TABLE_INVALID', { name: table, reason });
      if (!editable(table)) throw refuse("its values are fixed: Carrel's rules depend on them");
      if (input.name !== undefined && input.name !== null && input.name !== '' && String(input.name).toLowerCase() !== table.toLowerCase()) {
        throw refuse(`the body names another table (${String(input.name).slice(0, 100)})`);
      }
      if (input.rows.length > MAX_ROWS) throw refuse(`${input.rows.length} rows given, a table holds at most ${MAX_ROWS}`);
      const current = new Map(tables.list(table).map((v) => [v.code.toLowerCase(), v]));
      const rows = input.rows.map((r, i) => rowOf(table, r, i + 1, current, refuse));
      const seen = new Set<string>();
      for (const r of rows) {
        const key = r.code.toLowerCase();
        if (seen.has(key)) throw refuse(`code ${r.code} is given twice (codes are case-insensitive)`);
        seen.add(key);
      }
      if (rows.filter((r) => r.attributes.default === true).length > 1) throw refuse('more than one row is the default');

      const changed = await db.transaction(async (tx) => {
        await lockCodeTable(tx, institutionId, table);
        // What is stored now, under the lock (the cache may be a moment old).
        const stored = new Map<string, CodeValue>();
        if (table === ROLE_TABLE) {
          const roles = await listRoleTypes(tx);
          const missing = roles.find((r) => !seen.has(r.code.toLowerCase()));
          const unknown = rows.find((r) => !roles.some((x) => x.code.toLowerCase() === r.code.toLowerCase()));
          if (unknown) throw refuse(`role codes are Alma's fixed list: ${unknown.code} is not one of them`);
          if (missing) throw refuse(`role codes are Alma's fixed list: ${missing.code} cannot be removed`);
          // The catalogue's spelling and order: a client's order of roles changes nothing shown.
          const rank = new Map(roles.map((x, i) => [x.code.toLowerCase(), i]));
          rows.sort((a, b) => rank.get(a.code.toLowerCase())! - rank.get(b.code.toLowerCase())!);
          for (const r of rows) r.code = roles[rank.get(r.code.toLowerCase())!]!.code;
          for (const v of current.values()) stored.set(v.code.toLowerCase(), v);
        } else {
          for (const v of await listCodeValues(tx, institutionId)) {
            if (v.table_name === table) stored.set(v.code.toLowerCase(), { code: v.code, description: v.description, attributes: v.attributes, enabled: v.enabled });
          }
        }
        const removed = [...stored.values()].filter((v) => !seen.has(v.code.toLowerCase()));
        if (removed.length) {
          const holders = await countCodeHolders(tx, institutionId, table, removed.map((v) => v.code));
          const held = removed.find((v) => (holders.get(v.code.toLowerCase()) ?? 0) > 0);
          if (held) throw new AppError('CODE_IN_USE', { code: held.code, name: table, count: holders.get(held.code.toLowerCase())! });
        }
        const changes = diff(stored, rows);
        if (!Object.keys(changes).length) return false;
        await replaceCodeValues(tx, institutionId, table, rows);
        await insertAuditEvent(tx, {
          institutionId,
          ...auditActor(actor),
          action: 'code_table.update',
          entityType: 'code_table',
          entityId: null,
          entityLabel: table,
          changes,
        });
        return true;
      });
      if (changed) codeTables.invalidate(institutionId);
      const fresh = await codeTables.forInstitution(institutionId);
      return { name: table, editable: true, rows: fresh.list(table) };
    },
  };
}

export type CodeTableService = ReturnType<typeof createCodeTableService>;

/** The audit diff: each code whose row was added, removed or changed, or `(order)` when only the order moved. */
function diff(stored: Map<string, CodeValue>, rows: CodeValueWrite[]): Record<string, { before: unknown; after: unknown }> {
  // Attributes in one key order: jsonb gives them back in its own.
  const shown = (v: CodeValue | CodeValueWrite | undefined) =>
    v && { code: v.code, description: v.description, enabled: v.enabled, ...Object.fromEntries(Object.entries(v.attributes).sort(([a], [b]) => a.localeCompare(b))) };
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  const given = new Map(rows.map((r) => [r.code.toLowerCase(), r]));
  for (const key of new Set([...stored.keys(), ...given.keys()])) {
    const before = shown(stored.get(key)) ?? null;
    const after = shown(given.get(key)) ?? null;
    if (JSON.stringify(before) !== JSON.stringify(after)) changes[(after ?? before)!.code] = { before, after };
  }
  const before = [...stored.values()].map((v) => v.code);
  const after = rows.map((r) => r.code);
  if (!Object.keys(changes).length && JSON.stringify(before) !== JSON.stringify(after)) changes['(order)'] = { before, after };
  return changes;
}

function bool(v: unknown, what: string, refuse: (reason: string) => AppError): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw refuse(`${what} must be true or false`);
}

function str(v: unknown, what: string, refuse: (reason: string) => AppError): string {
  if (typeof v !== 'string') throw refuse(`${what} is ${v === undefined || v === null ? 'missing' : 'not a string'}`);
  const unsafe = unsafeTextReason(v);
  if (unsafe) throw refuse(`${what}: ${unsafe}`);
  return v.normalize('NFC').trim();
}

/** One row checked, with Carrel's facts kept from the stored row when the client left them out. */
function rowOf(table: string, r: CodeRowInput, n: number, current: Map<string, CodeValue>, refuse: (reason: string) => AppError): CodeValueWrite {
  const code = str(r.code, `row ${n}: code`, refuse);
  if (!code) throw refuse(`row ${n}: code is missing`);
  if (code.length > MAX_CODE || !CODE.test(code)) {
    throw refuse(`row ${n}: code ${JSON.stringify(code.slice(0, MAX_CODE))} is not a code (1 to ${MAX_CODE} letters, digits, _ . -, starting with a letter or digit)`);
  }
  const at = `row ${n} (${code})`;
  const description = str(r.description, `${at}: description`, refuse);
  if (!description) throw refuse(`${at}: description is missing`);
  if (description.length > MAX_DESCRIPTION) throw refuse(`${at}: description is longer than ${MAX_DESCRIPTION} characters`);
  if (TEXT_REFUSED.test(description)) throw refuse(`${at}: description has control characters or line breaks`);
  const enabled = bool(r.enabled, `${at}: enabled`, refuse) ?? true;
  const isDefault = bool(r.default, `${at}: default`, refuse) ?? false;
  const before = current.get(code.toLowerCase());
  const attributes: Record<string, unknown> = {};
  if (isDefault) attributes.default = true;

  const only = (member: string, owner: string) => refuse(`${at}: ${member} belongs to ${owner} only`);
  const managedBySis = bool(r.managed_by_sis, `${at}: managed_by_sis`, refuse);
  if (table === 'UserGroups') attributes.managedBySis = managedBySis ?? before?.attributes.managedBySis === true;
  else if (managedBySis !== undefined) throw only('managed_by_sis', 'UserGroups');

  if (table === 'UserIdentifierTypes') attributes.recordTypes = recordTypes(r.record_types, at, refuse) ?? before?.attributes.recordTypes ?? IDENTIFIER_RECORD_TYPES;
  else if (r.record_types !== undefined) throw only('record_types', 'UserIdentifierTypes');

  const namedUser = bool(r.named_user, `${at}: named_user`, refuse);
  if (table === ROLE_TABLE) {
    // Which roles make a named user is the licence's rule, the same in every member of a network
    // (role_type.named_user, counted by named-users.ts): shown, echoed back, never changed here.
    const catalogue = before?.attributes.namedUser === true;
    if (namedUser !== undefined && namedUser !== catalogue) throw refuse(`${at}: named_user is the licence's rule for role ${code} (${catalogue}) and cannot be changed`);
    attributes.namedUser = catalogue;
    if (!enabled) throw refuse(`${at}: roles cannot be disabled`);
  } else if (namedUser !== undefined) throw only('named_user', ROLE_TABLE);
  return { code, description, attributes, enabled };
}

function recordTypes(v: unknown, at: string, refuse: (reason: string) => AppError): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const t of list) {
    const s = typeof t === 'string' ? t.trim().toUpperCase() : '';
    if (!IDENTIFIER_RECORD_TYPES.includes(s)) throw refuse(`${at}: record_types may name ${IDENTIFIER_RECORD_TYPES.join(' and ')} (identifiers are for person records)`);
    if (!out.includes(s)) out.push(s);
  }
  if (!out.length) throw refuse(`${at}: record_types must name at least one record type`);
  return out;
}
