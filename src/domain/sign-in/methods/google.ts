// Sign in with Google: OpenID Connect against https://accounts.google.com (the oidc module), the
// stable `sub` as subject, matched only on GOOGLE_ID. `issuer` may be overridden for tests only
// (a local OP); everything else is the OIDC module's: discovery, PKCE, state, nonce, ID token checks.
import { Type } from 'typebox';
import { defineMethod } from '../method.js';
import { finishOidc, startOidc, startedOrThrow, type OidcSettings } from './oidc.js';
import { checkUrl } from './redirect-common.js';

export const GOOGLE_ISSUER = 'https://accounts.google.com';

const Config = Type.Object(
  {
    client_id: Type.String({ minLength: 1, maxLength: 500 }),
    client_secret: Type.String({ minLength: 1, maxLength: 2000 }),
    scope: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: `Default ${GOOGLE_ISSUER}; override for tests` })),
  },
  { additionalProperties: false },
);

function asOidc(c: { client_id: string; client_secret: string; scope?: string; issuer?: string }): OidcSettings {
  return { issuer: c.issuer ?? GOOGLE_ISSUER, client_id: c.client_id, client_secret: c.client_secret, claim: 'sub', ...(c.scope ? { scope: c.scope } : {}) };
}

export default defineMethod({
  type: 'google',
  kind: 'redirect',
  config: Config,
  secrets: ['client_secret'],
  match: 'GOOGLE_ID',
  check: (c) => checkUrl('issuer', c.issuer),
  async start(ctx, flowId) {
    return startedOrThrow(await startOidc({ ...ctx, method: { ...ctx.method, config: asOidc(ctx.method.config) } }, flowId));
  },
  finish: (ctx, callback, flow) => finishOidc({ ...ctx, method: { ...ctx.method, config: asOidc(ctx.method.config) } }, callback, flow),
});
