// OpenID Connect (Entra ID, Google Workspace, Keycloak, any certified OP) through openid-client:
// discovery, authorization code with PKCE (S256), state (the flow id) and nonce kept in the flow;
// openid-client checks the ID token's signature, issuer, audience, nonce and times. The value of
// `claim` (default `sub`) is the subject. Google is this module with a fixed issuer (google.ts).
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { Type, type Static } from 'typebox';
import { AppError } from '../../../errors.js';
import { defineMethod, type Callback, type MethodContext, type Refusal, type Started, type Verified } from '../method.js';
import { checkUrl, codeFirstUse, isLoopback, precheck, unreachable } from './redirect-common.js';

export const OidcConfig = Type.Object(
  {
    issuer: Type.String({ minLength: 1, maxLength: 500, description: 'Issuer URL; discovery at {issuer}/.well-known/openid-configuration' }),
    client_id: Type.String({ minLength: 1, maxLength: 500 }),
    client_secret: Type.String({ minLength: 1, maxLength: 2000 }),
    claim: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'The claim matched (default sub)' })),
    scope: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "Default 'openid email profile'" })),
  },
  { additionalProperties: false },
);
export type OidcSettings = Static<typeof OidcConfig>;

const DEFAULT_SCOPE = 'openid email profile';
/** Discovery is kept this long, then read again; a failed refresh keeps the old one up to STALE. */
const DISCOVERY_FRESH_MS = 60 * 60 * 1000;
const DISCOVERY_STALE_MS = 24 * 60 * 60 * 1000;
const NETWORK_TIMEOUT_S = 10;

interface Cached {
  at: number;
  config: Promise<oidc.Configuration>;
}
// Per method and settings: an edited issuer or secret is a new entry, never a stale one.
const discoveries = new Map<string, Cached>();

function cacheKey(methodId: string, s: OidcSettings): string {
  const secret = createHash('sha256').update(s.client_secret).digest('base64url');
  return `${methodId}|${s.issuer}|${s.client_id}|${secret}`;
}

async function discover(s: OidcSettings): Promise<oidc.Configuration> {
  const issuer = new URL(s.issuer);
  // http only for an issuer on this machine (tests); checkUrl refused anything else at create.
  const execute = issuer.protocol === 'http:' && isLoopback(issuer) ? [oidc.allowInsecureRequests] : [];
  const config = await oidc.discovery(issuer, s.client_id, s.client_secret, undefined, { execute, timeout: NETWORK_TIMEOUT_S });
  config.timeout = NETWORK_TIMEOUT_S;
  return config;
}

/** The OP's configuration: cached, refreshed after an hour, the old one kept while the OP is down. */
export async function configurationOf(methodId: string, s: OidcSettings, now: number): Promise<oidc.Configuration> {
  const key = cacheKey(methodId, s);
  const hit = discoveries.get(key);
  if (hit && now - hit.at < DISCOVERY_FRESH_MS) return hit.config;
  const fresh: Cached = { at: now, config: discover(s) };
  // One entry per method: an edited method's old settings go.
  for (const k of discoveries.keys()) if (k !== key && k.startsWith(`${methodId}|`)) discoveries.delete(k);
  discoveries.set(key, fresh);
  try {
    return await fresh.config;
  } catch (err) {
    // A failed discovery is never cached: the next sign-in tries again.
    if (hit && now - hit.at < DISCOVERY_STALE_MS) {
      discoveries.set(key, hit);
      return hit.config;
    }
    if (discoveries.get(key) === fresh) discoveries.delete(key);
    throw err;
  }
}

/** Forget every cached discovery (tests that restart an OP on another port). */
export function clearDiscoveryCache(): void {
  discoveries.clear();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : String(err).slice(0, 200);
}

