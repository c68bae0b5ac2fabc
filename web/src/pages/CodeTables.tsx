// Settings → Code tables: the institution's tables (GET /api/v1/code-tables), one table's rows, and
// for config:manage an editor that saves the whole table (PUT /api/v1/code-tables/{name}). The
// rules (a code in use cannot be removed, one default, roles cannot be disabled) are the
// server's; its refusal is shown above the table as it words it.
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, enc } from '../api';
import { Link } from '../router';
import { useCan } from '../session';
import { useGet } from '../use-get';

interface Row {
  code: string;
  description: string;
  enabled: boolean;
  default: boolean;
  managed_by_sis?: boolean;
  record_types?: string[];
  named_user?: boolean;
}

interface Table {
  name: string;
  editable: boolean;
  row: Row[];
}

export function CodeTableList() {
  const { data, error } = useGet<{ code_table: { name: string; rows: number; editable: boolean }[] }>('/code-tables');
  const tables = data?.code_table;
  return (
    <section>
      <h1>Code tables</h1>
      <p className="muted">The values the user record's coded fields take at this institution.</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {tables && (
        <table className="data compact">
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col">Rows</th>
              <th scope="col">Editable</th>
            </tr>
          </thead>
          <tbody>
            {tables.map((t) => (
              <tr key={t.name}>
                <td>
                  <Link to={`/settings/code-tables/${enc(t.name)}`}>{t.name}</Link>
                </td>
                <td>{t.rows}</td>
                <td>{t.editable ? 'Yes' : 'No'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// A role's named-user flag is the licence's rule for the whole network: shown, never edited.
const ATTRS: { key: 'managed_by_sis' | 'named_user'; label: string; fixed?: boolean }[] = [
  { key: 'managed_by_sis', label: 'Managed by SIS' },
  { key: 'named_user', label: 'Named user', fixed: true },
];

export function CodeTablePage({ name }: { name: string }) {
  const can = useCan();
  const [table, setTable] = useState<Table | null>(null);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const { body } = await api<Table>('GET', `/code-tables/${enc(name)}`);
      setTable(body);
      setError('');
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Carrel could not be reached.');
    }
  }, [name]);
  useEffect(() => {
    void load();
  }, [load]);

  const editing = rows !== null;
  const mayEdit = can('config:manage') && table?.editable;
  const shown = rows ?? table?.row ?? [];
  const attrs = ATTRS.filter((a) => shown.some((r) => a.key in r));
  const hasTypes = shown.some((r) => Array.isArray(r.record_types));
  const patch = (i: number, p: Partial<Row>) => setRows((old) => old!.map((r, j) => (j === i ? { ...r, ...p } : p.default ? { ...r, default: false } : r)));

  const save = async () => {
    setBusy(true);
    setError('');
    setNotice('');
    try {
      const { body } = await api<Table>('PUT', `/code-tables/${enc(name)}`, { body: { row: rows } });
      setTable(body);
      setRows(null);
      setNotice('Saved.');
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Carrel could not be reached.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <p className="crumbs">
        <Link to="/settings/code-tables">Code tables</Link> /
      </p>
      <div className="title-row">
        <h1>{name}</h1>
        {mayEdit && !editing && (
          <button type="button" onClick={() => (setRows(structuredClone(table!.row)), setNotice(''))}>
            Edit
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {table && (
        <table className="data compact">
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Description</th>
              <th scope="col">Enabled</th>
              <th scope="col">Default</th>
              {attrs.map((a) => (
                <th scope="col" key={a.key}>
                  {a.label}
                </th>
              ))}
              {hasTypes && <th scope="col">Record types</th>}
              {editing && <th scope="col"><span className="sr-only">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {shown.map((r, i) => (
              <tr key={i}>
                <td className="mono">
                  {editing ? <input aria-label={`Row ${i + 1} code`} value={r.code} onChange={(e) => patch(i, { code: e.target.value })} /> : r.code}
                </td>
                <td>
                  {editing ? (
                    <input aria-label={`Row ${i + 1} description`} value={r.description} onChange={(e) => patch(i, { description: e.target.value })} />
                  ) : (
                    r.description
                  )}
                </td>
                <td>
                  {editing ? (
                    <input type="checkbox" aria-label={`Row ${i + 1} enabled`} checked={r.enabled} onChange={(e) => patch(i, { enabled: e.target.checked })} />
                  ) : r.enabled ? (
                    'Yes'
                  ) : (
                    'No'
                  )}
                </td>
                <td>
                  {editing ? (
                    <input type="checkbox" aria-label={`Row ${i + 1} default`} checked={r.default} onChange={(e) => patch(i, { default: e.target.checked })} />
                  ) : r.default ? (
                    'Yes'
                  ) : (
                    ''
                  )}
                </td>
                {attrs.map((a) => (
                  <td key={a.key}>
                    {editing && !a.fixed ? (
                      <input type="checkbox" aria-label={`Row ${i + 1} ${a.label}`} checked={r[a.key] === true} onChange={(e) => patch(i, { [a.key]: e.target.checked })} />
                    ) : r[a.key] ? (
                      'Yes'
                    ) : (
                      ''
                    )}
                  </td>
                ))}
                {hasTypes && (
                  <td>
                    {editing ? (
                      <input
                        aria-label={`Row ${i + 1} record types`}
                        value={(r.record_types ?? []).join(' ')}
                        onChange={(e) => patch(i, { record_types: e.target.value.split(/[\s,]+/).filter(Boolean) })}
                      />
                    ) : (
                      (r.record_types ?? []).join(', ')
                    )}
                  </td>
                )}
                {editing && (
                  <td>
                    <button type="button" className="small" onClick={() => setRows((old) => old!.filter((_, j) => j !== i))} aria-label={`Remove row ${i + 1}`}>
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <div className="row actions">
          <button type="button" onClick={() => setRows((old) => [...old!, { code: '', description: '', enabled: true, default: false }])}>
            Add row
          </button>
          <button type="button" className="primary" onClick={() => void save()} disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
          <button type="button" onClick={() => (setRows(null), setError(''))}>
            Cancel
          </button>
        </div>
      )}
    </section>
  );
}
