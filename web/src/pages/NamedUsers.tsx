// Named users (named-users:report): the live count against the network's licence, by role, the
// daily history and the institution's named users with their last sign-in (also as CSV), for the
// consortium office and user administrators. Everything is the server's (GET /api/v1/named-users
// and its sub-resources): the state, the warning line and who counts are never worked out here.
// Each state is said in words as well as by its badge's colour.
import { useEffect, useState } from 'react';
import { api, enc, errorText as message } from '../api';
import { NamedUserHistory } from './NamedUserHistory';
import { useGet } from '../use-get';

export interface Report {
  institution: Count;
  network: (Count & { licence: number | null; warn_line: number | null; at_limit: 'warn' | 'refuse'; state: State }) | null;
  institutions: Count[];
  roles: { role_type: string; count: number }[];
}
interface Count {
  code: string;
  name: string;
  count: number;
}
type State = 'ok' | 'warning' | 'at_limit' | 'over';

interface NamedUser {
  primary_id: string;
  first_name: string | null;
  last_name: string | null;
  record_type: string;
  named_roles: string[];
  last_sign_in: string | null;
}

const PAGE_SIZE = 50;
const ROLE_TABLE = 'HFrUserRoles.roleType';

export function NamedUsers() {
  const live = useGet<Report>('/named-users');
  const report = live.data ?? null;
  const error = live.error;
  const [roleNames, setRoleNames] = useState<Map<string, string>>(new Map());
  // Moved by a snapshot: the list of named users reads itself again.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    // The roles' descriptions are the institution's; without them the codes are shown.
    api<{ row: { code: string; description: string }[] }>('GET', `/code-tables/${enc(ROLE_TABLE)}`)
      .then(({ body }) => setRoleNames(new Map(body.row.map((r) => [r.code, r.description]))))
      .catch(() => undefined);
  }, []);
  const roleName = (code: string) => (roleNames.has(code) ? `${roleNames.get(code)} (${code})` : code);

  return (
    <section>
      <h1>Named users</h1>
      <p className="muted">
        A named user is an active, unexpired user with at least one active, unexpired staff role of a kind the licence counts. Counts are live; the history
        is one snapshot a day.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!report && !error && <p role="status">Loading…</p>}
      {report && <Licence report={report} />}
      {report && <ByRole report={report} roleName={roleName} />}
      <NamedUserHistory
        report={report}
        onSnapshot={() => {
          void live.reload();
          setGeneration((g) => g + 1);
        }}
      />
      <UserList roles={report?.roles.map((r) => r.role_type) ?? []} roleName={roleName} generation={generation} />
    </section>
  );
}

const STATE_TEXT: Record<State, string> = {
  ok: 'Under the warning line',
  warning: 'Warning: near the licence',
  at_limit: 'At the licence limit',
  over: 'Over the licence',
};
const STATE_BADGE: Record<State, string> = { ok: 'ok', warning: 'warn', at_limit: 'off', over: 'off' };

