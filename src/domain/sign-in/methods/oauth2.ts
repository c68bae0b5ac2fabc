// Plain OAuth 2 social logins (Facebook, X/Twitter): authorization code (with PKCE where the
// provider takes it), the code exchanged for an access token, then the provider's profile API
// gives the account id, which is the subject. openid-client does the protocol work (state check,
// token request, bearer call) over a configuration built from the provider's fixed endpoints.
import * as oidc from 'openid-client';
import { Type, type TSchema } from 'typebox';
import { defineMethod, type Callback, type MethodContext, type Refusal, type Started, type Verified } from '../method.js';
import { refusalOf, startedOrThrow } from './oidc.js';
import { checkUrl, codeFirstUse, isLoopback, precheck, unreachable } from './redirect-common.js';

/** The endpoints of a provider; each may be overridden in a method's config (tests point them at a local server). */
export interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
  profile_endpoint: string;
}

export interface Oauth2Settings extends Partial<Endpoints> {
  client_id: string;
  client_secret: string;
  scope?: string;
}

/** The settings every OAuth 2 social method takes: the app's id and secret, endpoints overridable. */
export function oauth2Config(): TSchema {
  const url = (what: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: `${what} (default: the provider's; override for tests)` }));
  return Type.Object(
    {
      client_id: Type.String({ minLength: 1, maxLength: 500 }),
      client_secret: Type.String({ minLength: 1, maxLength: 2000 }),
      scope: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
      authorization_endpoint: url('Authorization endpoint'),
      token_endpoint: url('Token endpoint'),
      profile_endpoint: url('Profile API'),
    },
    { additionalProperties: false },
  );
}

export function checkEndpoints(c: Partial<Endpoints>): void {
  checkUrl('authorization_endpoint', c.authorization_endpoint);
  checkUrl('token_endpoint', c.token_endpoint);
  checkUrl('profile_endpoint', c.profile_endpoint);
}

export interface Provider {
  name: string;
  defaults: Endpoints & { scope: string };
  pkce: boolean;
  /** How the app authenticates at the token endpoint. */
  clientAuth: 'basic' | 'post';
  /** The profile URL for this access token (Facebook adds fields and appsecret_proof). */
  profileUrl(base: string, accessToken: string, clientSecret: string): URL;
  /** The profile API's answer as Verified; refused when it carries no id. */
  profile(body: unknown): Verified | Refusal;
}

function configurationOf(p: Provider, s: Oauth2Settings): { config: oidc.Configuration; endpoints: Endpoints } {
  const endpoints: Endpoints = {
    authorization_endpoint: s.authorization_endpoint ?? p.defaults.authorization_endpoint,
    token_endpoint: s.token_endpoint ?? p.defaults.token_endpoint,
    profile_endpoint: s.profile_endpoint ?? p.defaults.profile_endpoint,
  };
  const auth = p.clientAuth === 'basic' ? oidc.ClientSecretBasic(s.client_secret) : oidc.ClientSecretPost(s.client_secret);
  const config = new oidc.Configuration(
    { issuer: new URL(endpoints.authorization_endpoint).origin, authorization_endpoint: endpoints.authorization_endpoint, token_endpoint: endpoints.token_endpoint },
    s.client_id,
    undefined,
    auth,
  );
  config.timeout = 10;
  // http only toward this machine (the tests' provider); check() refused it elsewhere.
  if (Object.values(endpoints).some((u) => new URL(u).protocol === 'http:' && isLoopback(new URL(u)))) oidc.allowInsecureRequests(config);
  return { config, endpoints };
}

export async function startOauth2(p: Provider, ctx: MethodContext<Oauth2Settings>, flowId: string): Promise<Started> {
  const { config } = configurationOf(p, ctx.method.config);
  const params: Record<string, string> = {
    redirect_uri: ctx.urls.callback,
    response_type: 'code',
    scope: ctx.method.config.scope ?? p.defaults.scope,
    state: flowId,
  };
  const flow: Record<string, string> = { state: flowId };
  if (p.pkce) {
    flow.verifier = oidc.randomPKCECodeVerifier();
    params.code_challenge = await oidc.calculatePKCECodeChallenge(flow.verifier);
    params.code_challenge_method = 'S256';
  }
  return startedOrThrow({ redirect: oidc.buildAuthorizationUrl(config, params).href, flow });
}

export async function finishOauth2(p: Provider, ctx: MethodContext<Oauth2Settings>, callback: Callback, flow: Record<string, string>): Promise<Verified | Refusal> {
  const early = precheck(callback, flow);
  if (early) return early;
  if (p.pkce && !flow.verifier) return { refused: 'state', detail: 'the flow holds no PKCE verifier' };
  if (!(await codeFirstUse(ctx, callback.query.code!))) return { refused: 'replay', detail: 'authorization code seen before' };
  const { config, endpoints } = configurationOf(p, ctx.method.config);
  const current = new URL(ctx.urls.callback);
  for (const [k, v] of Object.entries(callback.query)) current.searchParams.set(k, v);
  let accessToken: string;
  try {
    const tokens = await oidc.authorizationCodeGrant(config, current, {
      expectedState: flow.state!,
      ...(p.pkce ? { pkceCodeVerifier: flow.verifier! } : {}),
      idTokenExpected: false,
    });
    accessToken = tokens.access_token;
  } catch (err) {
    return refusalOf(err);
  }
  try {
    const url = p.profileUrl(endpoints.profile_endpoint, accessToken, ctx.method.config.client_secret);
    const res = await oidc.fetchProtectedResource(config, accessToken, url, 'GET');
    if (!res.ok) return res.status >= 500 ? unreachable(new Error(`${p.name} profile API: HTTP ${res.status}`)) : { refused: 'idp_error', detail: `${p.name} profile API: HTTP ${res.status}` };
    return p.profile(await res.json());
  } catch (err) {
    return unreachable(err);
  }
}

/** A profile field as text, when it is one. */
export function textOf(o: unknown, key: string): string | undefined {
  const v = o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : undefined;
}

/** Verified from a profile's id and the fields given, each attribute a list as the seam wants. */
export function verifiedFrom(p: Provider, id: string | undefined, fields: Record<string, string | undefined>): Verified | Refusal {
  if (!id) return { refused: 'invalid_response', detail: `${p.name} profile has no id` };
  const attributes: Record<string, string[]> = { id: [id] };
  for (const [k, v] of Object.entries(fields)) if (v) attributes[k] = [v];
  const out: Verified = { subject: id, attributes };
  if (fields.first_name) out.firstName = fields.first_name;
  if (fields.last_name) out.lastName = fields.last_name;
  if (fields.email) out.email = fields.email;
  return out;
}

/**
 * A social OAuth 2 method: the provider's endpoints and profile, matched only on its own
 * identifier type (FACEBOOK_ID, TWITTER_ID).
 */
export function oauth2Method(type: 'facebook' | 'twitter', provider: Provider, match: string) {
  const config = oauth2Config();
  return defineMethod({
    type,
    kind: 'redirect',
    config,
    secrets: ['client_secret'],
    match,
    check: (c) => checkEndpoints(c as Oauth2Settings),
    start: (ctx, flowId) => startOauth2(provider, ctx as MethodContext<Oauth2Settings>, flowId),
    finish: (ctx, callback, flow) => finishOauth2(provider, ctx as MethodContext<Oauth2Settings>, callback, flow),
  });
}
