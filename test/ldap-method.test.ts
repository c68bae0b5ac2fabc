// The LDAP login method against a real slapd (test/helpers/slapd.ts): search-then-bind, the
// user name escaped, an empty password never a bind, StartTLS and LDAPS checked against the
// test CA, a directory that is down or untrusted is 'unavailable'.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ldapts';
import { Value } from 'typebox/value';
import { isRefusal, type Refusal, type Verified } from '../src/domain/sign-in/method.js';
import { LDAP_CONFIG, ldap, ldapConfigProblem, userFilter, verifyLdap, type LdapConfig } from '../src/domain/sign-in/methods/ldap.js';
import { freePort, PEOPLE, PEOPLE_SEED, SERVICE_DN, SERVICE_PASSWORD, slapdAvailable, startSlapd, type Slapd } from './helpers/slapd.js';
import { methodContext } from './helpers/method-context.js';

const alice = PEOPLE_SEED[0]!;

describe('LDAP method', { skip: !slapdAvailable() && !process.env.CI ? 'slapd is not installed (.ci/run installs it)' : false, timeout: 120_000 }, () => {
  let slapd: Slapd;
  before(async () => {
    slapd = await startSlapd();
  });
  after(async () => {
    await slapd?.stop();
  });

  const config = (over: Partial<LdapConfig> = {}): LdapConfig => ({
    url: slapd.url,
    bind_dn: SERVICE_DN,
    bind_password: SERVICE_PASSWORD,
    search_base: PEOPLE,
    filter: '(&(objectClass=inetOrgPerson)(uid={username}))',
    attribute: 'employeeNumber',
    timeout_ms: 10_000,
    connect_timeout_ms: 10_000,
    ...over,
  });
  const verify = (username: string, password: string, over: Partial<LdapConfig> = {}) =>
    verifyLdap(methodContext('ldap', config(over)), username, password);
  const verified = (r: Verified | Refusal): Verified => {
    assert.ok(!isRefusal(r), `refused: ${JSON.stringify(r)}`);
    return r;
  };
  const refused = (r: Verified | Refusal, reason: Refusal['refused']): Refusal => {
    assert.ok(isRefusal(r), `expected a refusal, got ${JSON.stringify(r)}`);
    assert.equal(r.refused, reason, r.detail);
    return r;
  };

  test('the right password: the entry attribute is the subject, names and e-mail come along', async () => {
    const v = verified(await verify('alice', alice.password));
    assert.equal(v.subject, 'E1001');
    assert.equal(v.firstName, 'Alice');
    assert.equal(v.lastName, 'Archer');
    assert.equal(v.email, 'alice@lib.test');
    assert.deepEqual(v.attributes.cn, ['Alice Archer']);
    assert.equal(v.attributes.userPassword, undefined, 'the password is never read');
    // The attribute may be the user name itself, in any case spelling.
    assert.equal(verified(await verify('bob', 'bob-pass-2', { attribute: 'UID' })).subject, 'bob');
  });

  test('a wrong password, an unknown user and an ambiguous name are the same refusal', async () => {
    const wrong = refused(await verify('alice', 'not-her-password'), 'bad_credentials');
    const unknown = refused(await verify('mallory', 'anything'), 'bad_credentials');
    const ambiguous = refused(await verify('Sam Lee', 'sam-pass-3', { filter: '(cn={username})' }), 'bad_credentials');
    assert.match(wrong.detail!, /user bind refused/);
    assert.match(unknown.detail!, /no entry/);
    assert.match(ambiguous.detail!, /more than one/);
    for (const r of [wrong, unknown, ambiguous]) assert.doesNotMatch(r.detail!, /not-her-password|anything|sam-pass/);
    // An unknown name costs the directory a bind too (a decoy it refuses), so timing tells nothing.
    await new Promise((res) => setTimeout(res, 200));
    assert.match(slapd.log(), /BIND dn="cn=carrel-no-such-entry-[0-9a-f]+,ou=people,dc=lib,dc=test"/);
  });

  test('an empty password is refused before any bind, though this directory accepts an unauthenticated bind', async () => {
    // The directory itself says yes to a DN with no password (allow bind_anon_cred):
    const raw = new Client({ url: slapd.url });
    await raw.bind(`uid=alice,${PEOPLE}`, '');
    await raw.unbind();
    const binds = (slapd.log().match(/ BIND dn=/g) ?? []).length;
    const r = refused(await verify('alice', ''), 'bad_credentials');
    assert.equal(r.detail, 'empty password');
    await new Promise((res) => setTimeout(res, 200));
    assert.equal((slapd.log().match(/ BIND dn=/g) ?? []).length, binds, 'the directory was asked nothing');
    // Not even the service account is bound: a down directory gives the same answer.
    refused(await verify('alice', '', { url: 'ldap://127.0.0.1:1' }), 'bad_credentials');
  });

  test('filter syntax in the user name is a literal name (RFC 4515 escaping): nothing is found', async () => {
    assert.equal(userFilter('(uid={username})', '*)(uid=*'), '(uid=\\2a\\29\\28uid=\\2a)');
    for (const name of ['*)(uid=*', '*', 'al*', 'alice)(|(uid=*', 'alice\\', 'alice\u0000']) {
      const r = refused(await verify(name, alice.password), 'bad_credentials');
      assert.match(r.detail!, /no entry/, name);
    }
    // Unescaped, the same name would have matched every person: the test is not vacuous.
    const raw = new Client({ url: slapd.url });
    await raw.bind(SERVICE_DN, SERVICE_PASSWORD);
    const { searchEntries } = await raw.search(PEOPLE, { scope: 'sub', filter: '(&(objectClass=inetOrgPerson)(uid=*)(uid=*))' });
    await raw.unbind();
    assert.ok(searchEntries.length >= 4);
  });

  test('a directory that is down, or a service account it refuses, is unavailable (not the person\'s fault)', async () => {
    const port = await freePort();
    refused(await verify('alice', alice.password, { url: `ldap://127.0.0.1:${port}`, connect_timeout_ms: 2000 }), 'unavailable');
    const r = refused(await verify('alice', alice.password, { bind_password: 'wrong-service-secret' }), 'unavailable');
    assert.match(r.detail!, /service bind/);
    assert.doesNotMatch(r.detail!, /wrong-service-secret/);
  });

  test('StartTLS: upgraded before any bind, the certificate checked against the configured CA', async () => {
    verified(await verify('alice', alice.password, { starttls: true, tls_ca: slapd.ca }));
    // Signed by a CA the method was not given: refused as unavailable, the password never sent.
    refused(await verify('alice', alice.password, { starttls: true, tls_ca: slapd.otherCa }), 'unavailable');
    refused(await verify('alice', alice.password, { starttls: true }), 'unavailable');
  });

  test('LDAPS: TLS from the first byte, the certificate checked against the configured CA', async () => {
    const v = verified(await verify('alice', alice.password, { url: slapd.ldapsUrl, tls_ca: slapd.ca }));
    assert.equal(v.subject, 'E1001');
    refused(await verify('alice', 'wrong', { url: slapd.ldapsUrl, tls_ca: slapd.ca }), 'bad_credentials');
    refused(await verify('alice', alice.password, { url: slapd.ldapsUrl, tls_ca: slapd.otherCa }), 'unavailable');
  });

  test('connections are closed every time: many attempts leave none open', async () => {
    const before = await openConnections();
    const tries = [];
    for (let i = 0; i < 20; i++) tries.push(verify(i % 2 ? 'alice' : 'nobody', i % 3 ? alice.password : 'x'));
    await Promise.all(tries);
    // slapd's monitor is off; count our own sockets instead (each attempt's client is unbound).
    assert.ok((await openConnections()) <= before, 'no socket left open');
  });
});

