// Who is signed in, for every page: the session from GET /api/v1/session, its permissions (the
// server computes them from the roles; the console never re-derives the role map), and where to
// send a browser that is not signed in: the institution's own login page, back here afterwards.
import { createContext, useContext } from 'react';
import type { Permission, Session } from './api';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

export function useCan(): (p: Permission) => boolean {
  const s = useSession();
  return (p) => s.permissions.includes(p);
}

const REMEMBERED = 'carrel.institution';

export function rememberedInstitution(): string | null {
  try {
    return localStorage.getItem(REMEMBERED);
  } catch {
    return null;
  }
}

export function rememberInstitution(code: string) {
  try {
    localStorage.setItem(REMEMBERED, code);
  } catch {
    // Private mode: the choice is asked again next time.
  }
}

/** An institution code as the login pages take it: letters, digits, _ and -. */
export const INSTITUTION_CODE = /^[A-Za-z0-9_-]{1,64}$/;

/** The console's current address without ?institution=, as the login page's `return`. */
export function here(): string {
  const params = new URLSearchParams(location.search);
  params.delete('institution');
  const q = params.toString();
  return `${location.pathname}${q ? `?${q}` : ''}`;
}

export function sendToLogin(code: string, page: 'login' | 'change-password' = 'login') {
  const back = page === 'login' ? `?return=${encodeURIComponent(here())}` : '';
  location.assign(`/auth/${encodeURIComponent(code)}/${page}${back}`);
}
