// A user's roles: each is a role type (Alma's fixed list, HFrUserRoles.roleType), a scope (the
// institution itself or one of its libraries), a status, an expiry, and Alma's role parameters
// (a circulation desk operator's CirculationDesk, a service unit ...): a parameter type, its
// value (a CirculationDesk names a desk of the CirculationDesks code table) and, optionally, the
// library it applies in.
import { codeText, day, type AlmaRole } from '../alma';
import { codeLabel } from '../codes';
import { useSession } from '../session';
import { almaDate, CellCode, CellInput, code, Segments } from './user-cells';
import type { SectionProps } from './user-sections';

const ROLE_TABLE = 'HFrUserRoles.roleType';

function paramText(r: AlmaRole): string {
  return (r.parameter ?? []).map((p) => `${codeText(p.type)}: ${p.value.desc ?? p.value.value}${p.scope?.value ? ` (${p.scope.value})` : ''}`).join('; ');
}

export function RolesSection({ user, update, errors }: SectionProps) {
  const list = user.user_role ?? [];
  const institution = useSession().institution;
  // The institution as a scope, named as the record names it (its roles' scope descriptions).
  const instName = list.find((r) => r.scope.value === institution)?.scope.desc;
  const scopes = [{ value: institution, label: `${codeLabel(institution, instName)} — the institution` }];
  const role = (i: number, change: (r: AlmaRole) => void) => update?.((d) => change(d.user_role![i]!));
  return (
    <Segments
      title="Roles"
      items={list}
      columns={['Role', 'Scope', 'Status', 'Expires', 'Parameters']}
      update={update}
      error={errors.roles}
      empty="No roles."
      addLabel="Add role"
      rowName={(i) => `role ${i + 1}`}
      onAdd={() => update?.((d) => void (d.user_role = [...(d.user_role ?? []), { role_type: code(''), scope: code(institution), status: code('ACTIVE'), parameter: [] }]))}
      onRemove={(i) => update?.((d) => void d.user_role?.splice(i, 1))}
      row={(r, i) =>
        update
          ? [
              <CellCode label={`Role ${i + 1} type`} table={ROLE_TABLE} value={r.role_type.value} onChange={(v) => role(i, (x) => void (x.role_type = code(v)))} />,
              <CellCode label={`Role ${i + 1} scope`} table="Libraries" extra={scopes} value={r.scope.value} onChange={(v) => role(i, (x) => void (x.scope = code(v)))} />,
              <CellCode label={`Role ${i + 1} status`} table="UserRoleStatus" value={r.status.value} onChange={(v) => role(i, (x) => void (x.status = code(v)))} />,
              <CellInput label={`Role ${i + 1} expiry date`} type="date" value={day(r.expiry_date)} onChange={(v) => role(i, (x) => void (x.expiry_date = almaDate(v)))} />,
              <Parameters role={r} n={i + 1} change={(c) => role(i, c)} />,
            ]
          : [codeText(r.role_type), codeText(r.scope), codeText(r.status), day(r.expiry_date) || '—', paramText(r) || '—']
      }
    />
  );
}

/** A role's parameters, edited in its row: type, value, library; added and removed one by one. */
function Parameters({ role, n, change }: { role: AlmaRole; n: number; change: (c: (r: AlmaRole) => void) => void }) {
  const params = role.parameter ?? [];
  const at = (j: number, c: (p: NonNullable<AlmaRole['parameter']>[number]) => void) => change((r) => c(r.parameter![j]!));
  return (
    <div className="params">
      {params.map((p, j) => {
        const name = `Role ${n} parameter ${j + 1}`;
        return (
          <div className="param" key={j}>
            <CellCode label={`${name} type`} table="RoleParameterTypes" value={p.type.value} onChange={(v) => at(j, (x) => void (x.type = code(v)))} />
            {p.type.value === 'CirculationDesk' ? (
              <CellCode label={`${name} value`} table="CirculationDesks" value={p.value.value} onChange={(v) => at(j, (x) => void (x.value = code(v)))} />
            ) : (
              <CellInput label={`${name} value`} value={p.value.value} size={10} onChange={(v) => at(j, (x) => void (x.value = code(v)))} />
            )}
            <CellCode label={`${name} library`} table="Libraries" empty="Any library" value={p.scope?.value ?? ''} onChange={(v) => at(j, (x) => void (x.scope = v ? code(v) : null))} />
            <button type="button" className="small" onClick={() => change((r) => void r.parameter!.splice(j, 1))}>
              Remove<span className="sr-only"> {name.toLowerCase()}</span>
            </button>
          </div>
        );
      })}
      <button type="button" className="small" onClick={() => change((r) => void (r.parameter = [...(r.parameter ?? []), { type: code(''), value: code(''), scope: null }]))}>
        Add parameter<span className="sr-only"> to role {n}</span>
      </button>
    </div>
  );
}
