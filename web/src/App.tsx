// The console's frame: it finds the session (or sends the browser to sign in), then shows the
// navigation the session's permissions allow and the page of the current address.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { api, ApiError, rememberCsrf, type Permission, type Session } from './api';
import { Link, match, navigate, useLocation } from './router';
import { INSTITUTION_CODE, rememberedInstitution, rememberInstitution, sendToLogin, SessionContext } from './session';
import { Chooser } from './pages/Chooser';
import { FindUsers } from './pages/FindUsers';
import { UserPage } from './pages/UserPage';
import { AddStaff } from './pages/AddStaff';
import { Register } from './pages/Register';
import { CodeTableList, CodeTablePage } from './pages/CodeTables';
import { LoginMethodList, LoginMethodPage } from './pages/LoginMethods';
import { Outage } from './pages/Outage';
import { IdentifierSettings } from './pages/IdentifierSettings';
import { SecuritySettings } from './pages/SecuritySettings';
import { SisProfiles } from './pages/Sis';
import { SisProfile } from './pages/SisProfile';
import { SisJob } from './pages/SisJob';
import { NamedUsers } from './pages/NamedUsers';
import { ApiKeys } from './pages/ApiKeys';

interface PageDef {
  path: string;
  label: string;
  permission: Permission;
  render: (params: Record<string, string>) => ReactNode;
  /** Shown in the navigation (a user's page is reached from a search, not the menu). */
  nav?: boolean;
  /** The navigation entry needs more than the page (code tables: any reader may look, the menu is for administrators). */
  navPermission?: Permission;
  /** A heading the entry sits under in the navigation. */
  group?: 'Settings';
}

// The console's pages. Later slices of issue 10 add theirs here, each behind its permission:
// desk registration (users:register), settings and code tables (config:manage), SIS profiles and
// loads (sis:manage), the SSO outage switch (credentials:manage), named users (named-users:report).
const PAGES: PageDef[] = [
  { path: '/users', label: 'Find users', permission: 'users:read', nav: true, render: () => <FindUsers /> },
  { path: '/users/:id', label: 'User', permission: 'users:read', render: (p) => <UserPage id={p.id!} /> },
  { path: '/staff/new', label: 'Add staff user', permission: 'users:write', nav: true, render: () => <AddStaff /> },
  { path: '/register', label: 'Register patron', permission: 'users:register', nav: true, render: () => <Register /> },
  { path: '/settings/code-tables', label: 'Code tables', permission: 'users:read', navPermission: 'config:manage', nav: true, group: 'Settings', render: () => <CodeTableList /> },
  { path: '/named-users', label: 'Named users', permission: 'named-users:report', nav: true, render: () => <NamedUsers /> },
  { path: '/outage', label: 'SSO outage', permission: 'credentials:manage', nav: true, render: () => <Outage /> },
  { path: '/sis', label: 'SIS loads', permission: 'sis:manage', nav: true, render: () => <SisProfiles /> },
  { path: '/sis/new', label: 'New integration profile', permission: 'sis:manage', render: () => <SisProfile code={null} /> },
  { path: '/sis/:code', label: 'Integration profile', permission: 'sis:manage', render: (p) => <SisProfile code={p.code!} /> },
  { path: '/sis/:code/loads/:id', label: 'SIS load', permission: 'sis:manage', render: (p) => <SisJob code={p.code!} id={p.id!} /> },
  { path: '/settings/login-methods', label: 'Login methods', permission: 'config:manage', nav: true, group: 'Settings', render: () => <LoginMethodList /> },
  { path: '/settings/login-methods/new', label: 'New login method', permission: 'config:manage', render: () => <LoginMethodPage code={null} /> },
  { path: '/settings/login-methods/:code', label: 'Login method', permission: 'config:manage', render: (p) => <LoginMethodPage code={p.code!} /> },
  { path: '/settings/identifiers', label: 'Identifiers', permission: 'config:manage', nav: true, group: 'Settings', render: () => <IdentifierSettings /> },
  { path: '/settings/security', label: 'Passwords and sessions', permission: 'config:manage', nav: true, group: 'Settings', render: () => <SecuritySettings /> },
  { path: '/settings/api-keys', label: 'API keys', permission: 'config:manage', nav: true, group: 'Settings', render: () => <ApiKeys /> },
  { path: '/settings/code-tables/:name', label: 'Code table', permission: 'users:read', render: (p) => <CodeTablePage name={p.name!} /> },
];

