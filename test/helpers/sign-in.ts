// Helpers for the login-method tests: a browser (a cookie jar that honours paths, CSRF tokens
// read from forms), and tiny method modules that stand in for an IdP where the test is about the
// seam, not a protocol (the protocol modules have their own tests against real counterparts).
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { defineMethod, type MethodModule } from '../../src/domain/sign-in/method.js';
import { methodModules } from '../../src/domain/sign-in/methods/index.js';
import type { LoginMethodType } from '../../src/model/login-method.js';
import type { InjectResult } from './identity.js';

interface Cookie {
  value: string;
  path: string;
}

/** One browser: cookies by name and path (the longest matching path first, as browsers send them). */
export function browser(server: FastifyInstance, host = 'carrel.test') {
  const jar = new Map<string, Cookie>();
  const key = (name: string, path: string) => `${name}\u0000${path}`;
  function keep(res: { headers: Record<string, unknown> }) {
    const raw = res.headers['set-cookie'];
    for (const line of (Array.isArray(raw) ? raw : raw ? [raw] : []) as string[]) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = decodeURIComponent(pair!.slice(eq + 1));
      const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=/i.test(a) && new Date(a.slice(8)).getTime() < Date.now()) || attrs.some((a) => /^max-age=0$/i.test(a));
      if (expired || value === '') jar.delete(key(name, path));
      else jar.set(key(name, path), { value, path });
    }
  }
  function cookieHeader(url: string) {
    const path = url.split('?')[0]!;
    return [...jar.entries()]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b[1].path.length - a[1].path.length)
      .map(([k, c]) => `${k.split('\u0000')[0]}=${c.value}`)
      .join('; ');
  }
  let csrf = '';
  const b = {
    jar,
    cookie(name: string): string | undefined {
      return [...jar.entries()].find(([k]) => k.startsWith(`${name}\u0000`))?.[1].value;
    },
    async get(url: string): Promise<InjectResult> {
      const res = (await server.inject({ method: 'GET', url, headers: { host, cookie: cookieHeader(url) } })) as InjectResult;
      keep(res);
      csrf = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1] ?? csrf;
      return res;
    },
    /** A form post; `withCsrf` reads a token from `formUrl` first (default: the URL itself). */
    async post(url: string, form: Record<string, string>, opts: { formUrl?: string; csrf?: boolean } = {}): Promise<InjectResult> {
      if (opts.csrf !== false) await b.get(opts.formUrl ?? url);
      const res = (await server.inject({
        method: 'POST',
        url,
        headers: { host, cookie: cookieHeader(url), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...form, ...(opts.csrf !== false ? { _csrf: csrf } : {}) }).toString(),
      })) as InjectResult;
      keep(res);
      return res;
    },
  };
  return b;
}

/**
 * A stand-in IdP for type `type`: start sends the browser to https://idp.test/authorize with the
 * flow id as state; finish wants the same state back, and verifies `subject` from the query
 * (`fail=down` throws as an unreachable server would; `fail=deny` is the IdP saying no).
 */
export function fakeRedirectModule(type: LoginMethodType): MethodModule {
  return defineMethod({
    type,
    kind: 'redirect',
    config: Type.Object({ issuer: Type.String(), client_secret: Type.Optional(Type.String()) }, { additionalProperties: false }),
    secrets: ['client_secret'],
    async start(ctx, flowId) {
      if (ctx.method.config.issuer === 'down') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
      return { redirect: `https://idp.test/authorize?state=${flowId}&redirect_uri=${encodeURIComponent(ctx.urls.callback)}`, flow: { state: flowId } };
    },
    async finish(ctx, cb, flow) {
      const q = { ...cb.body, ...cb.query };
      if (q.fail === 'down') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (q.fail === 'deny') return { refused: 'idp_error', detail: 'access_denied' };
      if (q.state !== flow.state) return { refused: 'state' };
      if (q.code && !(await ctx.firstUse(`fake:${ctx.method.id}:${q.code}`, new Date(ctx.clock().getTime() + 600_000)))) return { refused: 'replay' };
      return { subject: q.subject ?? '', attributes: {}, firstName: 'Jit', lastName: 'Person', email: `${q.subject}@campus.example.edu` };
    },
  });
}

/** A stand-in directory: the password `right` is right for any user name. */
export function fakePasswordModule(type: LoginMethodType, calls: string[] = []): MethodModule {
  return defineMethod({
    type,
    kind: 'password',
    config: Type.Object({ url: Type.String(), bind_password: Type.Optional(Type.String()) }, { additionalProperties: false }),
    secrets: ['bind_password'],
    async verify(_ctx, username, password) {
      calls.push(username);
      if (password !== 'right') return { refused: 'bad_credentials' };
      return { subject: username, attributes: {} };
    },
  });
}

/** Puts test modules in the registry for the duration of a test file; restore() puts back what was there. */
export function useModules(...mods: MethodModule[]): { restore(): void } {
  const saved = mods.map((m) => [m.type, methodModules.get(m.type)] as const);
  for (const m of mods) methodModules.set(m.type, m);
  return {
    restore() {
      for (const [type, mod] of saved) {
        if (mod) methodModules.set(type, mod);
        else methodModules.delete(type);
      }
    },
  };
}

/**
 * A stand-in SAML IdP's SP side: start sends RelayState = the flow id and keeps a request id;
 * the ACS post carries `subject` and `InResponseTo` (a real module reads them from a signed
 * response); metadata names the entity id and the ACS.
 */
export function fakeSamlModule(type: LoginMethodType = 'saml'): MethodModule {
  return defineMethod({
    type,
    kind: 'redirect',
    config: Type.Object({ idp: Type.String() }, { additionalProperties: false }),
    secrets: [],
    async start(_ctx, flowId) {
      const requestId = `_req${flowId.slice(0, 12)}`;
      return { redirect: `https://idp.test/sso?SAMLRequest=x&RelayState=${flowId}`, flow: { requestId } };
    },
    async finish(_ctx, cb, flow) {
      if (cb.body.InResponseTo !== flow.requestId) return { refused: 'in_response_to' };
      return { subject: cb.body.subject ?? '', attributes: {} };
    },
    async metadata(ctx) {
      return `<EntityDescriptor entityID="${ctx.urls.metadata}"><AssertionConsumerService Location="${ctx.urls.acs}"/></EntityDescriptor>`;
    },
  });
}
