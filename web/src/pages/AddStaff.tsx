// Add a staff user: a STAFF record with its roles at this institution, an INTERNAL account with
// a first password (changed at the first sign-in) or none (then a set-password link from the
// user's Sign-in tab). Refusals appear at their fields.
import { useState, type FormEvent } from 'react';
import { api, ApiError, enc } from '../api';
import type { AlmaUser } from '../alma';
import { fieldErrors } from '../field-errors';
import { Field } from '../form';
import { navigate } from '../router';
import { useSession } from '../session';

// Alma's staff role codes Carrel acts on (src/domain/access/actor.ts gives each its permissions).
const STAFF_ROLES = [
  { code: '50', label: 'User Administrator' },
  { code: '21', label: 'User Manager' },
  { code: '26', label: 'General System Administrator' },
  { code: '221', label: 'Circulation Desk Manager' },
  { code: '32', label: 'Circulation Desk Operator' },
];

export function AddStaff() {
  const session = useSession();
  const [f, setF] = useState({ primary_id: '', first_name: '', last_name: '', email: '', user_group: '', expiry_date: '', password: '' });
  const [roles, setRoles] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (v: string) => setF((old) => ({ ...old, [k]: v }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!f.primary_id.trim()) missing.primary_id = 'Enter a primary ID (the user name).';
    if (!f.last_name.trim()) missing.last_name = 'Enter a last name.';
    if (Object.keys(missing).length) return setErrors(missing);
    const body = {
      record_type: { value: 'STAFF' },
      primary_id: f.primary_id.trim(),
      first_name: f.first_name.trim(),
      last_name: f.last_name.trim(),
      account_type: { value: 'INTERNAL' },
      status: { value: 'ACTIVE' },
      ...(f.user_group.trim() ? { user_group: { value: f.user_group.trim() } } : {}),
      ...(f.expiry_date ? { expiry_date: `${f.expiry_date}Z` } : {}),
      contact_info: f.email.trim() ? { email: [{ email_address: f.email.trim(), email_type: [{ value: 'work' }], preferred: true }] } : { email: [] },
      user_role: roles.map((r) => ({ role_type: { value: r }, scope: { value: session.institution }, status: { value: 'ACTIVE' } })),
      ...(f.password ? { password: f.password, force_password_change: 'TRUE' } : {}),
    };
    setBusy(true);
    setErrors({});
    try {
      const { body: created } = await api<AlmaUser>('POST', '/users', { body });
      navigate(`/users/${enc(created.primary_id)}`);
    } catch (err) {
      setErrors(err instanceof ApiError ? fieldErrors(err.errors) : { '': 'Carrel could not be reached.' });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Add staff user</h1>
      <p className="muted">A staff record at {session.institution}. Fields marked * are required.</p>
      {errors[''] && (
        <p className="error" role="alert">
          {errors['']}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate className="form">
        <div className="grid">
          <Field id="primary_id" label="Primary ID (user name)" value={f.primary_id} onChange={set('primary_id')} error={errors.primary_id ?? errors.identifiers} required />
          <Field id="first_name" label="First name" value={f.first_name} onChange={set('first_name')} error={errors.first_name} />
          <Field id="last_name" label="Last name" value={f.last_name} onChange={set('last_name')} error={errors.last_name} required />
          <Field id="email" label="E-mail" type="email" value={f.email} onChange={set('email')} error={errors.contact} autoComplete="off" />
          <Field id="user_group" label="User group" value={f.user_group} onChange={set('user_group')} error={errors.user_group} help="A code, e.g. LIBSTAFF" />
          <Field id="expiry_date" label="Expiry date" type="date" value={f.expiry_date} onChange={set('expiry_date')} error={errors.expiry_date} />
          <Field
            id="password"
            label="First password"
            type="password"
            autoComplete="new-password"
            value={f.password}
            onChange={set('password')}
            error={errors.password}
            help="Optional; the user must change it at the first sign-in. Or send a set-password link later."
          />
        </div>
        <fieldset className={errors.roles ? 'has-error' : undefined}>
          <legend>Roles at {session.institution}</legend>
          {STAFF_ROLES.map((r) => (
            <label className="check" key={r.code}>
              <input
                type="checkbox"
                checked={roles.includes(r.code)}
                onChange={(e) => setRoles((old) => (e.target.checked ? [...old, r.code] : old.filter((c) => c !== r.code)))}
              />{' '}
              {r.label} <span className="muted">({r.code})</span>
            </label>
          ))}
          {errors.roles && <p className="field-error">{errors.roles}</p>}
        </fieldset>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create staff user'}
        </button>
      </form>
    </section>
  );
}
