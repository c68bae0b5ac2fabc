// The protected fields staff or an API key edited by hand (GET /api/v1/users/{id}/manual-edits):
// an SIS load keeps them as they are. Each shows its value, who edited it and when, and whether the
// next load of the user's profile keeps it (a profile may not count API-key edits); "Restore to
// SIS" hands a field back to the feed (Alma's Restore button), and the next load sets it.
import { useCallback, useEffect, useState } from 'react';
import { api, enc, errorText } from '../api';

interface ManualEdit {
  field: string;
  value: unknown;
  edited_by: { type: 'staff' | 'api_key'; label: string | null };
  edited_at: string | null;
  kept_by_sis: boolean;
}

const show = (v: unknown) => (v === null || v === undefined || v === '' ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
const who = (e: ManualEdit) => `${e.edited_by.type === 'api_key' ? 'API key' : 'Staff'}${e.edited_by.label ? ` ${e.edited_by.label}` : ''}`;

/** The section; nothing at all when no field is protected. onChanged: the record changed (its version moved). */
export function ProtectedFields({ primaryId, canRestore, onChanged }: { primaryId: string; canRestore: boolean; onChanged: () => void }) {
  const [edits, setEdits] = useState<ManualEdit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const path = `/users/${enc(primaryId)}/manual-edits`;

  const read = useCallback(async () => {
    try {
      setEdits((await api<{ manual_edits: ManualEdit[] }>('GET', path)).body.manual_edits);
    } catch (e) {
      setError(errorText(e));
    }
  }, [path]);

  useEffect(() => {
    void read();
  }, [read]);

  const restore = async (fields: string[]) => {
    setBusy(true);
    setError(null);
    try {
      const { body } = await api<{ manual_edits: ManualEdit[] }>('POST', `${path}/restore`, { body: { fields } });
      setEdits(body.manual_edits);
      setNotice(fields.length === 1 ? `${fields[0]} is the SIS’s again: the next load sets it.` : 'Every field is the SIS’s again: the next load sets them.');
      onChanged();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  if (error) return <p role="alert" className="error">{error}</p>;
  if (!edits?.length) return notice ? <p role="status" className="notice">{notice}</p> : null;
  return (
    <section className="protected" aria-labelledby="protected-title">
      <h2 id="protected-title">Edited by hand</h2>
      <p className="help">SIS loads leave these fields as they are until they are restored to the SIS.</p>
      <table className="data compact">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Value</th>
            <th scope="col">Edited by</th>
            <th scope="col">When</th>
            <th scope="col">Next SIS load</th>
            {canRestore && <th scope="col"><span className="sr-only">Action</span></th>}
          </tr>
        </thead>
        <tbody>
          {edits.map((e) => (
            <tr key={e.field}>
              <td className="mono">{e.field}</td>
              <td>{show(e.value)}</td>
              <td>{who(e)}</td>
              <td className="nowrap">{e.edited_at ? new Date(e.edited_at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—'}</td>
              <td>{e.kept_by_sis ? 'Keeps it' : 'Overwrites it (the profile does not count API-key edits)'}</td>
              {canRestore && (
                <td>
                  <button type="button" className="small" disabled={busy} onClick={() => void restore([e.field])}>
                    Restore to SIS<span className="sr-only"> {e.field}</span>
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canRestore && edits.length > 1 && (
        <button type="button" disabled={busy} onClick={() => void restore([])}>
          Restore all to SIS
        </button>
      )}
      {notice && <p role="status" className="notice">{notice}</p>}
    </section>
  );
}
