// A user's page: the record in tabs (general, identifiers, roles, contact, notes and blocks,
// sign-in, history). Editing changes a copy of the record read; saving sends it whole (Alma's PUT)
// with If-Match: the version read. If someone else saved meanwhile, the server refuses (412)
// and the page says so and offers to reload: it never overwrites their change.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { CodesContext, createCodeCache } from '../codes';
import { api, ApiError, enc } from '../api';
import { codeText, nameOf, type AlmaUser } from '../alma';
import { fieldErrors } from '../field-errors';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { ContactSection, GeneralSection, IdentifiersSection, NotesSection } from './user-sections';
import { RolesSection } from './user-roles';
import { SignInTab } from './SignInTab';
import { HistoryTab } from './HistoryTab';
import { ProtectedFields } from './ProtectedFields';

const TABS = [
  { id: 'general', label: 'General' },
  { id: 'identifiers', label: 'Identifiers' },
  { id: 'roles', label: 'Roles' },
  { id: 'contact', label: 'Contact' },
  { id: 'notes', label: 'Notes and blocks' },
  { id: 'sign-in', label: 'Sign-in' },
  { id: 'history', label: 'History' },
] as const;
type Tab = (typeof TABS)[number]['id'];

/** Which tab shows the error of a form field (so a refused save opens the right one). */
const TAB_OF_FIELD: Record<string, Tab> = { identifiers: 'identifiers', roles: 'roles', contact: 'contact', notes: 'notes', blocks: 'notes' };

export type Update = (change: (draft: AlmaUser) => void) => void;

