// The SSO outage switch (credentials:manage; docs/sso-outage.md): toggle a set of EXTERNAL users to
// INTERNAL in one job, watch it (GET /api/v1/jobs/{id}, polled), download the temporary passwords
// once with the token the start answered (kept in this page's memory only, never stored), and
// revert exactly that set in one action. The rules are the domain's (domain/identity/outage.ts).
// Below, who the break-glass accounts are (BreakGlass.tsx).
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, enc, errorText as message, type AlmaError } from '../api';
import { Field } from '../form';
import { isFinished, useJob, type Job } from '../jobs';
import { BreakGlassAccounts } from './BreakGlass';


export function Outage() {
  const [f, setF] = useState({ users: '', record_type: '', user_group: '', role: '', method: 'temporary_password' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [toggleId, setToggleId] = useState<string | null>(null);
  const [revertId, setRevertId] = useState<string | null>(null);
  const [toggle] = useJob(toggleId, 700);
  const [revert] = useJob(revertId, 700);
  const token = useRef<string | null>(null);
  const [downloaded, setDownloaded] = useState(false);
  const set = (k: keyof typeof f) => (v: string) => setF((old) => ({ ...old, [k]: v }));

  const start = async (e: FormEvent) => {
    e.preventDefault();
    const ids = f.users.split(/[\s,;]+/).filter(Boolean);
    const query = Object.fromEntries(Object.entries({ record_type: f.record_type, user_group: f.user_group.trim(), role: f.role.trim() }).filter(([, v]) => v));
    if (!ids.length && !Object.keys(query).length) return setErrors({ users: 'Name the users, or choose them by record type, user group or role.' });
    if (ids.length && Object.keys(query).length) return setErrors({ users: 'Either name the users or give a query, not both.' });
    setBusy(true);
    setErrors({});
    try {
      const { body } = await api<Job & { download_token?: string }>('POST', '/outage/toggle', {
        body: { ...(ids.length ? { user_ids: ids } : { query }), method: f.method },
      });
      token.current = body.download_token ?? null;
      setDownloaded(false);
      setRevertId(null);
      setToggleId(body.id);
    } catch (err) {
      setErrors({ '': message(err) });
    } finally {
      setBusy(false);
    }
  };

  const download = async () => {
    if (!toggleId || !token.current) return;
    setErrors({});
    try {
      const res = await fetchPasswords(toggleId, token.current);
      const url = URL.createObjectURL(new Blob([res], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `temporary-passwords-${toggleId}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      // The passwords are gone from Carrel now, and the token with them.
      token.current = null;
      setDownloaded(true);
    } catch (err) {
      setErrors({ '': message(err) });
    }
  };

  const startRevert = async () => {
    if (!toggleId) return;
    setErrors({});
    try {
      const { body } = await api<Job>('POST', `/jobs/${enc(toggleId)}/revert`);
      setRevertId(body.id);
    } catch (err) {
      setErrors({ '': message(err) });
    }
  };

  return (
    <section>
      <h1>SSO outage</h1>
      <p className="muted">
        When the campus identity provider is down: switch EXTERNAL users to local passwords in one job, and when it is back switch exactly that set back.
      </p>
      {errors[''] && (
        <p className="error" role="alert">
          {errors['']}
        </p>
      )}
      <form onSubmit={(e) => void start(e)} noValidate className="form">
        <div className={`field${errors.users ? ' has-error' : ''}`}>
          <label htmlFor="users">Users (primary IDs or identifiers, one a line)</label>
          <textarea
            id="users"
            rows={4}
            value={f.users}
            onChange={(e) => set('users')(e.target.value)}
            aria-invalid={errors.users ? true : undefined}
            aria-describedby={errors.users ? 'users-error' : undefined}
          />
          {errors.users && (
            <p className="field-error" id="users-error">
              {errors.users}
            </p>
          )}
        </div>
        <fieldset>
          <legend>Or every ACTIVE EXTERNAL user with</legend>
          <div className="grid">
            <Field id="record_type" label="Record type" value={f.record_type} onChange={set('record_type')} options={['', 'STAFF', 'PUBLIC', 'CONTACT']} />
            <Field id="user_group" label="User group" value={f.user_group} onChange={set('user_group')} />
            <Field id="role" label="Role type" value={f.role} onChange={set('role')} help="A role code, e.g. 50" />
          </div>
        </fieldset>
        <fieldset>
          <legend>How they get in meanwhile</legend>
          <label className="check">
            <input type="radio" name="method" value="temporary_password" checked={f.method === 'temporary_password'} onChange={() => set('method')('temporary_password')} /> A temporary
            password each (downloaded once, changed at first sign-in)
          </label>
          <label className="check">
            <input type="radio" name="method" value="link" checked={f.method === 'link'} onChange={() => set('method')('link')} /> A set-password link by e-mail
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={busy || (toggle !== null && !isFinished(toggle))}>
          {busy ? 'Starting…' : 'Switch to local passwords'}
        </button>
      </form>

      {toggle && (
        <JobView title="Switch to local passwords" job={toggle} counters={['toggled', 'skipped', 'failed']}>
          {toggle.status === 'succeeded' && token.current && !downloaded && (
            <button type="button" className="primary" onClick={() => void download()}>
              Download temporary passwords (once)
            </button>
          )}
          {downloaded && <p className="notice">Downloaded. The passwords are no longer kept by Carrel: hand each to its owner.</p>}
          {isFinished(toggle) && !revertId && (
            <button type="button" onClick={() => void startRevert()}>
              SSO is back: revert these users
            </button>
          )}
        </JobView>
      )}
      {revert && <JobView title="Revert" job={revert} counters={['reverted', 'left_alone', 'failed']} />}
      <BreakGlassAccounts />
    </section>
  );
}

async function fetchPasswords(id: string, downloadToken: string): Promise<string> {
  // CSV, not JSON: the api() helper reads JSON; the CSRF token comes from the same session.
  const { body: s } = await api<{ csrf_token: string | null }>('GET', '/session');
  const res = await fetch(`/api/v1/jobs/${enc(id)}/temporary-passwords`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'text/csv, application/json', ...(s.csrf_token ? { 'x-csrf-token': s.csrf_token } : {}) },
    body: JSON.stringify({ download_token: downloadToken }),
  });
  const text = await res.text();
  if (!res.ok) {
    let list: AlmaError[] = [];
    try {
      list = (JSON.parse(text) as { errorList?: { error?: AlmaError[] } }).errorList?.error ?? [];
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, list);
  }
  return text;
}

function JobView({ title, job, counters, children }: { title: string; job: Job; counters: string[]; children?: ReactNode }) {
  const done = job.progress.done ?? 0;
  return (
    <section className="job" aria-labelledby={`job-${job.id}`}>
      <h2 id={`job-${job.id}`}>
        {title}: <span className={`badge${job.status === 'succeeded' ? ' ok' : job.status === 'failed' ? ' off' : ''}`}>{job.status}</span>
      </h2>
      <p role="status" className="job-status">
        {done} of {job.total ?? '…'} done
        {counters.map((c) => ` · ${c.replace('_', ' ')} ${job.progress[c] ?? 0}`).join('')}
      </p>
      <progress className="progress" max={job.total ?? 1} value={job.total ? done : undefined} aria-label={`${title} progress`} />
      {job.error && <p className="error">{job.error}</p>}
      {isFinished(job) && (job.progress.failed || job.progress.skipped || job.progress.left_alone) ? (
        <p>
          <a href={`/api/v1/jobs/${enc(job.id)}/errors`}>Report of users not changed (CSV)</a>
        </p>
      ) : null}
      <div className="row">{children}</div>
    </section>
  );
}
