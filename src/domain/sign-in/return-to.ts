// Where a sign-in may send the browser afterwards: only this institution's own pages. The one
// check for every return parameter (the login page's `return`, a flow's stored return URL, the
// e-mail link's): a relative path, no scheme, no `//` or `\` (a browser reads `/\evil.example` and
// `//evil.example` as another host), no control characters, and under /auth/{this institution}/
// or the staff console's root `/`. Anything else is ignored (the caller lands on the account page).

const MAX_LENGTH = 1000;

export function safeReturnTo(raw: unknown, institutionCode: string): string | null {
  if (typeof raw !== 'string' || !raw || raw.length > MAX_LENGTH) return null;
  // Control characters (a tab or newline inside "/\t/evil" is dropped by URL parsers) and backslashes.
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return null;
  if (!raw.startsWith('/') || raw.startsWith('//')) return null;
  // Percent-encoded slashes or dots could be decoded into `//` or `..` on the way: refuse them.
  if (/%(2f|5c|2e)/i.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, 'http://carrel.invalid');
  } catch {
    return null;
  }
  // The parser must agree it stays on this origin, and the path must not climb out with `..`.
  if (url.origin !== 'http://carrel.invalid') return null;
  const path = url.pathname;
  if (path.includes('//')) return null;
  const own = `/auth/${encodeURIComponent(institutionCode)}/`;
  const ok = path === '/' || path.startsWith(own) || (!path.startsWith('/auth/') && !path.startsWith('/api/') && !path.startsWith('/almaws/') && path.startsWith('/'));
  if (!ok) return null;
  return `${path}${url.search}${url.hash}`;
}

/**
 * `url` (absolute, or a path of ours) carrying `back`, a return URL safeReturnTo accepted, as its
 * `return` parameter: how a page of our own between the login page and the sign-in (the SAML
 * discovery page) passes it on. Without one, `url` unchanged.
 */
export function withReturn(url: string, back: string | null): string {
  if (!back) return url;
  const u = new URL(url, 'http://carrel.invalid');
  u.searchParams.set('return', back);
  return u.origin === 'http://carrel.invalid' ? `${u.pathname}${u.search}${u.hash}` : u.href;
}
