// Settings → Passwords and sessions: the institution's password policy (minimum length, character
// classes, EXTERNAL users' local password), the sign-in lockout, and — when the institution is in
// a network — the network's settings (named-user licence, break-glass notices), editable only by
// the network zone's administrators (the server's rule; the page only follows its answer).
import { Field, SectionError } from '../form';
import { useSession } from '../session';
import { idOf, numberOrText, SaveButton, SaveStatus, useSettings, type SettingsForm } from '../settings-form';

const CLASSES = [
  { value: 'lower', label: 'A lower-case letter' },
  { value: 'upper', label: 'An upper-case letter' },
  { value: 'digit', label: 'A digit' },
  { value: 'symbol', label: 'A symbol' },
];

/** A number setting's field: its value as typed, the server's refusal at it. */
function NumberField({ form, path, label, help, nullable }: { form: SettingsForm; path: string; label: string; help?: string; nullable?: boolean }) {
  const value = form.draft?.[path];
  return (
    <Field
      id={idOf(path)}
      label={label}
      type="number"
      value={value === null || value === undefined ? '' : String(value)}
      onChange={(v) => form.set(path, nullable && v.trim() === '' ? null : numberOrText(v))}
      error={form.errorAt(path)}
      {...(help ? { help } : {})}
    />
  );
}

export function SecuritySettings() {
  const form = useSettings('institution');
  const d = form.draft;
  const classes = (d?.password_required_classes ?? []) as string[];
  const toggle = (c: string, on: boolean) => form.set('password_required_classes', on ? [...classes, c] : classes.filter((x) => x !== c));
  const classError = form.errorAt('password_required_classes');

  return (
    <section>
      <h1>Passwords and sessions</h1>
      {d && (
        <form onSubmit={(e) => void form.save(e)} noValidate className="form" aria-label="Password policy and lockout">
          <h2>Password policy</h2>
          <p className="help">Every password is also refused when it contains the user&apos;s name or an identifier, or is a commonly used password.</p>
          <div className="grid">
            <NumberField form={form} path="password_min_length" label="Minimum length" help="At least 8 characters." />
          </div>
          <fieldset className={classError ? 'has-error' : undefined} aria-describedby={classError ? 'password_required_classes-error' : undefined}>
            <legend>Required character classes</legend>
            {CLASSES.map((c) => (
              <label className="check" key={c.value}>
                <input type="checkbox" checked={classes.includes(c.value)} onChange={(e) => toggle(c.value, e.target.checked)} /> {c.label}
              </label>
            ))}
            {classError && (
              <p className="field-error" id="password_required_classes-error">
                {classError}
              </p>
            )}
          </fieldset>
          <label className="check">
            <input type="checkbox" checked={d.external_password_fallback === true} onChange={(e) => form.set('external_password_fallback', e.target.checked)} /> Users
            signing in through an identity provider (EXTERNAL) may also hold a local password
          </label>
          <SectionError error={form.errorAt('external_password_fallback')} />

          <h2>Lockout</h2>
          <p className="help">
            Failed sign-ins from one address before it is refused for the account, and for how long. An account accepts twice as many from all addresses together,
            then one try per lockout period.
          </p>
          <div className="grid">
            <NumberField form={form} path="login_max_failures" label="Failed sign-ins allowed" />
            <NumberField form={form} path="login_lock_minutes" label="Lockout (minutes)" />
          </div>
          <SaveStatus form={form} />
          <SaveButton form={form} />
        </form>
      )}
      {!d && <SaveStatus form={form} />}

      <h2>Sessions</h2>
      <p className="help">
        How long a console or login session lasts when idle, and at most, is set for the whole Carrel server (CARREL_SESSION_IDLE_MINUTES and
        CARREL_SESSION_ABSOLUTE_MINUTES), not per institution. Whether a shared account may have two live sessions is set on the user&apos;s page.
      </p>
      <NetworkSettings />
    </section>
  );
}

const lines = (v: string) => v.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);

/** The network's settings: shown to a member's administrators, changed by the zone's. */
function NetworkSettings() {
  const session = useSession();
  const form = useSettings('network');
  const d = form.draft;
  if (form.absent || !d) return form.loadError ? <SaveStatus form={form} /> : null;
  const zone = form.headers?.get('x-carrel-network-zone');
  const network = form.headers?.get('x-carrel-network') ?? '';
  const mayChange = zone === session.institution;
  const edit = <T,>(f: T) => (mayChange ? f : undefined);
  const addresses = (path: string, label: string, help: string) => (
    <AddressList form={form} path={path} label={label} help={help} readOnly={!mayChange} />
  );
  const licence = d.named_user_license;
  return (
    <form onSubmit={(e) => void form.save(e)} noValidate className="form" aria-labelledby="network-heading">
      <h2 id="network-heading">Network {network}</h2>
      <p className="help">
        {mayChange ? 'Settings for every institution of the network.' : `Set by the administrators of the network zone${zone ? ` (${zone})` : ''}; shown here to read.`}
      </p>
      <div className="grid">
        {mayChange ? (
          <NumberField form={form} path="named_user_license" label="Named-user licence" nullable help="Named users the licence allows; empty when not tracked." />
        ) : (
          <Field id="named_user_license" label="Named-user licence" value={licence === null ? 'Not tracked' : String(licence)} />
        )}
        {mayChange ? (
          <NumberField form={form} path="named_user_warn_percent" label="Warn from (percent of the licence)" />
        ) : (
          <Field id="named_user_warn_percent" label="Warn from (percent of the licence)" value={String(d.named_user_warn_percent)} />
        )}
        <Field
          id="named_user_at_limit"
          label="At the licence"
          value={String(d.named_user_at_limit)}
          onChange={edit((v: string) => form.set('named_user_at_limit', v))}
          options={[
            { value: 'warn', label: 'Warn only' },
            { value: 'refuse', label: 'Refuse new named users' },
          ]}
          error={form.errorAt('named_user_at_limit')}
        />
      </div>
      {addresses('named_user_notify', 'Named-user notices to', 'One e-mail address a line: told when the count nears or reaches the licence.')}
      {addresses('break_glass_notify', 'Break-glass notices to', 'One e-mail address a line: told each time a break-glass account signs in.')}
      {mayChange ? (
        <label className="check">
          <input type="checkbox" checked={d.unique_ids_across_network === true} onChange={(e) => form.set('unique_ids_across_network', e.target.checked)} /> Primary
          ids and identifiers unique across the network
        </label>
      ) : (
        <p>Primary ids and identifiers unique across the network: {d.unique_ids_across_network ? 'yes' : 'no'}</p>
      )}
      {mayChange && (
        <>
          <SaveStatus form={form} />
          <SaveButton form={form} label="Save network settings" />
        </>
      )}
    </form>
  );
}

function AddressList({ form, path, label, help, readOnly }: { form: SettingsForm; path: string; label: string; help: string; readOnly: boolean }) {
  const list = (form.draft?.[path] ?? []) as string[];
  const id = idOf(path);
  const error = form.errorAt(path);
  if (readOnly) return <Field id={id} label={label} value={list.join(', ')} />;
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        className="addresses"
        rows={3}
        defaultValue={list.join('\n')}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`}
        onChange={(e) => form.set(path, lines(e.target.value))}
      />
      <p className="help" id={`${id}-help`}>
        {help}
      </p>
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