type State = { kind: 'loading' } | { kind: 'choose'; error?: string } | { kind: 'ready'; session: Session } | { kind: 'failed'; message: string };

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const { path, search } = useLocation();
  // Narrower than a landscape tablet the side navigation folds behind a menu button (styles.css).
  const [menuOpen, setMenuOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  useEffect(() => setMenuOpen(false), [path]);
  const onMenuKey = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || !menuOpen) return;
    setMenuOpen(false);
    menuButton.current?.focus();
  };

  const load = useCallback(async () => {
    try {
      const { body } = await api<Session>('GET', '/session');
      rememberCsrf(body.csrf_token);
      rememberInstitution(body.institution);
      setState({ kind: 'ready', session: body });
    } catch (e) {
      if (!(e instanceof ApiError)) return setState({ kind: 'failed', message: 'Carrel cannot be reached. Check the connection and reload.' });
      const wanted = new URLSearchParams(location.search).get('institution') ?? rememberedInstitution();
      const code = wanted && INSTITUTION_CODE.test(wanted) ? wanted : null;
      if (e.code === 'CARREL_PASSWORD_CHANGE_REQUIRED' && code) return sendToLogin(code, 'change-password');
      if (code) {
        rememberInstitution(code);
        return sendToLogin(code);
      }
      setState({ kind: 'choose' });
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // A call refused because the session ended (idle timeout, signed out elsewhere): sign in again.
  useEffect(() => {
    const onExpired = () => void load();
    addEventListener('carrel:session-check', onExpired);
    return () => removeEventListener('carrel:session-check', onExpired);
  }, [load]);

  if (state.kind === 'loading') return <p className="boot" role="status">Loading…</p>;
  if (state.kind === 'failed') return <p className="boot" role="alert">{state.message}</p>;
  if (state.kind === 'choose') return <Chooser />;
  const session = state.session;
  const allowed = PAGES.filter((p) => session.permissions.includes(p.permission));
  const shown = allowed.filter((p) => p.nav && (!p.navPermission || session.permissions.includes(p.navPermission)));
  if (path === '/' || path === '') {
    const first = shown[0];
    if (first) queueMicrotask(() => navigate(`${first.path}${search.size ? `?${search}` : ''}`, { replace: true }));
  }
  let content: ReactNode = null;
  for (const p of PAGES) {
    const params = match(p.path, path);
    if (!params) continue;
    content = session.permissions.includes(p.permission) ? p.render(params) : <NotAllowed />;
    break;
  }
  if (!content && path !== '/') content = <NotFound />;
  if (!content) content = allowed.length ? null : <NotAllowed />;

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <button
          type="button"
          className="menu-button"
          ref={menuButton}
          aria-expanded={menuOpen}
          aria-controls="console-nav"
          onClick={() => setMenuOpen((o) => !o)}
          onKeyDown={onMenuKey}
        >
          <span aria-hidden="true">☰ </span>Menu
        </button>
        <span className="brand">Carrel</span>
        <span className="inst" title="Institution">
          {session.institution}
        </span>
        <span className="spacer" />
        <span className="who">
          Signed in as <strong>{session.primary_id ?? 'API key'}</strong>
        </span>
        <SignOut session={session} />
      </header>
      <div className="layout">
        <nav id="console-nav" className={menuOpen ? 'side open' : 'side'} aria-label="Console" onKeyDown={onMenuKey}>
          <NavList pages={shown.filter((p) => !p.group)} path={path} />
          {shown.some((p) => p.group === 'Settings') && (
            <>
              <h2 className="nav-group" id="nav-settings">
                Settings
              </h2>
              <NavList pages={shown.filter((p) => p.group === 'Settings')} path={path} labelledBy="nav-settings" />
            </>
          )}
        </nav>
        <main id="main" tabIndex={-1}>
          {content}
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function NavList({ pages, path, labelledBy }: { pages: PageDef[]; path: string; labelledBy?: string }) {
  return (
    <ul aria-labelledby={labelledBy}>
      {pages.map((p) => (
        <li key={p.path}>
          <Link to={p.path} aria-current={path === p.path || (p.path !== '/register' && path.startsWith(`${p.path}/`)) ? 'page' : undefined}>
            {p.label}
          </Link>
        </li>
      ))}
    </ul>
  );
}

function SignOut({ session }: { session: Session }) {
  const [busy, setBusy] = useState(false);
  const out = async () => {
    setBusy(true);
    try {
      await api('DELETE', '/session');
    } catch {
      // Already ended: the login page is where this goes anyway.
    }
    location.assign(`/auth/${encodeURIComponent(session.institution)}/login?done=logout&return=%2F`);
  };
  return (
    <button type="button" className="link-button" onClick={() => void out()} disabled={busy}>
      Sign out
    </button>
  );
}

function NotAllowed() {
  return (
    <section>
      <h1>Not available</h1>
      <p>Your roles do not give access to this page. Ask a user administrator if you need it.</p>
    </section>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/users">Find users</Link>
      </p>
    </section>
  );
}
