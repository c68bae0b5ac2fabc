// The Carrel leg of bench/ldap-signin.ts: the LDAP method's login page, served by Carrel in this
// process over a real socket, on a fresh database of the chosen engine (the tests' helper makes
// it: PostgreSQL at CARREL_TEST_DATABASE_URL, or PGlite). Each sign-in is what a browser sends:
// POST /auth/{inst}/login/{code} with user name, password and the form's CSRF token and cookie;
// Carrel binds, matches the user, creates the session and answers 303 with its cookie.
import type { LdapConfig } from '../src/domain/sign-in/methods/ldap.js';
import type { Person } from '../test/helpers/slapd.js';
import { freePort } from '../test/helpers/slapd.js';

export interface CarrelLegOptions {
  engine: 'postgres' | 'pglite';
  config: LdapConfig;
  people: Person[];
}

export async function startCarrelLeg(o: CarrelLegOptions): Promise<{ attempt: (p: Person) => Promise<boolean>; close(): Promise<void> }> {
  // The helper reads the engine when it is loaded.
  process.env.CARREL_TEST_DB = o.engine;
  const { createTestContext } = await import('../test/helpers/app.js');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const ctx = await createTestContext({ config: { publicUrl: base } });
  try {
    const inst = await ctx.institution();
    for (const p of o.people) {
      const res = await ctx.server.inject({
        method: 'POST',
        url: '/almaws/v1/users',
        headers: { authorization: `apikey ${inst.key}`, 'content-type': 'application/json' },
        payload: JSON.stringify({
          record_type: { value: 'PUBLIC' },
          primary_id: p.uid,
          first_name: p.givenName,
          last_name: p.sn,
          account_type: { value: 'EXTERNAL' },
          external_id: 'SIS',
          status: { value: 'ACTIVE' },
          user_group: { value: 'UNDERGRAD' },
          user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: p.employeeNumber, segment_type: 'External' }],
        }),
      });
      if (res.statusCode !== 200) throw new Error(`seeding ${p.uid}: ${res.statusCode} ${res.body}`);
    }
    await ctx.app.services.loginMethods.create({ kind: 'system', label: 'bench' }, inst.id, {
      code: 'dir',
      type: 'ldap',
      label: 'Campus directory',
      match: 'UNIV_ID',
      config: o.config,
    });
    await ctx.server.listen({ port, host: '127.0.0.1' });
    const page = `${base}/auth/${inst.code}/login/dir`;
    // One browser's CSRF cookie and token serve every sign-in (the token is tied to the cookie).
    const form = await fetch(page);
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
    const cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    if (!token) throw new Error(`no CSRF token on ${page} (${form.status})`);
    const landing = `/auth/${inst.code}/account`;
    return {
      async attempt(p) {
        const res = await fetch(page, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: p.uid, password: p.password, _csrf: token }),
          redirect: 'manual',
        });
        await res.arrayBuffer();
        return res.status === 303 && res.headers.get('location') === landing && res.headers.getSetCookie().some((c) => c.startsWith('carrel_session='));
      },
      close: () => ctx.close(),
    };
  } catch (e) {
    await ctx.close();
    throw e;
  }
}
