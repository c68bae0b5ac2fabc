// One integration profile (sis:manage): its form (create, or change the fields the API defines;
// the code is the external_id of every user it loads, so it never changes), then, for a saved
// profile, loading a file and its recent loads (SisLoads.tsx). Validation is the server's
// (domain/sis/profile.ts); each refusal is shown at the field it names. Deleting a saved profile
// is asked first (its users stay; the server refuses while a load of it is queued or running).
import { useEffect, useState, type FormEvent } from 'react';
import { api, enc, errorText as message } from '../api';
import { ConfirmDialog } from '../confirm-dialog';
import { Field } from '../form';
import { Link, navigate } from '../router';
import { ProfileLoads } from './SisLoads';

export interface Profile {
  code: string;
  name: string;
  record_type: string;
  match_by: string;
  mode: string;
  format: string;
  csv_mapping: Record<string, string | null> | null;
  drop_folder: string | null;
  poll_seconds: number;
  deactivate_missing: boolean;
  settings: { settleSeconds?: number; apiKeyEditsAreManual: boolean };
}

const EMPTY = {
  code: '', name: '', record_type: 'PUBLIC', match_by: 'primary_id', mode: 'synchronize', format: 'alma_xml',
  csv_mapping: '', drop_folder: '', poll_seconds: '300', deactivate_missing: false, settle_seconds: '', api_key_edits: true,
};
type Form = typeof EMPTY;

const formOf = (p: Profile): Form => ({
  code: p.code,
  name: p.name,
  record_type: p.record_type,
  match_by: p.match_by,
  mode: p.mode,
  format: p.format,
  csv_mapping: p.csv_mapping ? JSON.stringify(p.csv_mapping, null, 2) : '',
  drop_folder: p.drop_folder ?? '',
  poll_seconds: String(p.poll_seconds),
  deactivate_missing: p.deactivate_missing,
  settle_seconds: p.settings.settleSeconds === undefined ? '' : String(p.settings.settleSeconds),
  api_key_edits: p.settings.apiKeyEditsAreManual,
});


/** The form field a refusal names: "Given match_by identifier type (X) is invalid.", "Mandatory field is missing: csv_mapping …". */
function fieldOf(m: string): string {
  if (/already exists/i.test(m)) return 'code';
  const name = /^Given ([a-z_]+(?:\.\w+)?)/.exec(m)?.[1] ?? /missing: ([a-z_]+)/.exec(m)?.[1] ?? '';
  const field = { 'settings.settleSeconds': 'settle_seconds', 'settings.apiKeyEditsAreManual': 'api_key_edits' }[name] ?? name.split('.')[0]!;
  return field in EMPTY ? field : '';
}

