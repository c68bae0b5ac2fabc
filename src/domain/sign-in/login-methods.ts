// Use cases on an institution's login methods: list, show, create, update, delete (permission
// config:manage, General System Administrator), each change audited. A method's settings are
// checked by its module's schema and check(); secrets among them are stored and never returned
// (shown as "set"); an update that does not give a secret keeps the stored one.
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import {
  deleteLoginMethod,
  findLoginMethodByCode,
  insertLoginMethod,
  listLoginMethods,
  updateLoginMethod,
  type LoginMethodFields,
} from '../../db/queries/login-methods.js';
import { AppError } from '../../errors.js';
import { isUniqueViolation } from '../../model/db-errors.js';
import {
  LOGIN_METHOD_CODE,
  LOGIN_METHOD_TYPES,
  MATCH_PRIMARY_ID,
  type JitProvisioning,
  type LoginMethod,
  type LoginMethodType,
} from '../../model/login-method.js';
import { RECORD_TYPES, type RecordType } from '../../model/user.js';
import { authorize, type Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import type { CodeTables } from '../../model/code-tables.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import { schemaProblem } from '../schema-problem.js';
import type { MethodModule } from './method.js';
import { methodModules } from './methods/index.js';
import { federationStatusOf, type FederationStatus } from './methods/saml/federation.js';
import { methodUrls, type MethodUrls } from './urls.js';

/** What a caller sends (CLI options, API body); on update only the fields given change. */
export interface LoginMethodInput {
  code?: unknown;
  type?: unknown;
  label?: unknown;
  match?: unknown;
  /** An object, or JSON text of one. */
  config?: unknown;
  /** {recordType, userGroup} (or record_type, user_group), or null to turn just-in-time creation off. */
  jit?: unknown;
  enabled?: unknown;
  position?: unknown;
}

/** A method as it leaves Carrel: secrets shown as "set", and the URLs campus IT registers. */
export interface LoginMethodView extends Omit<LoginMethod, 'id' | 'institutionId'> {
  urls: MethodUrls;
  /** A SAML method trusting a federation aggregate: whether it is loaded, until when, the next refresh, the last failure. */
  federation?: FederationStatus;
}

/** The word a stored secret is shown as (and, given back on update, means "keep it"). */
export const SECRET_SET = 'set';

const invalid = (reason: string) => new AppError('LOGIN_METHOD_INVALID', { reason });

export function moduleFor(type: string): MethodModule {
  const mod = methodModules.get(type as LoginMethodType);
  if (!mod) {
    if (!(LOGIN_METHOD_TYPES as readonly string[]).includes(type)) {
      throw invalid(`type must be one of ${LOGIN_METHOD_TYPES.join(', ')}`);
    }
    throw new AppError('LOGIN_METHOD_TYPE_UNAVAILABLE', { type });
  }
  return mod;
}

/** The stored settings with each secret that has a value replaced by "set". */
export function redactConfig(mod: MethodModule | undefined, config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const key of mod?.secrets ?? []) if (out[key] !== undefined && out[key] !== null && out[key] !== '') out[key] = SECRET_SET;
  return out;
}

function parseConfig(raw: unknown): Record<string, unknown> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw invalid('config is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('config must be a JSON object');
  return value as Record<string, unknown>;
}

/** Checks settings against the module; a stored config that no longer fits gives the reason. */
export function configProblem(mod: MethodModule, config: Record<string, unknown>): string | undefined {
  const problem = schemaProblem(mod.config, config);
  if (problem) return `config ${problem}`;
  try {
    mod.check?.(config);
  } catch (err) {
    if (err instanceof AppError) return err.code === 'LOGIN_METHOD_INVALID' ? String(err.params.reason ?? err.message) : err.message;
    throw err;
  }
  return undefined;
}

export interface LoginMethodServiceDeps {
  db: Db;
  codeTables: CodeTableCache;
  publicUrl: string;
  clock?: () => Date;
  /** After a change is committed: the sign-in service forgets the institution's methods it keeps. */
  changed?: (institutionId: string) => void;
}

