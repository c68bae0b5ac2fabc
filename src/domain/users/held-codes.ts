// A disabled code-table value (enabled false, code-table-service.ts) stays valid on the users who
// hold it and is refused on new writes: an update that keeps a user's disabled group, or an SIS
// load that sends it again, goes through; giving it to anyone new does not. validate-user.ts
// sees the tables through this view when it validates a change of a stored user.
import { ROLE_TABLE, type CodeTables } from '../../model/code-tables.js';
import { SCALAR_FIELDS, type UserRecordFields } from '../../model/user.js';

const key = (table: string, code: string) => `${table}\u0000${code.toLowerCase()}`;

/** Every (table, code) the user holds, in whichever field. */
function heldCodes(u: UserRecordFields): Set<string> {
  const held = new Set<string>();
  const add = (table: string, code: string | null | undefined) => {
    if (code) held.add(key(table, code));
  };
  for (const f of SCALAR_FIELDS) if (f.kind === 'code' && f.codeTable) add(f.codeTable, u[f.key] as string | null);
  for (const i of u.identifiers) add('UserIdentifierTypes', i.idType);
  for (const r of u.roles) {
    add(ROLE_TABLE, r.roleType);
    add('Libraries', r.scope);
    for (const p of r.parameters) {
      add('RoleParameterTypes', p.type);
      if (p.type === 'CirculationDesk') add('CirculationDesks', p.value);
    }
  }
  for (const b of u.blocks) {
    add('UserBlockTypes', b.blockType);
    add('UserBlockDescription', b.blockDescription);
  }
  for (const n of u.notes) add('NoteTypes', n.noteType);
  for (const s of u.statistics) add('UserStatCategories', s.statisticCategory);
  for (const l of u.rsLibraries) add('Libraries', l);
  for (const n of u.libraryNotices) add('LibraryNoticesOptInDisplay', n.code);
  for (const a of u.contactInfo.addresses) {
    add('CountryCodes', a.country);
    for (const t of a.types) add('UserAddressTypes', t);
  }
  for (const e of u.contactInfo.emails) for (const t of e.types) add('UserEmailTypes', t);
  for (const p of u.contactInfo.phones) for (const t of p.types) add('UserPhoneTypes', t);
  return held;
}

/** The tables as `existing` may use them: its own disabled values count as enabled. */
export function tablesKeepingHeld(tables: CodeTables, existing: UserRecordFields): CodeTables {
  let held: Set<string> | undefined;
  return {
    ...tables,
    get(table, code) {
      const v = tables.get(table, code);
      if (!v || v.enabled) return v;
      // Built only when a disabled value is met: an SIS load validates millions of records.
      held ??= heldCodes(existing);
      return held.has(key(table, code)) ? { ...v, enabled: true } : v;
    },
  };
}