/** openid-client's refusal, as the seam's reason. */
export function refusalOf(err: unknown): Refusal {
  const detail = errorText(err);
  if (err instanceof oidc.AuthorizationResponseError) return { refused: 'idp_error', detail: `${err.error}` };
  if (err instanceof oidc.ResponseBodyError) {
    // invalid_grant: the code was used already, expired, or is not this client's (RFC 6749 5.2).
    return { refused: err.error === 'invalid_grant' ? 'replay' : 'idp_error', detail: `${err.error}: ${err.error_description ?? ''}`.slice(0, 200) };
  }
  if (err instanceof oidc.ClientError) {
    const inner = (err.cause as { cause?: { claim?: string } } | undefined)?.cause;
    const claim = inner?.claim;
    const cause = err.cause instanceof Error ? err.cause.message : '';
    switch (err.code) {
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
        if (claim === 'nonce') return { refused: 'nonce', detail: cause };
        if (claim === 'iss') return { refused: 'issuer', detail: cause };
        if (claim === 'aud' || claim === 'azp') return { refused: 'audience', detail: cause };
        return { refused: 'invalid_response', detail: cause };
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        return { refused: claim === 'exp' || claim === 'auth_time' ? 'expired' : 'not_yet_valid', detail: cause };
      case 'OAUTH_INVALID_RESPONSE':
        if (/"iss"/.test(cause)) return { refused: 'issuer', detail: cause };
        if (/signature/i.test(cause)) return { refused: 'signature', detail: cause };
        return { refused: 'invalid_response', detail: cause };
      case 'OAUTH_KEY_SELECTION_FAILED':
        return { refused: 'signature', detail: cause };
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM': {
        // A 4xx in the provider's own error shape (Facebook's) is a refusal; a 5xx is an outage.
        const status = (err.cause as { status?: number } | undefined)?.status ?? 500;
        if (status < 500) return { refused: 'idp_error', detail: `HTTP ${status} from the token endpoint` };
        return unreachable(err);
      }
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
        return unreachable(err);
      default:
        return { refused: 'invalid_response', detail: `${err.code ?? ''} ${cause || detail}`.trim() };
    }
  }
  // fetch failed (connection refused, DNS): the IdP is down.
  return unreachable(err);
}

function asStrings(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

/** Claims released (ID token, then userinfo) as the seam's Verified, the chosen claim as subject. */
export function verifiedOf(claims: Record<string, unknown>, claim: string): Verified | Refusal {
  const attributes: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(claims)) {
    const s = asStrings(v);
    if (s) attributes[k] = s;
  }
  const subject = attributes[claim]?.[0];
  if (!subject) return { refused: 'invalid_response', detail: `claim ${claim} was not released` };
  const text = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  const out: Verified = { subject, attributes };
  const first = text('given_name');
  const last = text('family_name');
  const email = text('email');
  if (first) out.firstName = first;
  if (last) out.lastName = last;
  if (email) out.email = email;
  return out;
}

export async function startOidc(ctx: MethodContext<OidcSettings>, flowId: string): Promise<Started | Refusal> {
  let config: oidc.Configuration;
  try {
    config = await configurationOf(ctx.method.id, ctx.method.config, ctx.clock().getTime());
  } catch (err) {
    return unreachable(err);
  }
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: ctx.urls.callback,
    scope: ctx.method.config.scope ?? DEFAULT_SCOPE,
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: flowId,
    nonce,
  });
  return { redirect: url.href, flow: { state: flowId, nonce, verifier } };
}

export async function finishOidc(ctx: MethodContext<OidcSettings>, callback: Callback, flow: Record<string, string>): Promise<Verified | Refusal> {
  const early = precheck(callback, flow);
  if (early) return early;
  if (!flow.nonce || !flow.verifier) return { refused: 'state', detail: 'the flow holds no nonce or verifier' };
  if (!(await codeFirstUse(ctx, callback.query.code!))) return { refused: 'replay', detail: 'authorization code seen before' };
  let config: oidc.Configuration;
  try {
    config = await configurationOf(ctx.method.id, ctx.method.config, ctx.clock().getTime());
  } catch (err) {
    return unreachable(err);
  }
  // The URL the IdP sent the browser to: our callback with the IdP's own parameters.
  const current = new URL(ctx.urls.callback);
  for (const [k, v] of Object.entries(callback.query)) current.searchParams.set(k, v);
  try {
    const tokens = await oidc.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state!,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    let claims: Record<string, unknown> = { ...tokens.claims() };
    const claim = ctx.method.config.claim ?? 'sub';
    // Userinfo only when needed: a claim the ID token does not carry (an OP that releases e-mail
    // only there), or names and e-mail for a user created just in time.
    if ((claims[claim] === undefined || ctx.method.jit) && config.serverMetadata().userinfo_endpoint) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
      claims = { ...info, ...claims };
    }
    return verifiedOf(claims, claim);
  } catch (err) {
    return refusalOf(err);
  }
}

/** A start that cannot reach the OP is a page offering local login, not an error. */
export function startedOrThrow(r: Started | Refusal): Started {
  if ('refused' in r) throw new AppError('LOGIN_METHOD_UNAVAILABLE', { reason: r.detail ?? r.refused });
  return r;
}

export default defineMethod({
  type: 'oidc',
  kind: 'redirect',
  config: OidcConfig,
  secrets: ['client_secret'],
  check(c) {
    checkUrl('issuer', c.issuer);
  },
  async start(ctx, flowId) {
    return startedOrThrow(await startOidc(ctx, flowId));
  },
  finish: finishOidc,
});
