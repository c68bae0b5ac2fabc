// Desk registration of a walk-in patron (users:register): a short form, Enter submits, the
// barcode comes from the institution's identifier-generation rule. The new patron is shown with
// the preferred identifier first and big (the card to write or print), then "Register another".
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, enc } from '../api';
import type { AlmaUser } from '../alma';
import { fieldErrors } from '../field-errors';
import { Field } from '../form';
import { Link } from '../router';
import { useSession } from '../session';

interface CodeRow {
  code: string;
  description: string;
  enabled: boolean;
  default: boolean;
}

type Registered = AlmaUser & { preferred_identifier?: { id_type: string; value: string } | null };

const EMPTY = { first_name: '', last_name: '', email: '', phone: '', user_group: '', expiry_date: '' };

export function Register() {
  const session = useSession();
  const [groups, setGroups] = useState<CodeRow[]>([]);
  const [f, setF] = useState(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Registered | null>(null);
  const set = (k: keyof typeof f) => (v: string) => setF((old) => ({ ...old, [k]: v }));

  useEffect(() => {
    void api<{ row: CodeRow[] }>('GET', '/code-tables/UserGroups')
      .then(({ body }) => {
        const rows = body.row.filter((r) => r.enabled);
        setGroups(rows);
        const def = rows.find((r) => r.default);
        if (def) setF((old) => (old.user_group ? old : { ...old, user_group: def.code }));
      })
      .catch(() => setErrors((e) => ({ ...e, user_group: 'The user groups could not be read; reload the page.' })));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!f.first_name.trim()) missing.first_name = 'Enter a first name.';
    if (!f.last_name.trim()) missing.last_name = 'Enter a last name.';
    if (!f.user_group) missing.user_group = 'Choose a user group.';
    if (Object.keys(missing).length) return setErrors(missing);
    setBusy(true);
    setErrors({});
    try {
      const { body } = await api<Registered>('POST', '/registrations', {
        body: {
          first_name: f.first_name.trim(),
          last_name: f.last_name.trim(),
          user_group: f.user_group,
          ...(f.email.trim() ? { email: f.email.trim() } : {}),
          ...(f.phone.trim() ? { phone: f.phone.trim() } : {}),
          ...(f.expiry_date ? { expiry_date: f.expiry_date } : {}),
        },
      });
      setDone(body);
    } catch (err) {
      if (!(err instanceof ApiError)) return setErrors({ '': 'Carrel could not be reached.' });
      const byField = fieldErrors(err.errors);
      // The desk form has one e-mail and one phone: a contact refusal names which in its message.
      if (byField.contact) {
        const key = /phone/i.test(byField.contact) ? 'phone' : 'email';
        byField[key] = byField.contact;
        delete byField.contact;
      }
      setErrors(byField);
    } finally {
      setBusy(false);
    }
  };

  const again = () => {
    setDone(null);
    setF((old) => ({ ...EMPTY, user_group: groups.find((r) => r.default)?.code ?? old.user_group }));
  };

  if (done) {
    const pref = done.preferred_identifier;
    return (
      <section>
        <h1>Patron registered</h1>
        <div className="registered" role="status">
          {pref ? (
            <>
              <p className="label">{pref.id_type === 'BARCODE' ? 'Library card number' : pref.id_type}</p>
              <p className="big-id mono" data-testid="preferred-identifier">
                {pref.value}
              </p>
            </>
          ) : (
            <p>No identifier was generated: this institution has no rule for PUBLIC records.</p>
          )}
          <p>
            <strong>
              {done.first_name} {done.last_name}
            </strong>{' '}
            <span className="muted">
              (primary ID <span className="mono">{done.primary_id}</span>)
            </span>
          </p>
        </div>
        <div className="row">
          <button type="button" className="primary" onClick={again} autoFocus>
            Register another
          </button>
          <Link to={`/users/${enc(done.primary_id)}`}>Open the user page</Link>
        </div>
      </section>
    );
  }

  return (
    <section>
      <h1>Register patron</h1>
      <p className="muted">A PUBLIC patron at {session.institution}; the library card number is generated. Fields marked * are required; Enter registers.</p>
      {errors[''] && (
        <p className="error" role="alert">
          {errors['']}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate className="form">
        <div className="grid">
          <Field id="first_name" label="First name" value={f.first_name} onChange={set('first_name')} error={errors.first_name} required autoFocus />
          <Field id="last_name" label="Last name" value={f.last_name} onChange={set('last_name')} error={errors.last_name} required />
          <Field id="email" label="E-mail" type="email" value={f.email} onChange={set('email')} error={errors.email} />
          <Field id="phone" label="Phone" type="tel" value={f.phone} onChange={set('phone')} error={errors.phone} />
          <Field
            id="user_group"
            label="User group"
            value={f.user_group}
            onChange={set('user_group')}
            error={errors.user_group}
            required
            options={[{ value: '', label: 'Choose…' }, ...groups.map((g) => ({ value: g.code, label: `${g.description} (${g.code})` }))]}
          />
          <Field id="expiry_date" label="Expiry date" type="date" value={f.expiry_date} onChange={set('expiry_date')} error={errors.expiry_date} />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Registering…' : 'Register'}
        </button>
      </form>
    </section>
  );
}
