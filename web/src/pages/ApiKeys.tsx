// Settings → API keys (config:manage): the institution's keys, never a secret in the listing. A
// new or rotated key's secret is in the one answer that made it (the API says no-store); this page
// keeps it in its own state only, never in storage or the address, so it is shown once and gone
// when the page is left. Rotation and revocation stop the old secret at once on every server, so
// both ask first. The rules (label length, safe text) are the server's; its refusal is shown at
// the field it names, else above the table.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, enc } from '../api';
import { fieldErrors } from '../field-errors';
import { ConfirmDialog } from '../confirm-dialog';
import { Field } from '../form';

interface ApiKey {
  id: string;
  prefix: string;
  label: string | null;
  read_only: boolean;
  trusts_client_address: boolean;
  created_at: string;
  last_used_at: string | null;
  rotated_at: string | null;
  revoked_at: string | null;
}

type Confirm = { action: 'rotate' | 'revoke'; key: ApiKey };

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'Never');
const nameOf = (k: ApiKey) => k.label ?? k.prefix;
const errorsOf = (e: unknown): Record<string, string> => (e instanceof ApiError ? fieldErrors(e.errors) : { '': 'Carrel could not be reached.' });

export function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [f, setF] = useState({ label: '', readOnly: false, trusts: false });
  const [busy, setBusy] = useState(false);
  // The one place a secret lives in the console: gone with this component.
  const [secret, setSecret] = useState<{ value: string; name: string; rotated: boolean } | null>(null);
  const [editing, setEditing] = useState<{ id: string; label: string; error?: string } | null>(null);
  const [confirm, setConfirm] = useState<Confirm | null>(null);

  const load = useCallback(async () => {
    try {
      setKeys((await api<{ api_key: ApiKey[] }>('GET', '/api-keys')).body.api_key);
    } catch (e) {
      setErrors(errorsOf(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setSecret(null);
    try {
      const { body } = await api<ApiKey & { key: string }>('POST', '/api-keys', {
        body: { label: f.label.trim() || null, read_only: f.readOnly, trusts_client_address: f.trusts },
      });
      setSecret({ value: body.key, name: nameOf(body), rotated: false });
      setF({ label: '', readOnly: false, trusts: false });
      await load();
    } catch (err) {
      setErrors(errorsOf(err));
    } finally {
      setBusy(false);
    }
  };

  const saveLabel = async (e: FormEvent) => {
    e.preventDefault();
    if (!editing) return;
    try {
      await api('PATCH', `/api-keys/${enc(editing.id)}`, { body: { label: editing.label.trim() || null } });
      setEditing(null);
      await load();
    } catch (err) {
      const byField = errorsOf(err);
      setEditing({ ...editing, error: byField.label ?? byField[''] ?? 'Refused.' });
    }
  };

  const confirmed = async ({ action, key }: Confirm) => {
    setConfirm(null);
    setErrors({});
    setSecret(null);
    try {
      if (action === 'rotate') {
        const { body } = await api<ApiKey & { key: string }>('POST', `/api-keys/${enc(key.id)}/rotate`);
        setSecret({ value: body.key, name: nameOf(body), rotated: true });
      } else {
        await api('DELETE', `/api-keys/${enc(key.id)}`);
      }
      await load();
    } catch (err) {
      setErrors(errorsOf(err));
    }
  };

  return (
    <section>
      <h1>API keys</h1>
      <p className="muted">
        Keys let the institution's applications call Carrel's Alma API and /api/v1. Carrel keeps only a hash of each key: a key is shown once, when it is
        created or rotated.
      </p>
      {secret && <NewSecret {...secret} onDone={() => setSecret(null)} />}
      {errors[''] && (
        <p className="error" role="alert">
          {errors['']}
        </p>
      )}
      <form onSubmit={(e) => void create(e)} noValidate className="form key-form" aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        <Field id="label" label="Label" value={f.label} onChange={(v) => setF((o) => ({ ...o, label: v }))} error={errors.label} help="What the key is for, e.g. the discovery layer" />
        <label className="check">
          <input type="checkbox" checked={f.readOnly} onChange={(e) => setF((o) => ({ ...o, readOnly: e.target.checked }))} /> Read-only (it may read users, never
          change anything)
        </label>
        <label className="check">
          <input type="checkbox" checked={f.trusts} onChange={(e) => setF((o) => ({ ...o, trusts: e.target.checked }))} /> Trusted to name the end user's address
          (op=auth from an application that takes it from its own connection)
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </form>

      <h2>Keys</h2>
      {keys && keys.length === 0 && <p>No keys yet.</p>}
      {keys && keys.length > 0 && (
        <div className="table-scroll">
          <table className="data compact">
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Prefix</th>
                <th scope="col">Access</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>
                    {editing?.id === k.id ? (
                      <form id={`label-form-${k.id}`} onSubmit={(e) => void saveLabel(e)} noValidate>
                        <input
                          id={`label-${k.id}`}
                          aria-label={`Label of key ${k.prefix}`}
                          value={editing.label}
                          onChange={(e) => setEditing({ ...editing, label: e.target.value })}
                          aria-invalid={editing.error ? true : undefined}
                          aria-describedby={editing.error ? `label-${k.id}-error` : undefined}
                          autoFocus
                        />
                        {editing.error && (
                          <p className="field-error" id={`label-${k.id}-error`}>
                            {editing.error}
                          </p>
                        )}
                      </form>
                    ) : (
                      (k.label ?? <span className="muted">No label</span>)
                    )}
                  </td>
                  <td className="mono">{k.prefix}</td>
                  <td>{k.read_only ? 'Read-only' : 'Read-write'}</td>
                  <td className="nowrap">{when(k.created_at)}</td>
                  <td className="nowrap">{when(k.last_used_at)}</td>
                  <td>
                    {k.revoked_at ? <span className="badge off">Revoked</span> : <span className="badge ok">Active</span>}
                    {k.rotated_at && !k.revoked_at && <div className="help">Rotated {when(k.rotated_at)}</div>}
                  </td>
                  <td>
                    <div className="key-actions">
                      {k.revoked_at ? null : editing?.id === k.id ? (
                        <>
                          {/* Keyed apart from Edit label: a reused element would turn submit mid-click and save at once. */}
                          <button key="save" type="submit" form={`label-form-${k.id}`} className="small primary">
                            Save label
                          </button>
                          <button key="cancel" type="button" className="small" onClick={() => setEditing(null)}>
                            Cancel
                          </button>
                        </>
                      ) : (
                        <>
                          <button key="edit" type="button" className="small" aria-label={`Edit label of ${nameOf(k)}`} onClick={() => setEditing({ id: k.id, label: k.label ?? '' })}>
                            Edit label
                          </button>
                          <button type="button" className="small" aria-label={`Rotate ${nameOf(k)}`} onClick={() => setConfirm({ action: 'rotate', key: k })}>
                            Rotate
                          </button>
                          <button type="button" className="small danger" aria-label={`Revoke ${nameOf(k)}`} onClick={() => setConfirm({ action: 'revoke', key: k })}>
                            Revoke
                          </button>
                        </>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirm && <KeyConfirm confirm={confirm} onYes={() => void confirmed(confirm)} onNo={() => setConfirm(null)} />}
    </section>
  );
}

/** The secret, this once: a warning, the key, and a copy button. */
function NewSecret({ value: secret, name, rotated, onDone }: { value: string; name: string; rotated: boolean; onDone: () => void }) {
  const [copied, setCopied] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [secret]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser did not allow copying: select the key and copy it by hand.');
    }
  };
  return (
    <section className="secret" aria-labelledby="secret-heading">
      <h2 id="secret-heading" ref={heading} tabIndex={-1}>
        {rotated ? `New secret for ${name}` : `Key created: ${name}`}
      </h2>
      <p>
        <strong>Copy it now: this is the only time it is shown.</strong> Carrel keeps only a hash of it; when you leave this page it is gone, and a lost key can
        only be rotated.{rotated ? ' The old secret no longer works.' : ''}
      </p>
      <code className="mono secret-value" data-testid="new-secret">
        {secret}
      </code>
      <div className="row">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy key
        </button>
        <button type="button" onClick={onDone}>
          I have copied it
        </button>
      </div>
      <p role="status" className="help">
        {copied}
      </p>
    </section>
  );
}

/** Rotating or revoking stops the old secret everywhere at once: asked first. */
function KeyConfirm({ confirm, onYes, onNo }: { confirm: Confirm; onYes: () => void; onNo: () => void }) {
  const name = nameOf(confirm.key);
  const revoke = confirm.action === 'revoke';
  return (
    <ConfirmDialog
      title={revoke ? `Revoke ${name}?` : `Rotate ${name}?`}
      text={
        revoke
          ? 'Every application using this key is refused from now on, on every server. This cannot be undone.'
          : 'The key gets a new secret, shown once; the old one is refused from now on, on every server. Applications using it stop until they have the new one.'
      }
      yes={revoke ? 'Revoke key' : 'Rotate key'}
      danger={revoke}
      onYes={onYes}
      onNo={onNo}
    />
  );
}
