// Checking a SAML Response posted to the ACS. node-saml does the XML signature part (the one
// place signature wrapping is defended: only the bytes a trusted key signed are read afterwards,
// one assertion only, the signature must belong to its parent). Everything after that is ours,
// on the verified assertion, with the method's clock and one reason per failure: issuer,
// audience, time window, bearer confirmation (recipient, InResponseTo of THIS flow), replay.
import type { Profile } from '@node-saml/node-saml';
import { nodeSamlPackage, xmldomPackage } from './packages.js';
import type { Refusal, RefusalReason } from '../../method.js';
import type { IdpInfo } from './idp-metadata.js';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export interface AcsExpectation {
  idp: IdpInfo;
  /** Our entity id (the metadata URL): the audience. */
  audience: string;
  /** The ACS URL: Recipient of the bearer confirmation, Destination of the response. */
  acs: string;
  /** The AuthnRequest ID kept in the flow. */
  requestId: string;
  wantAssertionsSigned: boolean;
  decryptionKey?: string | undefined;
  now: Date;
  skewMs: number;
}

export interface CheckedAssertion {
  assertionId: string;
  /** Until when the assertion id must be remembered (the latest time it could still be accepted). */
  rememberUntil: Date;
  profile: Profile;
}

type XmlNode = { $?: Record<string, string>; _?: string; [child: string]: unknown };
const kids = (n: XmlNode | undefined, name: string): XmlNode[] => ((n?.[name] as XmlNode[] | undefined) ?? []);
const refuse = (refused: RefusalReason, detail: string): Refusal => ({ refused, detail });

/** The refusal reason node-saml's error stands for (it throws plain Errors). */
function reasonOf(err: unknown): Refusal {
  if (err instanceof nodeSamlPackage().SamlStatusError) return refuse('idp_error', err.message);
  const msg = err instanceof Error ? err.message : String(err);
  if (/signature|cannot obtain assertion|ID cannot refer|refer to it's parent|transforms/i.test(msg)) return refuse('signature', msg);
  return refuse('invalid_response', msg.slice(0, 200));
}

function responseAttributes(profile: Profile): Record<string, string> {
  // The Response element's own attributes, from the same parser node-saml verified with.
  const { DOMParser } = xmldomPackage();
  const doc = new DOMParser({ errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} } }).parseFromString(profile.getSamlResponseXml?.() ?? "", 'text/xml');
  const root = doc.documentElement;
  const out: Record<string, string> = {};
  for (const name of ['Destination', 'InResponseTo']) if (root?.hasAttribute(name)) out[name] = root.getAttribute(name) ?? '';
  // node-saml reads the status only when there is no assertion; an assertion beside a failure is no success.
  const status = Array.from(root?.childNodes ?? []).find((n) => n.nodeType === 1 && (n as Element).localName === 'Status') as Element | undefined;
  const code = status ? Array.from(status.childNodes).find((n) => n.nodeType === 1 && (n as Element).localName === 'StatusCode') as Element | undefined : undefined;
  out.Status = code?.getAttribute('Value') ?? '';
  return out;
}

function time(v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? Number.NaN : t;
}