describe('LDAP method settings', () => {
  const good: LdapConfig = {
    url: 'ldaps://ldap.uni.example',
    bind_dn: 'cn=carrel,dc=uni,dc=example',
    bind_password: 's',
    search_base: 'ou=people,dc=uni,dc=example',
    filter: '(uid={username})',
    attribute: 'uid',
  };
  test('the schema takes the issue\'s keys and no others; the password is a secret', () => {
    assert.ok(Value.Check(LDAP_CONFIG, good));
    assert.ok(!Value.Check(LDAP_CONFIG, { ...good, extra: 1 }));
    assert.ok(!Value.Check(LDAP_CONFIG, { ...good, url: 'http://ldap.uni.example' }));
    assert.deepEqual(ldap.secrets, ['bind_password']);
    assert.equal(ldap.kind, 'password');
  });
  test('a filter without {username}, a broken filter, or a clear-text password to another host are refused', () => {
    assert.equal(ldapConfigProblem(good), undefined);
    assert.match(ldapConfigProblem({ ...good, filter: '(uid=alice)' })!, /^filter/);
    assert.match(ldapConfigProblem({ ...good, filter: '(uid={username}' })!, /^filter/);
    assert.match(ldapConfigProblem({ ...good, url: 'ldap://ldap.uni.example' })!, /^url/);
    assert.equal(ldapConfigProblem({ ...good, url: 'ldap://ldap.uni.example', starttls: true }), undefined);
    assert.equal(ldapConfigProblem({ ...good, url: 'ldap://127.0.0.1:389' }), undefined);
    assert.match(ldapConfigProblem({ ...good, tls_ca: 'not pem' })!, /^tls_ca/);
  });
});

/** TCP sockets this process holds open (Linux: /proc/self/fd links to socket:[…]). */
async function openConnections(): Promise<number> {
  const { readdirSync, readlinkSync } = await import('node:fs');
  await new Promise((r) => setTimeout(r, 200));
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}
