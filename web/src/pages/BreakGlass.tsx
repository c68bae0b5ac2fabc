// The SSO outage page's "Break-glass accounts" (credentials:manage, docs/sso-outage.md): who the
// institution's back-up accounts are (GET /api/v1/break-glass), whether their local password lets
// them in, when they last signed in; mark one by primary id, unmark one
// (PUT /api/v1/users/{id}/break-glass). Every sign-in of a marked account is audited and e-mailed
// to the network's addresses: the server's rule (domain/identity/break-glass.ts).
import { useState, type FormEvent } from 'react';
import { api, enc, errorText as message } from '../api';
import { Field } from '../form';
import { useGet } from '../use-get';

interface Account {
  primary_id: string;
  first_name: string | null;
  last_name: string | null;
  usable_password: boolean;
  last_sign_in: string | null;
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'Never');

export function BreakGlassAccounts() {
  const list = useGet<{ break_glass_account: Account[] }>('/break-glass');
  const accounts = list.data?.break_glass_account;
  const [error, setError] = useState('');
  const [id, setId] = useState('');
  const [idError, setIdError] = useState('');
  const [busy, setBusy] = useState(false);

  const mark = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    const ref = id.trim();
    if (!ref) return setIdError('Enter the primary ID of the account to mark.');
    setBusy(true);
    setIdError('');
    try {
      await api('PUT', `/users/${enc(ref)}/break-glass`, { body: { break_glass: true } });
      setId('');
      await list.reload();
    } catch (err) {
      // The one thing this form names is the user: a refusal is about it.
      setIdError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const unmark = async (a: Account) => {
    setError('');
    try {
      await api('PUT', `/users/${enc(a.primary_id)}/break-glass`, { body: { break_glass: false } });
      await list.reload();
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section className="break-glass" aria-labelledby="break-glass">
      <h2 id="break-glass">Break-glass accounts</h2>
      <p className="muted">
        The local accounts kept for an outage (the back-up admin). Every sign-in of one is audited and e-mailed to the addresses the network names.
      </p>
      {(error || list.error) && (
        <p className="error" role="alert">
          {error || list.error}
        </p>
      )}
      {accounts && accounts.length === 0 && <p>No break-glass accounts yet: mark the back-up admin below.</p>}
      {accounts && accounts.length > 0 && (
        <div className="table-scroll">
          <table className="data compact">
            <thead>
              <tr>
                <th scope="col">Primary ID</th>
                <th scope="col">Name</th>
                <th scope="col">Local password</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => (
                <tr key={a.primary_id}>
                  <td className="mono">{a.primary_id}</td>
                  <td>{[a.first_name, a.last_name].filter(Boolean).join(' ') || '—'}</td>
                  <td>{a.usable_password ? <span className="badge ok">Usable</span> : <span className="badge off">None usable</span>}</td>
                  <td className="nowrap">{when(a.last_sign_in)}</td>
                  <td>
                    <button type="button" className="small" aria-label={`Unmark ${a.primary_id}`} onClick={() => void unmark(a)}>
                      Unmark
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={(e) => void mark(e)} noValidate className="row mark-form">
        <Field id="break_glass_id" label="Primary ID to mark" value={id} onChange={setId} error={idError} />
        <button type="submit" disabled={busy}>
          Mark as break-glass
        </button>
      </form>
    </section>
  );
}