export async function checkResponse(samlResponse: string, x: AcsExpectation): Promise<CheckedAssertion | Refusal> {
  if (!x.idp.certs.length) return refuse('signature', 'the IdP metadata names no signing certificate');
  const { SAML, ValidateInResponseTo } = nodeSamlPackage();
  const saml = new SAML({
    callbackUrl: x.acs,
    issuer: x.audience,
    idpCert: x.idp.certs,
    // Either signature will do (SAML Web SSO); the setting asks for the assertion's own.
    wantAuthnResponseSigned: false,
    wantAssertionsSigned: x.wantAssertionsSigned,
    // The rest is checked below, on our clock, with a reason each.
    audience: false,
    acceptedClockSkewMs: -1,
    validateInResponseTo: ValidateInResponseTo.never,
    ...(x.decryptionKey ? { decryptionPvk: x.decryptionKey } : {}),
  });
  let profile: Profile | null;
  try {
    ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse }));
  } catch (err) {
    return reasonOf(err);
  }
  if (!profile) return refuse('invalid_response', 'not an authentication response');

  const assertion = (profile.getAssertion?.() as { Assertion?: XmlNode } | undefined)?.Assertion;
  if (!assertion) return refuse('invalid_response', 'no assertion');
  const assertionId = assertion.$?.ID;
  if (!assertionId) return refuse('invalid_response', 'the assertion has no ID');

  const issuer = kids(assertion, 'Issuer')[0]?._?.trim();
  if (issuer !== x.idp.entityId) return refuse('issuer', `assertion issued by ${issuer ?? 'nobody'}, expected ${x.idp.entityId}`);

  const own = responseAttributes(profile);
  if (own.Status !== SUCCESS) return refuse('idp_error', `status ${own.Status || 'missing'}`);
  if (own.Destination !== undefined && own.Destination !== x.acs) return refuse('destination', 'Destination is not this ACS');
  if (own.InResponseTo !== undefined && own.InResponseTo !== x.requestId) return refuse('in_response_to', 'the response answers another request');

  const now = x.now.getTime();
  const conditions = kids(assertion, 'Conditions');
  if (conditions.length !== 1) return refuse('invalid_response', 'the assertion must carry one Conditions element');
  const c = conditions[0]!;
  const notBefore = time(c.$?.NotBefore);
  const notOnOrAfter = time(c.$?.NotOnOrAfter);
  if (Number.isNaN(notBefore) || Number.isNaN(notOnOrAfter)) return refuse('invalid_response', 'Conditions time is not a date');
  if (notBefore !== null && now + x.skewMs < notBefore) return refuse('not_yet_valid', `NotBefore ${c.$?.NotBefore}`);
  if (notOnOrAfter !== null && now - x.skewMs >= notOnOrAfter) return refuse('expired', `NotOnOrAfter ${c.$?.NotOnOrAfter}`);

  // Every AudienceRestriction must name us (each one is a condition that must hold).
  const restrictions = kids(c, 'AudienceRestriction');
  if (!restrictions.length) return refuse('audience', 'no AudienceRestriction');
  for (const r of restrictions) {
    if (!kids(r, 'Audience').some((a) => a._?.trim() === x.audience)) return refuse('audience', 'the assertion is meant for another service');
  }

  // A bearer confirmation for this ACS, in time, answering this flow's request.
  const bearers = kids(kids(assertion, 'Subject')[0], 'SubjectConfirmation').filter((s) => s.$?.Method === BEARER);
  if (!bearers.length) return refuse('invalid_response', 'no bearer SubjectConfirmation');
  const data = bearers.map((b) => kids(b, 'SubjectConfirmationData')[0]?.$ ?? {});
  const forUs = data.filter((d) => d.Recipient === x.acs);
  if (!forUs.length) return refuse('recipient', 'the bearer confirmation names another Recipient');
  const inTime = forUs.filter((d) => {
    const nb = time(d.NotBefore);
    const na = time(d.NotOnOrAfter);
    return na !== null && !Number.isNaN(na) && now - x.skewMs < na && (nb === null || (!Number.isNaN(nb) && now + x.skewMs >= nb));
  });
  if (!inTime.length) {
    const early = forUs.some((d) => time(d.NotBefore) !== null && now + x.skewMs < (time(d.NotBefore) as number));
    return refuse(early ? 'not_yet_valid' : 'expired', 'the bearer confirmation is out of its time window');
  }
  const answering = inTime.find((d) => d.InResponseTo === x.requestId);
  if (!answering) return refuse('in_response_to', 'the assertion answers another request');

  const until = Math.max(time(answering.NotOnOrAfter) as number, notOnOrAfter ?? 0) + x.skewMs;
  return { assertionId, rememberUntil: new Date(until), profile };
}
