// SAML 2.0 service provider (Web SSO: AuthnRequest by HTTP-Redirect, Response by HTTP-POST to the
// ACS). The SP's entity id is its metadata URL. One IdP from metadata (pasted or at a URL), or a
// federation aggregate whose IdP the person picks on the discovery page. The flow keeps the
// AuthnRequest id and the IdP's entity id: the answer must name both (the seam finds the flow of a
// cross-site POST by RelayState alone, so InResponseTo is what binds the answer to this browser).
import { randomBytes } from 'node:crypto';
import type { SAML } from '@node-saml/node-saml';
import { Type, type Static } from 'typebox';
import { AppError } from '../../../errors.js';
import { defineMethod, type MethodContext, type Refusal, type Started, type Verified } from '../method.js';
import { attributeUri, firstValue, groupFromAffiliation, NAME_ID, outOfScope, releasedAttributes } from './saml/attributes.js';
import { assertCertificate, MetadataError } from './saml/idp-metadata.js';
import { IdpUnavailable, inlineMetadata, resolveIdp } from './saml/idp-source.js';
import { nodeSamlPackage } from './saml/packages.js';
import { checkResponse } from './saml/response.js';

const SamlConfig = Type.Object(
  {
    /** The IdP's metadata XML (one EntityDescriptor, or an aggregate with idp_entity_id). */
    idp_metadata: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000_000 })),
    /** Where the IdP publishes its metadata (https outside localhost). */
    idp_metadata_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    /** Which IdP of multi-entity metadata to trust. */
    idp_entity_id: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** A federation aggregate (InCommon, eduGAIN …): the person picks their IdP. */
    federation_metadata_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    /** The federation's metadata signing certificate (PEM): an aggregate it did not sign is not used. */
    federation_signing_cert: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000 })),
    /** The released attribute whose value is matched (friendly name, URI, or NameID); eduPersonPrincipalName when absent. */
    attribute: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** eduPersonScopedAffiliation value (`staff@example.edu`, or `staff` for any scope) → user group code. */
    affiliation_groups: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Type.String({ minLength: 1, maxLength: 255 }))),
    /** Refuse a response whose assertion is not signed itself (a signed response alone is not enough). */
    want_assertions_signed: Type.Optional(Type.Boolean()),
    /** Tolerated clock difference with the IdP. */
    clock_skew_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 600 })),
    /** SP key pair (PEM): signs AuthnRequests and decrypts encrypted assertions; the certificate is published in the SP metadata. */
    sp_private_key: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000 })),
    sp_certificate: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000 })),
  },
  { additionalProperties: false },
);
type Config = Static<typeof SamlConfig>;
type Ctx = MethodContext<Config>;

export const DEFAULT_SKEW_SECONDS = 120;
const DEFAULT_ATTRIBUTE = 'eduPersonPrincipalName';
const invalid = (reason: string) => new AppError('LOGIN_METHOD_INVALID', { reason });

function httpsOrLocal(url: string, key: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(`${key} is not a URL`);
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(local && u.protocol === 'http:')) throw invalid(`${key} must be https`);
}

/** The SP's own node-saml object (requests and metadata); never used to check a response. */
function spSaml(ctx: Ctx, entryPoint: string, requestId?: string): SAML {
  const c = ctx.method.config;
  const { SAML } = nodeSamlPackage();
  return new SAML({
    callbackUrl: ctx.urls.acs,
    issuer: ctx.urls.metadata,
    entryPoint,
    idpCert: 'unused-for-requests',
    audience: false,
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    wantAssertionsSigned: c.want_assertions_signed ?? false,
    signatureAlgorithm: 'sha256',
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
    ...(c.sp_private_key ? { privateKey: c.sp_private_key, decryptionPvk: c.sp_private_key } : {}),
  });
}

/** Where the start page of this method is (the discovery page sends the choice there). */
export function discoveryUrl(ctx: Ctx): string {
  return ctx.urls.metadata.replace(/\/metadata$/, '/discovery');
}

async function start(ctx: Ctx, flowId: string, params?: Record<string, string>): Promise<Started> {
  const chosen = params?.idp;
  if (ctx.method.config.federation_metadata_url && !chosen) return { redirect: discoveryUrl(ctx), flow: {}, chooser: true };
  const idp = await resolveIdp(ctx.method.id, ctx.method.config, chosen, ctx.clock());
  // 160 random bits; an xs:ID must not start with a digit.
  const requestId = `_${randomBytes(20).toString('hex')}`;
  const redirect = await spSaml(ctx, idp.ssoUrl, requestId).getAuthorizeUrlAsync(flowId, undefined, {});
  return { redirect, flow: { requestId, idp: idp.entityId } };
}