export function SisProfile({ code }: { code: string | null }) {
  const creating = code === null;
  const [f, setF] = useState<Form>(EMPTY);
  const [loaded, setLoaded] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const set = (k: keyof Form) => (v: string) => setF((old) => ({ ...old, [k]: v }));

  useEffect(() => {
    if (creating) return;
    api<Profile>('GET', `/integration-profiles/${enc(code)}`)
      .then(({ body }) => {
        setF(formOf(body));
        setLoaded(true);
      })
      .catch((e) => setErrors({ '': message(e) }));
  }, [code, creating]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setNotice('');
    let mapping: unknown = null;
    if (f.csv_mapping.trim()) {
      try {
        mapping = JSON.parse(f.csv_mapping);
      } catch {
        return setErrors({ csv_mapping: 'The column mapping must be JSON, e.g. {"Student ID": "identifier:UNIV_ID", "Login": "primary_id"}.' });
      }
    }
    const whole = (s: string) => (/^\s*-?\d+\s*$/.test(s) ? Number(s) : s.trim() ? s : null);
    const body: Record<string, unknown> = {
      name: f.name,
      record_type: f.record_type,
      match_by: f.match_by.trim(),
      mode: f.mode,
      format: f.format,
      csv_mapping: mapping,
      drop_folder: f.drop_folder.trim() || null,
      poll_seconds: whole(f.poll_seconds) ?? 300,
      deactivate_missing: f.deactivate_missing,
      settings: { settleSeconds: whole(f.settle_seconds), apiKeyEditsAreManual: f.api_key_edits },
    };
    if (creating) body.code = f.code.trim();
    setBusy(true);
    setErrors({});
    try {
      const { body: saved } = creating
        ? await api<Profile>('POST', '/integration-profiles', { body })
        : await api<Profile>('PATCH', `/integration-profiles/${enc(code)}`, { body });
      if (creating) return navigate(`/sis/${enc(saved.code)}`);
      setF(formOf(saved));
      setNotice('Saved.');
    } catch (err) {
      setErrors({ [fieldOf(message(err))]: message(err) });
    } finally {
      setBusy(false);
    }
  };

  const remove = async (profile: string) => {
    setConfirming(false);
    setNotice('');
    setErrors({});
    setBusy(true);
    try {
      await api('DELETE', `/integration-profiles/${enc(profile)}`);
      navigate(`/sis?deleted=${enc(profile)}`);
    } catch (err) {
      setErrors({ '': message(err) });
      setBusy(false);
    }
  };

  return (
    <section>
      <p className="crumbs">
        <Link to="/sis">SIS loads</Link> /
      </p>
      <h1>{creating ? 'New integration profile' : `Integration profile ${code}`}</h1>
      {errors[''] && (
        <p className="error" role="alert">
          {errors['']}
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {(creating || loaded) && (
        <form onSubmit={(e) => void submit(e)} noValidate className="form" aria-label="Integration profile">
          <div className="grid">
            {creating ? (
              <Field id="code" label="Code" value={f.code} onChange={set('code')} error={errors.code} required autoFocus help="Letters, digits, - and _; the external ID of every user the profile loads." />
            ) : (
              <Field id="code" label="Code" value={f.code} />
            )}
            <Field id="name" label="Name" value={f.name} onChange={set('name')} error={errors.name} />
            <Field id="record_type" label="Record type" value={f.record_type} onChange={set('record_type')} error={errors.record_type} options={['PUBLIC', 'STAFF', 'CONTACT']} />
            <Field id="format" label="File format" value={f.format} onChange={set('format')} error={errors.format}
              options={[{ value: 'alma_xml', label: 'Alma user XML (zipped or not)' }, { value: 'csv', label: 'CSV' }, { value: 'jsonl', label: 'JSON lines' }]} />
            <Field id="mode" label="Mode" value={f.mode} onChange={set('mode')} error={errors.mode}
              options={[{ value: 'synchronize', label: 'Synchronize: update matches, add the rest' }, { value: 'import', label: 'Import: add new users only' }]} />
            <Field id="match_by" label="Match users by" value={f.match_by} onChange={set('match_by')} error={errors.match_by} help="primary_id, or an identifier type code such as UNIV_ID" />
            <Field id="drop_folder" label="Drop folder" value={f.drop_folder} onChange={set('drop_folder')} error={errors.drop_folder} help="An absolute path polled for files; empty: uploads only" />
            <Field id="poll_seconds" label="Poll every (seconds)" type="number" value={f.poll_seconds} onChange={set('poll_seconds')} error={errors.poll_seconds} />
            <Field id="settle_seconds" label="Settle time (seconds)" type="number" value={f.settle_seconds} onChange={set('settle_seconds')} error={errors.settle_seconds}
              help="A dropped file is taken once unchanged this long; empty: the default" />
          </div>
          {(f.format === 'csv' || f.csv_mapping || errors.csv_mapping) && (
            <div className={`field${errors.csv_mapping ? ' has-error' : ''}`}>
              <label htmlFor="csv_mapping">CSV column mapping (JSON)</label>
              <textarea
                id="csv_mapping"
                className="json"
                spellCheck={false}
                value={f.csv_mapping}
                onChange={(e) => set('csv_mapping')(e.target.value)}
                aria-invalid={errors.csv_mapping ? true : undefined}
                aria-describedby={`csv_mapping-help${errors.csv_mapping ? ' csv_mapping-error' : ''}`}
              />
              <p className="help" id="csv_mapping-help">
                Column header to field: primary_id, first_name, email:school, identifier:BARCODE, address.city …
              </p>
              {errors.csv_mapping && (
                <p className="field-error" id="csv_mapping-error">
                  {errors.csv_mapping}
                </p>
              )}
            </div>
          )}
          <Check id="deactivate_missing" checked={f.deactivate_missing} onChange={(v) => setF((o) => ({ ...o, deactivate_missing: v }))} error={errors.deactivate_missing}>
            Deactivate this profile's users a full file no longer names (not done when a record failed)
          </Check>
          <Check id="api_key_edits" checked={f.api_key_edits} onChange={(v) => setF((o) => ({ ...o, api_key_edits: v }))} error={errors.api_key_edits}>
            Keep a protected field an API key edited, as a staff edit is kept
          </Check>
          <div className="row actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Saving…' : creating ? 'Create profile' : 'Save'}
            </button>
            {!creating && (
              <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
                Delete profile
              </button>
            )}
          </div>
        </form>
      )}
      {!creating && loaded && <ProfileLoads code={code} />}
      {confirming && code !== null && (
        <ConfirmDialog
          title={`Delete integration profile ${code}?`}
          text="The profile's settings are gone and its drop folder is no longer read. The users it loaded stay, with their external ID; a new profile of the same code loads them again."
          yes="Delete profile"
          onYes={() => void remove(code)}
          onNo={() => setConfirming(false)}
        />
      )}
    </section>
  );
}

function Check(props: { id: string; checked: boolean; onChange: (v: boolean) => void; error?: string | undefined; children: string }) {
  return (
    <div className={`field${props.error ? ' has-error' : ''}`}>
      <label className="check">
        <input id={props.id} type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)}
          aria-invalid={props.error ? true : undefined} aria-describedby={props.error ? `${props.id}-error` : undefined} /> {props.children}
      </label>
      {props.error && (
        <p className="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}
