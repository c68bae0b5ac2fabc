// Code tables: the values an institution's fields may take (user groups, identifier types,
// roles ...), as the rules and the Alma format read them. Loading and caching them is the
// domain's (src/domain/institutions/code-tables.ts).

export const ROLE_TABLE = 'HFrUserRoles.roleType';

export interface CodeValue {
  code: string;
  description: string;
  attributes: Record<string, unknown>;
  enabled: boolean;
}

export interface CodeTables {
  /** The institution these tables belong to: scopes name it. */
  institution: { code: string; name: string };
  /**
   * The institution's document generation these tables were read at (migration 0006): a stored
   * user document rendered from them shows what they say only while it is current.
   */
  generation: number;
  /** The value with this code, matched case-insensitively (the stored spelling wins). */
  get(table: string, code: string): CodeValue | undefined;
  list(table: string): CodeValue[];
  names(): string[];
}

export function buildCodeTables(institution: CodeTables['institution'], values: (CodeValue & { table: string })[], generation = 0): CodeTables {
  const byTable = new Map<string, CodeValue[]>();
  const index = new Map<string, CodeValue>();
  for (const v of values) {
    const list = byTable.get(v.table) ?? [];
    list.push(v);
    byTable.set(v.table, list);
    index.set(`${v.table}\u0000${v.code.toLowerCase()}`, v);
  }
  return {
    institution,
    generation,
    get: (table, code) => index.get(`${table}\u0000${code.toLowerCase()}`),
    list: (table) => byTable.get(table) ?? [],
    names: () => [...byTable.keys()].sort(),
  };
}

/** A value a new institution starts with (src/domain/institutions/default-code-tables.ts). */
export interface CodeValueSeed {
  code: string;
  description: string;
  attributes?: Record<string, unknown>;
}
