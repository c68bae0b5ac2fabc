// A browser without a browser: a cookie jar, the login page's form (with its CSRF token), and
// /api/v1 called the way a staff page would (the session cookie, and X-CSRF-Token from
// GET /api/v1/session on unsafe methods).
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { InjectResult } from './identity.js';

const cookieOf = (setCookie: unknown, name: string): string | undefined => {
  const all = Array.isArray(setCookie) ? setCookie : [setCookie];
  const hit = all.find((c) => typeof c === 'string' && c.startsWith(`${name}=`)) as string | undefined;
  return hit?.split(';')[0]!.slice(name.length + 1);
};

export function browser(server: FastifyInstance, institutionCode: string, opts: { userAgent?: string; ip?: string } = {}) {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const base = { host: '127.0.0.1', 'user-agent': opts.userAgent ?? 'test-browser' };
  const keep = (res: { headers: Record<string, unknown> }) => {
    for (const name of ['carrel_session', 'carrel_csrf']) {
      const v = cookieOf(res.headers['set-cookie'], name);
      if (v !== undefined) jar.set(name, v);
    }
  };
  const inject = async (o: InjectOptions) => {
    const res = (await server.inject({ ...(opts.ip ? { remoteAddress: opts.ip } : {}), ...o })) as unknown as InjectResult;
    keep(res);
    return res;
  };
  let apiToken: string | null = null;
  const b = {
    jar,
    get: (path: string) => inject({ method: 'GET', url: `/auth/${institutionCode}${path}`, headers: { ...base, cookie: cookieHeader() } }),
    async post(path: string, form: Record<string, string>) {
      const page = await b.get('/forgot-password');
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      return inject({
        method: 'POST',
        url: `/auth/${institutionCode}${path}`,
        headers: { ...base, cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...form, _csrf: token }).toString(),
      });
    },
    async signIn(identifier: string, password: string) {
      apiToken = null;
      return b.post('/login', { identifier, password });
    },
    /** GET /api/v1/session; remembers its CSRF token for later unsafe calls. */
    async session() {
      const res = await inject({ method: 'GET', url: '/api/v1/session', headers: { ...base, cookie: cookieHeader() } });
      if (res.statusCode === 200) apiToken = (JSON.parse(res.body) as { csrf_token: string | null }).csrf_token;
      return res;
    },
    /** /api/v1 with the session; `csrf: false` leaves the token out, a string sends that one instead. */
    async api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, o: { csrf?: boolean | string } = {}) {
      if (apiToken === null && o.csrf !== false && typeof o.csrf !== 'string' && method !== 'GET') await b.session();
      const token = typeof o.csrf === 'string' ? o.csrf : o.csrf === false ? undefined : apiToken;
      return inject({
        method,
        url: `/api/v1${url}`,
        headers: {
          ...base,
          cookie: cookieHeader(),
          ...(token && method !== 'GET' ? { 'x-csrf-token': token } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    },
  };
  return b;
}

/** An Alma role segment for POST /users (50 User Administrator, 21 User Manager, 32 Circulation Desk Operator). */
export const role = (roleType: string, scope: string, extra: Record<string, unknown> = {}) => ({
  role_type: { value: roleType },
  scope: { value: scope },
  status: { value: 'ACTIVE' },
  ...extra,
});