function Licence({ report }: { report: Report }) {
  const n = report.network;
  const inst = report.institution;
  return (
    <section aria-labelledby="licence-h">
      <h2 id="licence-h">Against the licence</h2>
      {!n ? (
        <p data-testid="institution-count">
          <strong className="big-count">{inst.count}</strong> named users at {inst.name}. This institution is in no network: no named-user licence applies.
        </p>
      ) : n.licence === null ? (
        <>
          <p data-testid="network-count">
            <strong className="big-count">{n.count}</strong> named users in the network {n.name}. No licence is tracked for this network.
          </p>
          <InstitutionLine inst={inst} />
        </>
      ) : (
        <>
          <p className="licence-line">
            <span data-testid="network-count">
              <strong className="big-count">{n.count}</strong> of <strong>{n.licence}</strong> licensed named users
            </span>{' '}
            in the network {n.name}{' '}
            <span className={`badge ${STATE_BADGE[n.state]}`} data-testid="licence-state">
              {STATE_TEXT[n.state]}
            </span>
          </p>
          {/* The meter's regions end below their boundary: the warning starts at the line, the limit at the licence. */}
          <meter
            className="licence-meter"
            min={0}
            max={Math.max(n.licence, n.count)}
            low={n.warn_line === null ? undefined : n.warn_line - 0.5}
            high={n.licence - 0.5}
            optimum={0}
            value={n.count}
            aria-label={`${n.count} of ${n.licence} licensed named users`}
          />
          <ul className="licence-facts">
            <li data-testid="licence-detail">{detail(n.count, n.licence, n.warn_line, n.state)}</li>
            <li data-testid="licence-mode">
              {n.at_limit === 'refuse'
                ? 'Refuse mode: at the licence, new named users are refused (existing ones keep working).'
                : 'Warn mode: at the licence, new named users are still accepted; the consortium office is told.'}
            </li>
          </ul>
          <InstitutionLine inst={inst} />
        </>
      )}
      {report.institutions.length > 1 && (
        <table className="data compact narrow">
          <caption>Named users per member institution</caption>
          <thead>
            <tr>
              <th scope="col">Institution</th>
              <th scope="col">Code</th>
              <th scope="col" className="num">
                Named users
              </th>
            </tr>
          </thead>
          <tbody>
            {report.institutions.map((i) => (
              <tr key={i.code}>
                <td>{i.name}</td>
                <td className="mono">{i.code}</td>
                <td className="num">{i.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function detail(count: number, licence: number, warnLine: number | null, state: State): string {
  const warn = warnLine === null ? '' : ` The warning line is ${warnLine}.`;
  const over = count - licence;
  if (state === 'over') return `${over} more named user${over === 1 ? '' : 's'} than the licence allows.${warn}`;
  if (state === 'at_limit') return `Every licensed place is taken.${warn}`;
  const free = licence - count;
  return `${free} licensed place${free === 1 ? '' : 's'} free.${warn}`;
}

function InstitutionLine({ inst }: { inst: Count }) {
  return (
    <p data-testid="institution-count">
      Of these, <strong>{inst.count}</strong> at this institution ({inst.name}).
    </p>
  );
}

function ByRole({ report, roleName }: { report: Report; roleName: (code: string) => string }) {
  return (
    <section aria-labelledby="roles-h">
      <h2 id="roles-h">By role</h2>
      {report.roles.length === 0 ? (
        <p className="muted">No named users at this institution.</p>
      ) : (
        <>
          <p className="help">This institution's named users per role. A user with two such roles is counted under each.</p>
          <table className="data compact narrow" data-testid="by-role">
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col" className="num">
                  Named users
                </th>
              </tr>
            </thead>
            <tbody>
              {report.roles.map((r) => (
                <tr key={r.role_type}>
                  <td>{roleName(r.role_type)}</td>
                  <td className="num">{r.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function UserList({ roles, roleName, generation }: { roles: string[]; roleName: (code: string) => string; generation: number }) {
  const [role, setRole] = useState('');
  const [offset, setOffset] = useState(0);
  const [list, setList] = useState<{ total_record_count: number; users: NamedUser[] } | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    setBusy(true);
    const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset), ...(role ? { role } : {}) });
    api<{ total_record_count: number; users: NamedUser[] }>('GET', `/named-users/users?${q}`, { signal: abort.signal })
      .then(({ body }) => {
        setList(body);
        setError('');
      })
      .catch((e: unknown) => abort.signal.aborted || setError(message(e)))
      .finally(() => abort.signal.aborted || setBusy(false));
    return () => abort.abort();
  }, [role, offset, generation]);

  const total = list?.total_record_count ?? 0;
  const rows = list?.users ?? [];
  const csv = `/api/v1/named-users/users.csv${role ? `?role=${enc(role)}` : ''}`;
  return (
    <section aria-labelledby="users-h">
      <h2 id="users-h">Named users of this institution</h2>
      <div className="filters">
        <div className="field inline">
          <label htmlFor="nu-role">Role</label>
          <select
            id="nu-role"
            value={role}
            onChange={(e) => {
              setRole(e.target.value);
              setOffset(0);
            }}
          >
            <option value="">Any named role</option>
            {roles.map((r) => (
              <option key={r} value={r}>
                {roleName(r)}
              </option>
            ))}
          </select>
        </div>
        <a className="button-link" href={csv} download="named-users.csv">
          Download as CSV
        </a>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <p className="count" role="status" aria-live="polite">
        {!list ? (busy ? 'Loading…' : '') : total === 0 ? 'No named users.' : `${offset + 1}–${offset + rows.length} of ${total} named users, by name`}
      </p>
      <table className="data" aria-busy={busy} data-testid="named-user-list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Primary ID</th>
            <th scope="col">Record type</th>
            <th scope="col">Named roles</th>
            <th scope="col">Last sign-in</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((u) => (
            <tr key={u.primary_id}>
              <td>{[u.last_name, u.first_name].filter(Boolean).join(', ') || '—'}</td>
              <td className="mono">{u.primary_id}</td>
              <td>{u.record_type}</td>
              <td>{u.named_roles.map(roleName).join('; ')}</td>
              <td className="nowrap">{u.last_sign_in ? new Date(u.last_sign_in).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'Never'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > PAGE_SIZE && (
        <nav className="pager" aria-label="Pages of named users">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
            Previous
          </button>
          <span>
            Page {Math.floor(offset / PAGE_SIZE) + 1} of {Math.ceil(total / PAGE_SIZE)}
          </span>
          <button type="button" disabled={offset + PAGE_SIZE >= total} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}
