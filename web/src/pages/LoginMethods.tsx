// Settings → Login methods (config:manage): the institution's methods, one method's form (a JSON
// editor for the type's settings) and enable/disable. Secrets come back from the API as "set" and
// are never shown: left as "set" the stored value is kept, a new value replaces it. Validation is
// the server's (domain/sign-in/login-methods.ts); its message is shown as it words it.
import { useEffect, useState, type FormEvent } from 'react';
import { api, enc, errorText as message } from '../api';
import { Field } from '../form';
import { useGet } from '../use-get';
import { Link, navigate } from '../router';

interface Method {
  code: string;
  type: string;
  label: string;
  match: string;
  config: Record<string, unknown>;
  jit: { record_type: string; user_group: string | null } | null;
  enabled: boolean;
  position: number;
  urls?: Record<string, string>;
}

const TYPES = ['saml', 'cas', 'ldap', 'oidc', 'google', 'facebook', 'twitter', 'email-link'];


export function LoginMethodList() {
  const list = useGet<{ login_method: Method[] }>('/login-methods');
  const methods = list.data?.login_method;
  const [error, setError] = useState('');
  const toggle = async (m: Method) => {
    setError('');
    try {
      await api('PUT', `/login-methods/${enc(m.code)}`, { body: { enabled: !m.enabled } });
      await list.reload();
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <section>
      <div className="title-row">
        <h1>Login methods</h1>
        <Link to="/settings/login-methods/new" className="button-link">
          New login method
        </Link>
      </div>
      <p className="muted">The ways this institution's users sign in, in the login page's order.</p>
      {(error || list.error) && (
        <p className="error" role="alert">
          {error || list.error}
        </p>
      )}
      {methods && methods.length === 0 && <p>No login methods yet: users sign in with a local password only.</p>}
      {methods && methods.length > 0 && (
        <table className="data compact">
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Type</th>
              <th scope="col">Button label</th>
              <th scope="col">Matches on</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {methods.map((m) => (
              <tr key={m.code}>
                <td className="mono">
                  <Link to={`/settings/login-methods/${enc(m.code)}`}>{m.code}</Link>
                </td>
                <td>{m.type}</td>
                <td>{m.label}</td>
                <td className="mono">{m.match}</td>
                <td>{m.enabled ? <span className="badge ok">Enabled</span> : <span className="badge off">Disabled</span>}</td>
                <td>
                  <button type="button" className="small" onClick={() => void toggle(m)} aria-label={`${m.enabled ? 'Disable' : 'Enable'} ${m.code}`}>
                    {m.enabled ? 'Disable' : 'Enable'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function LoginMethodPage({ code }: { code: string | null }) {
  const creating = code === null;
  const [f, setF] = useState({ code: '', type: 'oidc', label: '', match: 'primary_id', config: '{}', jitType: '', jitGroup: '', enabled: false, position: '' });
  const [loaded, setLoaded] = useState<Method | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (v: string) => setF((old) => ({ ...old, [k]: v }));

  const show = (m: Method) => {
    setLoaded(m);
    setF({
      code: m.code,
      type: m.type,
      label: m.label,
      match: m.match,
      config: JSON.stringify(m.config, null, 2),
      jitType: m.jit?.record_type ?? '',
      jitGroup: m.jit?.user_group ?? '',
      enabled: m.enabled,
      position: String(m.position),
    });
  };
  useEffect(() => {
    if (creating) return;
    void api<Method>('GET', `/login-methods/${enc(code)}`)
      .then(({ body }) => show(body))
      .catch((e) => setErrors({ '': message(e) }));
  }, [code, creating]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setNotice('');
    let config: unknown;
    try {
      config = JSON.parse(f.config || '{}');
      if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('not an object');
    } catch {
      return setErrors({ config: 'The settings must be a JSON object, e.g. {"issuer": "https://idp.example.edu"}.' });
    }
    const body: Record<string, unknown> = {
      label: f.label,
      match: f.match,
      config,
      enabled: f.enabled,
      jit: f.jitType ? { record_type: f.jitType, user_group: f.jitGroup || null } : null,
      ...(f.position.trim() && /^-?\d+$/.test(f.position.trim()) ? { position: Number(f.position.trim()) } : {}),
    };
    if (creating) Object.assign(body, { code: f.code.trim(), type: f.type });
    setBusy(true);
    setErrors({});
    try {
      const { body: saved } = creating
        ? await api<Method>('POST', '/login-methods', { body })
        : await api<Method>('PUT', `/login-methods/${enc(code)}`, { body });
      if (creating) return navigate(`/settings/login-methods/${enc(saved.code)}`);
      show(saved);
      setNotice('Saved.');
    } catch (err) {
      setErrors({ [fieldOfMessage(message(err))]: message(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <p className="crumbs">
        <Link to="/settings/login-methods">Login methods</Link> /
      </p>
      <h1>{creating ? 'New login method' : code}</h1>
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
        <form onSubmit={(e) => void submit(e)} noValidate className="form">
          <div className="grid">
            {creating ? (
              <Field id="code" label="Code" value={f.code} onChange={set('code')} error={errors.code} required autoFocus help="Lower-case letters, digits, - and _; part of the URLs campus IT registers." />
            ) : (
              <Field id="code" label="Code" value={f.code} />
            )}
            {creating ? (
              <Field id="type" label="Type" value={f.type} onChange={set('type')} options={TYPES} error={errors.type} required />
            ) : (
              <Field id="type" label="Type" value={f.type} />
            )}
            <Field id="label" label="Button label" value={f.label} onChange={set('label')} error={errors.label} required />
            <Field id="match" label="Matches on" value={f.match} onChange={set('match')} error={errors.match} help="primary_id or an identifier type code (UNIV_ID …)" />
            <Field id="position" label="Position" value={f.position} onChange={set('position')} error={errors.position} help="Order on the login page" />
            <Field
              id="jit_type"
              label="Create unknown users as"
              value={f.jitType}
              onChange={set('jitType')}
              error={errors.jit}
              options={[{ value: '', label: 'Do not create (match existing users only)' }, 'PUBLIC', 'STAFF', 'CONTACT']}
            />
            {f.jitType && <Field id="jit_group" label="Their user group" value={f.jitGroup} onChange={set('jitGroup')} />}
          </div>
          <div className={`field${errors.config ? ' has-error' : ''}`}>
            <label htmlFor="config">Settings (JSON)</label>
            <textarea
              id="config"
              className="json"
              spellCheck={false}
              value={f.config}
              onChange={(e) => set('config')(e.target.value)}
              aria-invalid={errors.config ? true : undefined}
              aria-describedby={`config-help${errors.config ? ' config-error' : ''}`}
            />
            <p className="help" id="config-help">
              The type's settings. A secret shows as "set" and is never displayed: leave "set" to keep it, or type a new value to replace it.
            </p>
            {errors.config && (
              <p className="field-error" id="config-error" role="alert">
                {errors.config}
              </p>
            )}
          </div>
          <label className="check">
            <input type="checkbox" checked={f.enabled} onChange={(e) => setF((old) => ({ ...old, enabled: e.target.checked }))} /> Enabled (shown on the login page)
          </label>
          {loaded?.urls && Object.keys(loaded.urls).length > 0 && (
            <>
              <h2>Addresses for campus IT</h2>
              <dl className="urls">
                {Object.entries(loaded.urls).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd className="mono">{v}</dd>
                  </div>
                ))}
              </dl>
            </>
          )}
          <div className="row actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Saving…' : creating ? 'Create login method' : 'Save'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

/** Which field a refusal is about, from the server's wording ("config: …", "label …", "jit record type …"). */
function fieldOfMessage(m: string): string {
  const lower = m.toLowerCase();
  for (const [k, re] of [
    ['jit', /\bjit\b/],
    ['code', /\bcode\b/],
    ['type', /\btype must\b|\bis not available\b/],
    ['label', /\blabel\b/],
    ['match', /\bmatch\b/],
    ['position', /\bposition\b/],
    ['config', /\bconfig\b|\bissuer\b|\bclient|\burl\b|\bsecret\b|\bcertificate\b/],
  ] as const) {
    if (re.test(lower)) return k;
  }
  return '';
}
