// SAML metadata of identity providers: one EntityDescriptor (a campus IdP) or an EntitiesDescriptor
// (a federation aggregate of thousands). We keep only what the SP needs: where to send the
// AuthnRequest (HTTP-Redirect), which certificates sign (all of them: two during a key rollover),
// which scopes the IdP may assert, and a name for the discovery list.
import { X509Certificate } from 'node:crypto';
import { xmlCryptoPackage, xmldomPackage } from './packages.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const SHIBMD = 'urn:mace:shibboleth:metadata:1.0';
const MDUI = 'urn:oasis:names:tc:SAML:metadata:ui';
const SAML2P = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface IdpInfo {
  entityId: string;
  /** SingleSignOnService, HTTP-Redirect binding. */
  ssoUrl: string;
  /** PEM certificates whose keys may sign (KeyDescriptor use="signing" or without use). */
  certs: string[];
  /** shibmd:Scope values (regexp scopes are not honoured: a scoped value must name one of these). */
  scopes: string[];
  displayName: string;
}

export interface ParsedMetadata {
  idps: IdpInfo[];
  /** The earliest validUntil on the root (metadata past it must not be used). */
  validUntil: Date | null;
  /** cacheDuration on the root, in seconds, when given (how soon to look again). */
  cacheDurationSeconds: number | null;
}

export class MetadataError extends Error {}

function parse(xml: string): Document {
  const errors: string[] = [];
  const { DOMParser } = xmldomPackage();
  const doc = new DOMParser({
    errorHandler: { warning: () => {}, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) },
  }).parseFromString(xml, 'text/xml');
  if (errors.length || !doc?.documentElement) throw new MetadataError(`metadata is not well-formed XML: ${errors[0] ?? 'empty'}`);
  // A DTD could declare entities; metadata never needs one.
  if (doc.doctype) throw new MetadataError('metadata may not carry a DOCTYPE');
  return doc as unknown as Document;
}

const children = (el: Element, ns: string, name: string): Element[] =>
  Array.from(el.childNodes as unknown as ArrayLike<Node>).filter(
    (n): n is Element => n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === ns,
  );

const text = (el: Element): string => (el.textContent ?? '').trim();

export function toPem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}

function idpOf(entity: Element): IdpInfo | null {
  const entityId = entity.getAttribute('entityID') ?? '';
  const sso = children(entity, MD, 'IDPSSODescriptor').find((d) => (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2P));
  if (!entityId || !sso) return null;
  const redirect = children(sso, MD, 'SingleSignOnService').find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  if (!redirect?.getAttribute('Location')) return null;
  const certs: string[] = [];
  for (const kd of children(sso, MD, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(DS, 'X509Certificate') as unknown as ArrayLike<Element>)) certs.push(toPem(text(c)));
  }
  const scopes: string[] = [];
  const names: string[] = [];
  for (const ext of [...children(sso, MD, 'Extensions'), ...children(entity, MD, 'Extensions')]) {
    for (const s of Array.from(ext.getElementsByTagNameNS(SHIBMD, 'Scope') as unknown as ArrayLike<Element>)) {
      if (s.getAttribute('regexp') !== 'true' && text(s)) scopes.push(text(s));
    }
    for (const d of Array.from(ext.getElementsByTagNameNS(MDUI, 'DisplayName') as unknown as ArrayLike<Element>)) {
      if (d.getAttribute('xml:lang') === 'en') names.unshift(text(d));
      else names.push(text(d));
    }
  }
  const org = entity.getElementsByTagNameNS(MD, 'OrganizationDisplayName')[0];
  return {
    entityId,
    ssoUrl: redirect.getAttribute('Location')!,
    certs,
    scopes: [...new Set(scopes)],
    displayName: names.find(Boolean) ?? (org ? text(org) : '') ?? entityId,
  };
}

function durationSeconds(d: string | null): number | null {
  // xs:duration as metadata uses it: PnDTnHnMnS (years and months are not used for caches).
  const m = d?.match(/^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/);
  if (!m) return null;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

/** Every SAML 2.0 IdP in the metadata (one entity or an aggregate); SP-only entities are skipped. */
export function parseIdpMetadata(xml: string): ParsedMetadata {
  const root = parse(xml).documentElement;
  if (root.namespaceURI !== MD || !['EntityDescriptor', 'EntitiesDescriptor'].includes(root.localName)) {
    throw new MetadataError('metadata root is neither EntityDescriptor nor EntitiesDescriptor');
  }
  const entities = root.localName === 'EntityDescriptor' ? [root] : Array.from(root.getElementsByTagNameNS(MD, 'EntityDescriptor') as unknown as ArrayLike<Element>);
  const idps = entities.map(idpOf).filter((i): i is IdpInfo => i !== null);
  const vu = root.getAttribute('validUntil');
  const validUntil = vu ? new Date(vu) : null;
  if (validUntil && Number.isNaN(validUntil.getTime())) throw new MetadataError('validUntil is not a date');
  return { idps, validUntil, cacheDurationSeconds: durationSeconds(root.getAttribute('cacheDuration')) };
}

/**
 * The aggregate as signed by the federation's key, or an error: exactly one enveloped signature on
 * the root, referring to the root, valid under `certPem`. We return the signed bytes xml-crypto
 * verified (not the document we were given), so nothing outside the signature can be slipped in.
 */
export function verifiedAggregate(xml: string, certPem: string): string {
  const doc = parse(xml);
  const root = doc.documentElement;
  const sigs = children(root, DS, 'Signature');
  if (sigs.length !== 1) throw new MetadataError(sigs.length ? 'metadata carries more than one signature' : 'metadata is not signed');
  const { SignedXml } = xmlCryptoPackage();
  const sig = new SignedXml({ publicCert: certPem });
  sig.loadSignature(sigs[0]!);
  const refs = sig.getReferences();
  const uri = refs[0]?.uri ?? '';
  const rootId = root.getAttribute('ID');
  if (refs.length !== 1 || !(uri === '' || (rootId && uri === `#${rootId}`))) throw new MetadataError('metadata signature does not cover the whole document');
  let ok = false;
  try {
    ok = sig.checkSignature(xml);
  } catch (e) {
    throw new MetadataError(`metadata signature is not valid: ${(e as Error).message}`);
  }
  const signed = sig.getSignedReferences();
  if (!ok || signed.length !== 1) throw new MetadataError('metadata signature is not valid');
  return signed[0]!;
}

/** A PEM certificate that parses, or an error naming the key. */
export function assertCertificate(pem: string, key: string): void {
  try {
    new X509Certificate(pem);
  } catch {
    throw new MetadataError(`${key} is not a PEM certificate`);
  }
}
