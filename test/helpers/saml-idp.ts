// A SAML 2.0 identity provider for tests: real RSA keys and self-signed certificates (openssl),
// metadata, Responses signed with xml-crypto the way Shibboleth or ADFS sign them, and the attacks
// the SP must refuse (the eight XML signature-wrapping variants of Somorovsky et al. 2012 as
// SAML Raider names them, other keys, bad times, audiences, recipients).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import xmlenc from 'xml-encryption';
import { X509Certificate } from 'node:crypto';

export interface KeyPair {
  key: string;
  cert: string;
}

/** An RSA key and a self-signed certificate for it. */
export function makeKeyPair(cn = 'test-idp'): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'carrel-saml-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-subj', `/CN=${cn.replace(/[^A-Za-z0-9.-]+/g, '-').slice(0, 60)}`, '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const certBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const id = () => `_${randomBytes(16).toString('hex')}`;
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const EPPN = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6';
export const SCOPED_AFFILIATION = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.9';
export const SUBJECT_ID = 'urn:oasis:names:tc:SAML:attribute:subject-id';
export const TARGETED_ID = 'urn:oid:1.3.6.1.4.1.5923.1.1.1.10';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/** Sign the first element of that local name, the signature placed after its Issuer. */
export function signElement(xml: string, pair: KeyPair, localName: 'Response' | 'Assertion' | 'EntitiesDescriptor'): string {
  const sig = new SignedXml({ privateKey: pair.key, publicCert: pair.cert, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  const target = localName === 'Assertion' ? `//*[local-name(.)='Assertion']` : `/*[local-name(.)='${localName}']`;
  sig.addReference({ xpath: target, digestAlgorithm: SHA256, transforms: [ENVELOPED, EXC_C14N] });
  const location = localName === 'EntitiesDescriptor' ? { reference: target, action: 'prepend' as const } : { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' as const };
  sig.computeSignature(xml, { prefix: 'ds', location });
  return sig.getSignedXml();
}

export interface ResponseOptions {
  /** The AuthnRequest ID this answers (both on the Response and in the bearer confirmation). */
  inResponseTo: string;
  acs: string;
  audience: string;
  attributes?: Record<string, string[]>;
  nameId?: string;
  sign?: 'assertion' | 'response' | 'both' | 'none';
  key?: KeyPair;
  assertionId?: string;
  /** Overrides for single attacks; null leaves the attribute out. */
  responseInResponseTo?: string | null;
  subjectInResponseTo?: string;
  recipient?: string;
  destination?: string | null;
  issuer?: string;
  now?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  subjectNotOnOrAfter?: Date;
  status?: string;
}

export class TestIdp {
  readonly keys: KeyPair[];
  constructor(
    readonly entityId = 'https://idp.example.edu/idp/shibboleth',
    readonly ssoUrl = 'https://idp.example.edu/idp/profile/SAML2/Redirect/SSO',
    keys?: KeyPair[],
    readonly scopes: string[] = ['example.edu'],
    readonly displayName = 'Example University',
  ) {
    this.keys = keys ?? [makeKeyPair(entityId)];
  }

  /** The IdP's EntityDescriptor; every key is a signing key (two during a rollover). */
  entityDescriptor(keys: KeyPair[] = this.keys): string {
    const kds = keys.map((k) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(k.cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('');
    const scopes = this.scopes.map((s) => `<shibmd:Scope regexp="false">${esc(s)}</shibmd:Scope>`).join('');
    return (
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" entityID="${esc(this.entityId)}">` +
      `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<md:Extensions>${scopes}<mdui:UIInfo><mdui:DisplayName xml:lang="en">${esc(this.displayName)}</mdui:DisplayName></mdui:UIInfo></md:Extensions>${kds}` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(this.ssoUrl)}"/>` +
      `</md:IDPSSODescriptor></md:EntityDescriptor>`
    );
  }

  metadata(keys?: KeyPair[]): string {
    return `<?xml version="1.0" encoding="UTF-8"?>\n${this.entityDescriptor(keys)}`;
  }

  /** The Response XML, signed as asked. */
  responseXml(o: ResponseOptions): string {
    const now = o.now ?? new Date();
    const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
    const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
    const subjectNotOnOrAfter = o.subjectNotOnOrAfter ?? notOnOrAfter;
    const issuer = esc(o.issuer ?? this.entityId);
    const aid = o.assertionId ?? id();
    const attrs = Object.entries(o.attributes ?? {})
      .map(([name, values]) => `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values.map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
      .join('');
    const rit = o.responseInResponseTo === undefined ? o.inResponseTo : o.responseInResponseTo;
    const dest = o.destination === undefined ? o.acs : o.destination;
    const assertion =
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${aid}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<saml:Issuer>${issuer}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">${esc(o.nameId ?? id())}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${esc(o.subjectInResponseTo ?? o.inResponseTo)}" NotOnOrAfter="${iso(subjectNotOnOrAfter)}" Recipient="${esc(o.recipient ?? o.acs)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${id()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
      `</saml:Assertion>`;
    let xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id()}" Version="2.0" IssueInstant="${iso(now)}"` +
      (dest === null ? '' : ` Destination="${esc(dest)}"`) +
      (rit === null ? '' : ` InResponseTo="${esc(rit)}"`) +
      `><saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>${assertion}</samlp:Response>`;
    const key = o.key ?? this.keys[0]!;
    const sign = o.sign ?? 'assertion';
    if (sign === 'assertion' || sign === 'both') xml = signElement(xml, key, 'Assertion');
    if (sign === 'response' || sign === 'both') xml = signElement(xml, key, 'Response');
    return xml;
  }

  /** Base64, as the browser posts it in SAMLResponse. */
  response(o: ResponseOptions): string {
    return b64(this.responseXml(o));
  }
}

export const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

/** The AuthnRequest inside an HTTP-Redirect URL, with its RelayState. */
export function readAuthnRequest(redirect: string): { id: string; acs: string | null; issuer: string | null; relayState: string | null; xml: string } {
  const u = new URL(redirect);
  const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement!;
  return {
    id: root.getAttribute('ID') ?? '',
    acs: root.getAttribute('AssertionConsumerServiceURL'),
    issuer: root.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0]?.textContent ?? null,
    relayState: u.searchParams.get('RelayState'),
    xml,
  };
}

// ---- XML signature wrapping (XSW1–XSW8) ----

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';

function el(parent: Element, ns: string, name: string): Element {
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === ns) return n as Element;
  throw new Error(`no ${name} under ${parent.localName}`);
}

/** Every subject value in the element becomes `evil` (NameID and attribute values). */
function evilize(e: Element, evil: string): void {
  for (const tag of ['NameID', 'AttributeValue']) {
    const list = e.getElementsByTagNameNS(ASSERTION_NS, tag);
    for (let i = 0; i < list.length; i++) list[i]!.textContent = evil;
  }
}

function removeSignature(e: Element): Element {
  try {
    e.removeChild(el(e, DSIG, 'Signature'));
  } catch {
    /* none */
  }
  return e;
}

/**
 * The wrapping variant applied to a legitimately signed response (XSW1–2 need the Response
 * signed, XSW3–8 the Assertion); the victim's values become `evil` where the SP would read them.
 */
export function xsw(variant: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8, signedXml: string, evil: string): string {
  const doc = new DOMParser().parseFromString(signedXml, 'text/xml');
  const response = doc.documentElement!;
  if (variant === 1 || variant === 2) {
    const sig = el(response, DSIG, 'Signature');
    const original = removeSignature(response.cloneNode(true) as Element);
    response.setAttribute('ID', '_evil_response');
    evilize(el(response, ASSERTION_NS, 'Assertion'), evil);
    if (variant === 1) sig.appendChild(original);
    else response.insertBefore(original, sig);
  } else {
    const assertion = el(response, ASSERTION_NS, 'Assertion');
    const copy = assertion.cloneNode(true) as Element;
    if (variant === 3 || variant === 4 || variant === 7) {
      const evilAssertion = removeSignature(copy);
      evilAssertion.setAttribute('ID', '_evil_assertion');
      evilize(evilAssertion, evil);
      if (variant === 3) response.insertBefore(evilAssertion, assertion);
      if (variant === 4) {
        response.replaceChild(evilAssertion, assertion);
        evilAssertion.appendChild(assertion);
      }
      if (variant === 7) {
        const ext = doc.createElementNS(PROTOCOL_NS, 'samlp:Extensions');
        response.insertBefore(ext, assertion);
        ext.appendChild(assertion);
        response.appendChild(evilAssertion);
      }
    } else {
      // 5, 6, 8: the signed assertion is changed and keeps its signature; an unsigned copy of the original carries the signed ID.
      const original = removeSignature(copy);
      const sig = el(assertion, DSIG, 'Signature');
      assertion.setAttribute('ID', '_evil_assertion');
      evilize(assertion, evil);
      if (variant === 5) response.appendChild(original);
      if (variant === 6) sig.appendChild(original);
      if (variant === 8) {
        const obj = doc.createElementNS(DSIG, 'ds:Object');
        obj.appendChild(original);
        sig.appendChild(obj);
      }
    }
  }
  return new XMLSerializer().serializeToString(doc);
}

/** A federation aggregate of `count` IdPs plus `extra` entities, signed by `pair` when given. */
export function aggregate(entities: string[], pair?: KeyPair, opts: { validUntil?: Date; cacheDuration?: string } = {}): string {
  const attrs = `${opts.validUntil ? ` validUntil="${iso(opts.validUntil)}"` : ''}${opts.cacheDuration ? ` cacheDuration="${opts.cacheDuration}"` : ''}`;
  const xml = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="${id()}" Name="urn:mace:test:federation"${attrs}>${entities.join('')}</md:EntitiesDescriptor>`;
  return pair ? signElement(xml, pair, 'EntitiesDescriptor') : xml;
}

/** The response's Assertion (signed or not) encrypted for the SP's certificate, as an IdP does with the SP's encryption key. */
export async function encryptAssertion(responseXml: string, spCert: string): Promise<string> {
  const start = responseXml.indexOf('<saml:Assertion');
  const end = responseXml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
  const assertion = responseXml.slice(start, end);
  const rsaPub = new X509Certificate(spCert).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const encrypted = await new Promise<string>((resolve, reject) =>
    xmlenc.encrypt(
      assertion,
      { rsa_pub: rsaPub, pem: spCert, encryptionAlgorithm: 'http://www.w3.org/2009/xmlenc11#aes256-gcm', keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p' },
      (err, out) => (err ? reject(err) : resolve(out as string)),
    ),
  );
  return `${responseXml.slice(0, start)}<saml:EncryptedAssertion>${encrypted}</saml:EncryptedAssertion>${responseXml.slice(end)}`;
}