async function finish(ctx: Ctx, body: Record<string, string>, flow: Record<string, string>): Promise<Verified | Refusal> {
  const c = ctx.method.config;
  const samlResponse = body.SAMLResponse;
  if (!samlResponse) return { refused: 'invalid_response', detail: 'no SAMLResponse' };
  if (!flow.requestId || !flow.idp) return { refused: 'in_response_to', detail: 'the flow holds no request' };
  let idp;
  try {
    idp = await resolveIdp(ctx.method.id, c, flow.idp, ctx.clock());
  } catch (e) {
    if (e instanceof IdpUnavailable) return { refused: 'unavailable', detail: e.message };
    throw e;
  }
  const checked = await checkResponse(samlResponse, {
    idp,
    audience: ctx.urls.metadata,
    acs: ctx.urls.acs,
    requestId: flow.requestId,
    wantAssertionsSigned: c.want_assertions_signed ?? false,
    decryptionKey: c.sp_private_key,
    now: ctx.clock(),
    skewMs: (c.clock_skew_seconds ?? DEFAULT_SKEW_SECONDS) * 1000,
  });
  if ('refused' in checked) return checked;

  const released = releasedAttributes(checked.profile.attributes as Record<string, unknown> | undefined);
  const scopeProblem = outOfScope(released, idp.scopes);
  if (scopeProblem) return { refused: 'invalid_response', detail: scopeProblem };
  const wanted = attributeUri(c.attribute ?? DEFAULT_ATTRIBUTE);
  const subject = wanted === NAME_ID ? checked.profile.nameID?.trim() : released[wanted]?.[0];
  if (!subject) return { refused: 'invalid_response', detail: `the IdP released no ${c.attribute ?? DEFAULT_ATTRIBUTE}` };

  // Last, so a refused answer does not use up its id: an assertion is good for one sign-in.
  if (!(await ctx.firstUse(`saml:${ctx.method.id}:${idp.entityId}:${checked.assertionId}`, checked.rememberUntil))) {
    return { refused: 'replay', detail: `assertion ${checked.assertionId} was used before` };
  }
  const group = groupFromAffiliation(released, c.affiliation_groups);
  const given = firstValue(released, 'givenName');
  const sn = firstValue(released, 'sn');
  const mail = firstValue(released, 'mail');
  return {
    subject,
    attributes: released,
    ...(given ? { firstName: given } : {}),
    ...(sn ? { lastName: sn } : {}),
    ...(mail ? { email: mail } : {}),
    ...(group ? { userGroup: group } : {}),
  };
}

function check(c: Config): void {
  const sources = [c.idp_metadata, c.idp_metadata_url, c.federation_metadata_url].filter(Boolean).length;
  if (sources !== 1) throw invalid('give exactly one of idp_metadata, idp_metadata_url, federation_metadata_url');
  if (c.idp_metadata_url) httpsOrLocal(c.idp_metadata_url, 'idp_metadata_url');
  if (c.federation_metadata_url) {
    httpsOrLocal(c.federation_metadata_url, 'federation_metadata_url');
    if (!c.federation_signing_cert) throw invalid('federation_signing_cert is required with federation_metadata_url');
  }
  try {
    if (c.federation_signing_cert) assertCertificate(c.federation_signing_cert, 'federation_signing_cert');
    if (c.sp_certificate) assertCertificate(c.sp_certificate, 'sp_certificate');
    if (c.idp_metadata) {
      const parsed = inlineMetadata(c.idp_metadata);
      const idp = c.idp_entity_id ? parsed.idps.find((i) => i.entityId === c.idp_entity_id) : parsed.idps.length === 1 ? parsed.idps[0] : undefined;
      if (!idp) throw new MetadataError(c.idp_entity_id ? `idp_metadata has no IdP ${c.idp_entity_id}` : `idp_metadata holds ${parsed.idps.length} SAML 2.0 IdPs with an HTTP-Redirect SSO service: set idp_entity_id`);
      if (!idp.certs.length) throw new MetadataError('idp_metadata names no signing certificate');
      idp.certs.forEach((pem, i) => assertCertificate(pem, `idp_metadata certificate ${i + 1}`));
    }
  } catch (e) {
    if (e instanceof MetadataError) throw invalid(e.message);
    throw e;
  }
  if (!!c.sp_private_key !== !!c.sp_certificate) throw invalid('sp_private_key and sp_certificate go together');
  if (c.sp_private_key && !/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(c.sp_private_key)) throw invalid('sp_private_key is not a PEM private key');
}

export const saml = defineMethod({
  type: 'saml',
  kind: 'redirect',
  config: SamlConfig,
  secrets: ['sp_private_key'],
  check,
  start,
  finish: (ctx, callback, flow) => finish(ctx, callback.body, flow),
  async metadata(ctx) {
    const c = ctx.method.config;
    return spSaml(ctx, ctx.urls.acs).generateServiceProviderMetadata(c.sp_certificate ?? null, c.sp_certificate ?? null);
  },
});