export function UserPage({ id }: { id: string }) {
  const can = useCan();
  const [user, setUser] = useState<AlmaUser | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [draft, setDraft] = useState<AlmaUser | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [loadError, setLoadError] = useState<string | null>(null);
  const [conflict, setConflict] = useState(false);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [tab, setTab] = useState<Tab>('general');
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  // The code tables the selects offer, each read once while this page is open (codes.ts).
  const [codes] = useState(createCodeCache);

  const load = useCallback(async () => {
    try {
      const res = await api<AlmaUser>('GET', `/users/${enc(id)}`);
      setUser(res.body);
      setEtag(res.etag);
      setLoadError(null);
    } catch (e) {
      setLoadError(e instanceof ApiError && e.code === '401861' ? `There is no user ${id}.` : e instanceof Error ? e.message : 'Loading failed.');
    }
  }, [id]);

  useEffect(() => {
    setUser(null);
    setDraft(null);
    setErrors({});
    setConflict(false);
    void load();
  }, [load]);

  const update: Update = (change) =>
    setDraft((d) => {
      if (!d) return d;
      const next = structuredClone(d);
      change(next);
      return next;
    });

  const edit = () => {
    setDraft(structuredClone(user));
    setSaved(false);
    setErrors({});
  };

  const save = async () => {
    if (!draft) return;
    setBusy(true);
    setErrors({});
    const body: Record<string, unknown> = { ...draft };
    // Output-only members of the record read; a password is set on the sign-in tab, never here.
    for (const k of ['password', 'pin_number', 'full_name', 'link', 'requests', 'loans', 'fees']) delete body[k];
    try {
      const res = await api<AlmaUser>('PUT', `/users/${enc(user!.primary_id)}`, { body, ifMatch: etag });
      setUser(res.body);
      setEtag(res.etag);
      setDraft(null);
      setSaved(true);
      if (res.body.primary_id !== id) navigate(`/users/${enc(res.body.primary_id)}`, { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) setConflict(true);
      else if (e instanceof ApiError) {
        const byField = fieldErrors(e.errors);
        setErrors(byField);
        // Open the tab of the first field refused, where its message is.
        const first = Object.keys(byField).find((k) => k !== '');
        if (first) setTab(TAB_OF_FIELD[first] ?? 'general');
      } else setErrors({ '': 'Saving failed: Carrel could not be reached.' });
    } finally {
      setBusy(false);
    }
  };

  const reload = async () => {
    setConflict(false);
    setDraft(null);
    setErrors({});
    await load();
  };

  const onTabKey = (e: KeyboardEvent<HTMLButtonElement>) => {
    const at = TABS.findIndex((t) => t.id === tab);
    const to = e.key === 'ArrowRight' ? at + 1 : e.key === 'ArrowLeft' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (to === null) return;
    e.preventDefault();
    const next = TABS[(to + TABS.length) % TABS.length]!;
    setTab(next.id);
    tabRefs.current[next.id]?.focus();
  };

  if (loadError) {
    return (
      <section>
        <p className="crumbs">
          <Link to="/users">Find users</Link>
        </p>
        <h1>User not found</h1>
        <p role="alert">{loadError}</p>
      </section>
    );
  }
  if (!user) return <p role="status">Loading…</p>;

  const editing = draft !== null;
  const shown = draft ?? user;
  const writable = can('users:write');
  return (
    <CodesContext.Provider value={codes}>
    <section>
      <p className="crumbs">
        <Link to="/users">Find users</Link> › {user.primary_id}
      </p>
      <div className="title-row">
        <h1>
          {nameOf(user)} <span className="muted mono">{user.primary_id}</span>
        </h1>
        <span className={`badge ${user.status.value === 'ACTIVE' ? 'ok' : 'off'}`}>{user.status.value === 'ACTIVE' ? 'Active' : 'Inactive'}</span>
        <span className="badge">{codeText(user.record_type)}</span>
        <span className="spacer" />
        {writable && !editing && (
          <button type="button" className="primary" onClick={edit}>
            Edit
          </button>
        )}
        {editing && (
          <>
            <button type="button" onClick={() => setDraft(null)} disabled={busy}>
              Cancel
            </button>
            <button type="button" className="primary" onClick={() => void save()} disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </>
        )}
      </div>
      {saved && !editing && (
        <p className="notice" role="status">
          Saved.
        </p>
      )}
      {conflict && (
        <div className="conflict" role="alertdialog" aria-labelledby="conflict-title" aria-describedby="conflict-text">
          <h2 id="conflict-title">Someone else changed this user</h2>
          <p id="conflict-text">
            The record was saved by someone else after you opened it. Your changes were not saved, and theirs were not overwritten. Reload to see
            the current record (your edits will be discarded), or keep your edits to copy them first.
          </p>
          <button type="button" className="primary" onClick={() => void reload()} autoFocus>
            Reload the current record
          </button>{' '}
          <button type="button" onClick={() => setConflict(false)}>
            Keep my edits for now
          </button>
        </div>
      )}
      {errors[''] && (
        <p className="error" role="alert">
          {errors['']}
        </p>
      )}
      <div className="tabs" role="tablist" aria-label="User record">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            ref={(el) => {
              tabRefs.current[t.id] = el;
            }}
            onClick={() => setTab(t.id)}
            onKeyDown={onTabKey}
            className={hasError(errors, t.id) ? 'tab-error' : undefined}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'general' && <GeneralSection user={shown} update={editing ? update : null} errors={errors} />}
        {tab === 'general' && !editing && <ProtectedFields primaryId={user.primary_id} canRestore={writable} onChanged={() => void load()} />}
        {tab === 'identifiers' && <IdentifiersSection user={shown} update={editing ? update : null} errors={errors} />}
        {tab === 'roles' && <RolesSection user={shown} update={editing ? update : null} errors={errors} />}
        {tab === 'contact' && <ContactSection user={shown} update={editing ? update : null} errors={errors} />}
        {tab === 'notes' && <NotesSection user={shown} update={editing ? update : null} errors={errors} />}
        {tab === 'sign-in' && <SignInTab user={user} onChanged={() => void load()} />}
        {tab === 'history' && <HistoryTab primaryId={user.primary_id} />}
      </div>
    </section>
    </CodesContext.Provider>
  );
}

function hasError(errors: Record<string, string>, tab: Tab): boolean {
  return Object.keys(errors).some((k) => k !== '' && (TAB_OF_FIELD[k] ?? 'general') === tab);
}
