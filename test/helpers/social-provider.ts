// A small OAuth 2 server with the shapes of Facebook Login (dialog, Graph access_token and /me
// with appsecret_proof, its own error body) and X's OAuth 2.0 (PKCE S256, HTTP Basic at the token
// endpoint, /2/users/me), on a free port. Codes are single use and bound to client, redirect URI
// and PKCE challenge, as the real providers bind them.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SocialAccount {
  id: string;
  first_name?: string;
  last_name?: string;
  email?: string;
  username?: string;
}

export interface SocialServer {
  base: string;
  client: { client_id: string; client_secret: string };
  /** The account the next authorization approves; null: the person declines. */
  nextAccount: SocialAccount | null;
  /** Endpoint overrides for a facebook or twitter method's config. */
  facebookEndpoints(): { authorization_endpoint: string; token_endpoint: string; profile_endpoint: string };
  twitterEndpoints(): { authorization_endpoint: string; token_endpoint: string; profile_endpoint: string };
  close(): Promise<void>;
}

interface Grant {
  account: SocialAccount;
  redirectUri: string;
  challenge?: string;
  used: boolean;
}

function body(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c) => (s += c));
    req.on('end', () => resolve(new URLSearchParams(s)));
  });
}

function json(res: ServerResponse, status: number, value: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

export async function startSocialServer(redirectUris: string[]): Promise<SocialServer> {
  const client = { client_id: `app-${randomBytes(4).toString('hex')}`, client_secret: randomBytes(16).toString('hex') };
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, SocialAccount>();
  let server: SocialServer;

  function authorize(url: URL, res: ServerResponse, pkce: boolean) {
    const q = url.searchParams;
    const redirect = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== client.client_id || !redirectUris.includes(redirect)) return json(res, 400, { error: 'bad client or redirect_uri' });
    if (pkce && q.get('code_challenge_method') !== 'S256') return json(res, 400, { error: 'PKCE S256 required' });
    const back = new URL(redirect);
    if (q.get('state')) back.searchParams.set('state', q.get('state')!);
    if (!server.nextAccount) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'Permissions error');
    } else {
      const code = randomBytes(16).toString('hex');
      codes.set(code, { account: server.nextAccount, redirectUri: redirect, ...(pkce ? { challenge: q.get('code_challenge')! } : {}), used: false });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.href });
    res.end();
  }

  /** The code's grant if this request may redeem it; marks it used either way. */
  function redeem(code: string | null, redirectUri: string | null, verifier: string | null): Grant | undefined {
    const g = code ? codes.get(code) : undefined;
    if (!g || g.used || g.redirectUri !== redirectUri) return undefined;
    g.used = true;
    if (g.challenge !== undefined && createHash('sha256').update(verifier ?? '').digest('base64url') !== g.challenge) return undefined;
    return g;
  }

  function issue(account: SocialAccount): string {
    const token = randomBytes(24).toString('hex');
    tokens.set(token, account);
    return token;
  }

  function bearer(req: IncomingMessage): [string, SocialAccount] | undefined {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    const account = m ? tokens.get(m[1]!) : undefined;
    return m && account ? [m[1]!, account] : undefined;
  }

  const http = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, 'http://localhost');
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /fb/dialog/oauth':
          return authorize(url, res, false);
        case 'POST /fb/oauth/access_token': {
          const f = await body(req);
          const g = f.get('client_id') === client.client_id && f.get('client_secret') === client.client_secret ? redeem(f.get('code'), f.get('redirect_uri'), null) : undefined;
          // Facebook's own error body, not RFC 6749's.
          if (!g) return json(res, 400, { error: { message: 'This authorization code has been used.', type: 'OAuthException', code: 100 } });
          return json(res, 200, { access_token: issue(g.account), token_type: 'bearer', expires_in: 5183944 });
        }
        case 'GET /fb/me': {
          const b = bearer(req);
          const proof = b && createHmac('sha256', client.client_secret).update(b[0]).digest('hex');
          if (!b || url.searchParams.get('appsecret_proof') !== proof) return json(res, 400, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
          const a = b[1];
          return json(res, 200, { id: a.id, first_name: a.first_name, last_name: a.last_name, email: a.email });
        }
        case 'GET /x/i/oauth2/authorize':
          return authorize(url, res, true);
        case 'POST /x/2/oauth2/token': {
          const f = await body(req);
          // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
          const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          const [id, secret] = (basic ? Buffer.from(basic, 'base64').toString() : '').split(':').map((p) => decodeURIComponent(p.replace(/\+/g, ' ')));
          if (id !== client.client_id || secret !== client.client_secret) return json(res, 401, { error: 'invalid_client', error_description: 'Missing valid authorization header' });
          const g = f.get('grant_type') === 'authorization_code' ? redeem(f.get('code'), f.get('redirect_uri'), f.get('code_verifier')) : undefined;
          if (!g) return json(res, 400, { error: 'invalid_request', error_description: 'Value passed for the authorization code was invalid.' });
          return json(res, 200, { token_type: 'bearer', access_token: issue(g.account), expires_in: 7200, scope: 'users.read tweet.read' });
        }
        case 'GET /x/2/users/me': {
          const b = bearer(req);
          if (!b) return json(res, 401, { title: 'Unauthorized', status: 401 });
          return json(res, 200, { data: { id: b[1].id, name: `${b[1].first_name ?? ''} ${b[1].last_name ?? ''}`.trim(), username: b[1].username } });
        }
        default:
          return json(res, 404, { error: 'not found' });
      }
    })().catch((err) => json(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => http.listen(0, resolve));
  const base = `http://localhost:${(http.address() as AddressInfo).port}`;
  server = {
    base,
    client,
    nextAccount: null,
    facebookEndpoints: () => ({ authorization_endpoint: `${base}/fb/dialog/oauth`, token_endpoint: `${base}/fb/oauth/access_token`, profile_endpoint: `${base}/fb/me` }),
    twitterEndpoints: () => ({ authorization_endpoint: `${base}/x/i/oauth2/authorize`, token_endpoint: `${base}/x/2/oauth2/token`, profile_endpoint: `${base}/x/2/users/me` }),
    close() {
      http.closeAllConnections();
      return new Promise((resolve) => http.close(() => resolve()));
    },
  };
  return server;
}
