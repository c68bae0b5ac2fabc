// A real OpenID Provider (oidc-provider) on a free port for the OIDC and Google tests, with an
// interaction handler that signs in whichever account the test names (or says no), and a small
// browser (fetch, manual redirects, a cookie jar) that walks from Carrel's redirect to the callback.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface OpAccount {
  email?: string;
  given_name?: string;
  family_name?: string;
}

export interface OpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface TestOp {
  issuer: string;
  provider: Provider;
  accounts: Map<string, OpAccount>;
  /** The account the next interaction signs in; null answers access_denied. */
  nextAccount: string | null;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  // No host: dual-stack, so "localhost" works whether it resolves to ::1 or 127.0.0.1.
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startOp(clients: OpClient[]): Promise<TestOp> {
  let handle: (req: any, res: any) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handle(req, res));
  const port = await listen(server);
  const issuer = `http://localhost:${port}`;
  const jwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' };
  const accounts = new Map<string, OpAccount>();
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ ...c, grant_types: ['authorization_code'], response_types: ['code'] })),
    async findAccount(_ctx, sub) {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...a, email_verified: true }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    // Set every TTL so oidc-provider stays quiet about its defaults.
    ttl: { AccessToken: 3600, AuthorizationCode: 60, ClientCredentials: 600, IdToken: 3600, Interaction: 3600, Session: 3600, Grant: 3600 },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    jwks: { keys: [jwk as any] },
  });
  const op: TestOp = {
    issuer,
    provider,
    accounts,
    nextAccount: null,
    close: () => close(server),
  };
  const callback = provider.callback();
  handle = (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const accountId = op.nextAccount;
      if (!accountId) {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person said no' }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
    })().catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  };
  return op;
}

/**
 * A discovery document that claims to be `issuer: itself` while pointing at a real OP's endpoints:
 * every token the OP signs then comes "from another issuer".
 */
export async function startImpostorIssuer(real: TestOp): Promise<{ issuer: string; close(): Promise<void> }> {
  const upstream = await (await fetch(`${real.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
  let issuer = '';
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/openid-configuration') {
      res.statusCode = 404;
      return res.end();
    }
    const doc: Record<string, unknown> = { ...upstream, issuer };
    delete doc.authorization_response_iss_parameter_supported;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(doc));
  });
  issuer = `http://localhost:${await listen(server)}`;
  return { issuer, close: () => close(server) };
}

/** A browser's cookies, by name (one flow at a time), for the OP's origin. */
export type CookieJar = Map<string, string>;

function keep(jar: CookieJar, res: Response) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1]!) < new Date());
    if (!value || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

/**
 * Follows redirects from `start` (Carrel's redirect to the IdP) through the IdP until the browser
 * would land on `stopAt` (Carrel's callback); returns that URL without requesting it.
 */
export async function walkToCallback(start: string, stopAt: string, jar: CookieJar = new Map()): Promise<URL> {
  let url = new URL(start);
  for (let hop = 0; hop < 12; hop++) {
    if (url.href.startsWith(stopAt)) return url;
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    keep(jar, res);
    const location = res.headers.get('location');
    if (!location) throw new Error(`no redirect from ${url.href}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}

export function queryOf(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams);
}