export function createLoginMethodService({ db, codeTables, publicUrl, clock = () => new Date(), changed = () => undefined }: LoginMethodServiceDeps) {
  async function byCode(q: Queryable, institutionId: string, code: string): Promise<LoginMethod> {
    const method = typeof code === 'string' && code.length <= 40 ? await findLoginMethodByCode(q, institutionId, code) : undefined;
    if (!method) throw new AppError('LOGIN_METHOD_NOT_FOUND', { code: String(code).slice(0, 40) });
    return method;
  }

  async function institutionCode(institutionId: string): Promise<string> {
    return (await codeTables.forInstitution(institutionId)).institution.code;
  }

  async function view(m: LoginMethod): Promise<LoginMethodView> {
    const { id: _id, institutionId, ...rest } = m;
    const federated = m.type === 'saml' && typeof m.config.federation_metadata_url === 'string';
    return {
      ...rest,
      config: redactConfig(methodModules.get(m.type), m.config),
      urls: methodUrls(publicUrl, await institutionCode(institutionId), m.code),
      ...(federated ? { federation: await federationStatusOf(db, m.id, m.config, clock()) } : {}),
    };
  }

  function jitOf(raw: unknown, tables: CodeTables): JitProvisioning | null {
    if (raw === null || raw === false) return null;
    if (typeof raw === 'string') return jitOf(parseConfig(raw), tables);
    if (typeof raw !== 'object' || raw === undefined) throw invalid('jit must be an object {"recordType", "userGroup"} or null');
    const o = raw as Record<string, unknown>;
    const recordType = String(o.recordType ?? o.record_type ?? 'PUBLIC').toUpperCase();
    if (!(RECORD_TYPES as readonly string[]).includes(recordType)) throw invalid(`jit record type must be one of ${RECORD_TYPES.join(', ')}`);
    const groupRaw = o.userGroup ?? o.user_group ?? null;
    let userGroup: string | null = null;
    if (groupRaw !== null && groupRaw !== '') {
      const group = tables.get('UserGroups', String(groupRaw));
      if (!group) throw invalid(`jit user group ${String(groupRaw).slice(0, 60)} is not one of the institution's user groups`);
      userGroup = group.code;
    }
    return { recordType: recordType as RecordType, userGroup };
  }

  function matchOf(raw: unknown, tables: CodeTables): string {
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (!value) throw invalid('match is required: primary_id or an identifier type code');
    if (value.toLowerCase() === MATCH_PRIMARY_ID) return MATCH_PRIMARY_ID;
    const type = tables.get('UserIdentifierTypes', value);
    if (!type) throw invalid(`match ${value.slice(0, 60)} is neither primary_id nor an identifier type of the institution`);
    return type.code;
  }

  /**
   * The complete fields from a create (base undefined) or an update over `base`. The code tables
   * are read before any transaction: PGlite has one connection, which the transaction holds.
   */
  function fieldsOf(tables: CodeTables, input: LoginMethodInput, base?: LoginMethod): LoginMethodFields {
    const code = input.code === undefined ? base?.code : input.code;
    if (typeof code !== 'string' || !LOGIN_METHOD_CODE.test(code)) {
      throw invalid('code must be 1 to 40 lower-case letters, digits, - or _, starting with a letter or digit');
    }
    const type = input.type === undefined ? base?.type : input.type;
    if (typeof type !== 'string') throw invalid('type is required');
    if (base && type !== base.type) throw invalid('the type of a method cannot change; create a new method');
    const mod = moduleFor(type);
    let config: Record<string, unknown> = input.config === undefined ? { ...(base?.config ?? {}) } : parseConfig(input.config);
    if (base && input.config !== undefined) {
      // A secret not given (or given back as "set") keeps its stored value.
      for (const key of mod.secrets) {
        if ((config[key] === undefined || config[key] === SECRET_SET) && base.config[key] !== undefined) config = { ...config, [key]: base.config[key] };
      }
    }
    for (const key of mod.secrets) if (config[key] === SECRET_SET) throw invalid(`config ${key}: give the secret itself`);
    const problem = configProblem(mod, config);
    if (problem) throw invalid(problem);
    const label = input.label === undefined ? (base?.label ?? code) : input.label;
    if (typeof label !== 'string' || !label.trim() || label.length > 200) throw invalid('label must be 1 to 200 characters');
    const enabled = input.enabled === undefined ? (base?.enabled ?? true) : input.enabled;
    if (typeof enabled !== 'boolean') throw invalid('enabled must be true or false');
    const position = input.position === undefined ? (base?.position ?? 0) : Number(input.position);
    if (!Number.isInteger(position) || Math.abs(position) > 10_000) throw invalid('position must be a whole number');
    // A type fixed to one identifier type (social: GOOGLE_ID …) takes that match or none given.
    const matchInput = mod.match && input.match === undefined && !base ? mod.match : input.match;
    const match = matchInput === undefined && base ? base.match : matchOf(matchInput, tables);
    if (mod.match && match !== mod.match) throw invalid(`a ${type} method matches ${mod.match} only`);
    return {
      code,
      type: type as LoginMethodType,
      label: label.trim(),
      match,
      config,
      jit: input.jit === undefined ? (base?.jit ?? null) : jitOf(input.jit, tables),
      enabled,
      position,
    };
  }

  async function audit(tx: Queryable, actor: Actor, action: string, m: LoginMethod, before?: LoginMethod) {
    const shown = (x: LoginMethod | undefined) =>
      x && { ...x, config: redactConfig(methodModules.get(x.type), x.config), id: undefined, institutionId: undefined, createdAt: undefined, updatedAt: undefined };
    const b = shown(before) as Record<string, unknown> | undefined;
    const a = (action === 'login_method.delete' ? undefined : shown(m)) as Record<string, unknown> | undefined;
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    for (const key of ['code', 'type', 'label', 'match', 'config', 'jit', 'enabled', 'position']) {
      const bv = b?.[key] ?? null;
      const av = a?.[key] ?? null;
      if (JSON.stringify(bv) !== JSON.stringify(av)) changes[key] = { before: bv, after: av };
    }
    // A changed secret shows as "set" on both sides: say that it changed, never what it is.
    const secretsChanged = before && action === 'login_method.update'
      ? (methodModules.get(m.type)?.secrets ?? []).filter((k) => JSON.stringify(before.config[k]) !== JSON.stringify(m.config[k]))
      : [];
    await insertAuditEvent(tx, {
      institutionId: m.institutionId,
      ...auditActor(actor),
      action,
      entityType: 'login_method',
      entityId: m.id,
      entityLabel: m.code,
      changes,
      context: secretsChanged.length ? { secretsChanged } : {},
    });
  }

  async function unique<T>(code: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('LOGIN_METHOD_EXISTS', { code });
      throw err;
    }
  }

  return {
    async list(actor: Actor, institutionId: string): Promise<LoginMethodView[]> {
      authorize(actor, 'config:manage', institutionId);
      return Promise.all((await listLoginMethods(db, institutionId)).map(view));
    },

    async show(actor: Actor, institutionId: string, code: string): Promise<LoginMethodView> {
      authorize(actor, 'config:manage', institutionId);
      return view(await byCode(db, institutionId, code));
    },

    async create(actor: Actor, institutionId: string, input: LoginMethodInput): Promise<LoginMethodView> {
      authorize(actor, 'config:manage', institutionId);
      const fields = fieldsOf(await codeTables.forInstitution(institutionId), input);
      const created = await unique(fields.code, () =>
        db.transaction(async (tx) => {
          const m = await insertLoginMethod(tx, institutionId, fields);
          await audit(tx, actor, 'login_method.create', m);
          return m;
        }),
      );
      changed(institutionId);
      return view(created);
    },

    async update(actor: Actor, institutionId: string, code: string, input: LoginMethodInput): Promise<LoginMethodView> {
      authorize(actor, 'config:manage', institutionId);
      const tables = await codeTables.forInstitution(institutionId);
      const updated = await unique(String(input.code ?? code), () =>
        db.transaction(async (tx) => {
          const current = await byCode(tx, institutionId, code);
          const fields = fieldsOf(tables, input, current);
          const m = await updateLoginMethod(tx, current.id, fields);
          await audit(tx, actor, 'login_method.update', m, current);
          return m;
        }),
      );
      changed(institutionId);
      return view(updated);
    },

    async remove(actor: Actor, institutionId: string, code: string): Promise<void> {
      authorize(actor, 'config:manage', institutionId);
      await db.transaction(async (tx) => {
        const current = await byCode(tx, institutionId, code);
        await deleteLoginMethod(tx, current.id);
        await audit(tx, actor, 'login_method.delete', current, current);
      });
      changed(institutionId);
    },
  };
}

export type LoginMethodService = ReturnType<typeof createLoginMethodService>;
