// A user's sign-in: its status (a password or not, a forced change, locked out, break-glass: GET
// sign-in-status, for anyone who may read users), account type (and the switch between EXTERNAL
// and INTERNAL), a new password or an e-mailed set-password link, and the live sessions (end one
// or all). The changes are /api/v1 identity routes that need credentials:manage, so without it
// the tab only tells.
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, enc } from '../api';
import { codeText, type AlmaUser } from '../alma';
import { Field } from '../form';
import { useCan } from '../session';

interface SessionRow {
  id: string;
  auth_method: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
  client_address: string | null;
}

interface SignInStatus {
  has_password: boolean;
  password_allowed: boolean;
  must_change: boolean;
  imported: boolean;
  password_changed_at: string | null;
  last_login_at: string | null;
  locked_out: boolean;
  locked_until: string | null;
  locked_places: number;
  break_glass: boolean;
}

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function SignInTab({ user, onChanged }: { user: AlmaUser; onChanged: () => void }) {
  const can = useCan();
  const manage = can('credentials:manage');
  const [sessions, setSessions] = useState<SessionRow[] | null>(null);
  const [status, setStatus] = useState<SignInStatus | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [forceChange, setForceChange] = useState(true);
  const [message, setMessage] = useState<{ kind: 'notice' | 'error'; text: string } | null>(null);
  const [passwordError, setPasswordError] = useState<string | undefined>();
  const id = enc(user.primary_id);

  const loadSessions = async () => {
    try {
      setSessions((await api<{ sessions: SessionRow[] }>('GET', `/users/${id}/sessions`)).body.sessions);
    } catch {
      setSessions([]);
    }
  };
  const loadStatus = async () => {
    try {
      setStatus((await api<SignInStatus>('GET', `/users/${id}/sign-in-status`)).body);
      setStatusError(null);
    } catch (e) {
      setStatusError(e instanceof Error ? e.message : 'The sign-in status could not be read.');
    }
  };
  useEffect(() => {
    void loadStatus();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, user.account_type.value]);
  useEffect(() => {
    if (manage) void loadSessions();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [manage, id]);

  const run = async (what: () => Promise<string>) => {
    setMessage(null);
    setPasswordError(undefined);
    try {
      setMessage({ kind: 'notice', text: await what() });
      void loadStatus();
    } catch (e) {
      if (e instanceof ApiError && e.code === '500038') setPasswordError(e.message);
      else setMessage({ kind: 'error', text: e instanceof Error ? e.message : 'That did not work.' });
    }
  };

  const setNewPassword = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await api('POST', `/users/${id}/password`, { body: { password, force_change: forceChange } });
      setPassword('');
      void loadSessions();
      return forceChange ? 'Password set. The user chooses a new one at the next sign-in.' : 'Password set.';
    });
  };

  const sendLink = () =>
    run(async () => {
      const { body } = await api<{ to: string; expires_at: string }>('POST', `/users/${id}/set-password-link`);
      return `A set-password link was sent to ${body.to}; it works until ${when(body.expires_at)}.`;
    });

  const toggle = () =>
    run(async () => {
      const to = user.account_type.value === 'EXTERNAL' ? 'INTERNAL' : 'EXTERNAL';
      await api('POST', `/users/${id}/account-type`, { body: to === 'INTERNAL' ? { account_type: to, send_link: true } : { account_type: to } });
      onChanged();
      return to === 'INTERNAL' ? 'The user is now INTERNAL and was sent a set-password link.' : 'The user is now EXTERNAL and signs in through the campus login.';
    });

  const endSessions = (sessionId?: string) =>
    run(async () => {
      const { body } = await api<{ revoked: number }>('DELETE', `/users/${id}/sessions${sessionId ? `/${sessionId}` : ''}`);
      await loadSessions();
      return body.revoked === 1 ? 'One session ended.' : `${body.revoked} sessions ended.`;
    });

  return (
    <div>
      <div className="grid">
        <Field id="si-account-type" label="Account type" value={codeText(user.account_type)} />
        <Field id="si-external-id" label="External ID" value={user.external_id ?? ''} />
      </div>
      <div className="segment">
        <h2 id="si-status-title">Sign-in status</h2>
        {statusError ? (
          <p className="error" role="alert">
            {statusError}
          </p>
        ) : !status ? (
          <p role="status">Loading…</p>
        ) : (
          <StatusFacts status={status} />
        )}
      </div>
      {message && (
        <p className={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
      {!manage ? (
        <p className="muted">Passwords, links and sessions are managed by staff with a user manager or user administrator role.</p>
      ) : (
        <>
          <div className="segment">
            <h2>Account type</h2>
            <p>
              {user.account_type.value === 'EXTERNAL'
                ? 'The user signs in through the institution’s login (SSO). Making the account INTERNAL e-mails a set-password link.'
                : 'The user signs in with a Carrel password.'}
            </p>
            <button type="button" onClick={() => void toggle()}>
              Make {user.account_type.value === 'EXTERNAL' ? 'INTERNAL' : 'EXTERNAL'}
            </button>
          </div>
          <form className="segment" onSubmit={setNewPassword}>
            <h2>Password</h2>
            <div className="row">
              <Field id="new-password" label="New password" type="password" autoComplete="new-password" value={password} onChange={setPassword} error={passwordError} />
              <label className="check">
                <input type="checkbox" checked={forceChange} onChange={(e) => setForceChange(e.target.checked)} /> Must change at next sign-in
              </label>
            </div>
            <button type="submit" className="primary" disabled={!password}>
              Set password
            </button>{' '}
            <button type="button" onClick={() => void sendLink()}>
              E-mail a set-password link
            </button>
          </form>
          <div className="segment">
            <h2>Sessions</h2>
            {sessions === null ? (
              <p role="status">Loading…</p>
            ) : sessions.length === 0 ? (
              <p className="muted">No live sessions.</p>
            ) : (
              <>
                <table className="data compact">
                  <thead>
                    <tr>
                      <th scope="col">Method</th>
                      <th scope="col">Started</th>
                      <th scope="col">Last seen</th>
                      <th scope="col">From</th>
                      <th scope="col">Browser</th>
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {sessions.map((s) => (
                      <tr key={s.id}>
                        <td>{s.auth_method}</td>
                        <td>{when(s.created_at)}</td>
                        <td>{when(s.last_seen_at)}</td>
                        <td className="mono">{s.client_address ?? ''}</td>
                        <td className="ellipsis">{s.user_agent ?? ''}</td>
                        <td>
                          <button type="button" className="small" onClick={() => void endSessions(s.id)}>
                            End<span className="sr-only"> session started {when(s.created_at)}</span>
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <button type="button" onClick={() => void endSessions()}>
                  End all sessions
                </button>
              </>
            )}
          </div>
        </>
      )}
    </div>
  );
}

function StatusFacts({ status: s }: { status: SignInStatus }) {
  const password = s.has_password
    ? `Has a password${s.imported ? ' (imported from another system; re-hashed at the next sign-in)' : ''}`
    : s.password_allowed
      ? 'No password: the user cannot sign in with one until it is set'
      : 'No password (signs in through the institution’s login)';
  const locked = s.locked_out
    ? `Yes: places it has not signed in from are refused until ${when(s.locked_until!)}`
    : s.locked_places > 0
      ? 'Not from everywhere'
      : 'No';
  return (
    <dl className="facts" aria-labelledby="si-status-title">
      <dt>Password</dt>
      <dd id="si-password">{password}</dd>
      {s.has_password && (
        <>
          <dt>Must change at next sign-in</dt>
          <dd id="si-must-change">{s.must_change ? 'Yes' : 'No'}</dd>
          <dt>Password set</dt>
          <dd>{s.password_changed_at ? when(s.password_changed_at) : 'Unknown'}</dd>
        </>
      )}
      <dt>Locked out</dt>
      <dd id="si-locked">
        {locked}
        {s.locked_places > 0 && ` (${s.locked_places === 1 ? 'one place is' : `${s.locked_places} places are`} refused after too many wrong passwords in a row)`}
        {(s.locked_out || s.locked_places > 0) && '. A new password lifts this.'}
      </dd>
      <dt>Break-glass account</dt>
      <dd id="si-break-glass">{s.break_glass ? 'Yes: every sign-in is announced to the consortium office' : 'No'}</dd>
      <dt>Last sign-in</dt>
      <dd>{s.last_login_at ? when(s.last_login_at) : 'None recorded'}</dd>
    </dl>
  );
}
