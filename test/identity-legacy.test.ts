// Legacy hashes from other systems: each accepted format verifies, is re-hashed to argon2id at the
// first successful login, and a weak legacy password logs its owner in into a forced change instead
// of stranding them. Import through the API and the CLI; unknown formats refused line by line.
// The vectors were made by other implementations: Python's hashlib and crypt(3), openssl passwd, PHP.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hash as argon2Hash } from '@node-rs/argon2';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { md5Crypt } from '../src/domain/identity/md5-crypt.js';
import { parseHash } from '../src/domain/identity/legacy-hashes.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { createTestDb, ENGINE } from './helpers/db.js';
import { CHEAP_ARGON2, errorCode, opAuth, v1 } from './helpers/identity.js';

const PW = 'Legacy pässword 1';
const VECTORS: [string, string, string][] = [
  // [algorithm, hash, password]
  ['bcrypt', '$2y$07$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq', 'rasmuslerdorf'], // php.net
  ['bcrypt', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a', 'rasmuslerdorf'],
  ['pbkdf2-sha1', '$pbkdf2$1000$AQIDBAUGBwgJCgsMDQ4PEA$IaeUPXl0c/fsRTiTyKIHDw.uhQU', PW],
  ['pbkdf2-sha256', '$pbkdf2-sha256$29000$AQIDBAUGBwgJCgsMDQ4PEA$bmBC84j7tv1mjm7HivDjAtQWER0ImuNmVp.xhb99u88', PW],
  [
    'pbkdf2-sha512',
    '$pbkdf2-sha512$25000$AQIDBAUGBwgJCgsMDQ4PEA$nAvHu/SU1GNLhkmJrT2r9SqUeg04OnuSkCsirFLop.WrRqtSY96BKbOrvaWTYquErKFkdp2ad40q3tvrK6GPpg',
    PW,
  ],
  ['pbkdf2-sha256', 'pbkdf2_sha256$260000$seasalt42$E1w9Tr2UTHzhQ4XSSEyJlRTtemXODHrG+cW365NbqOs=', PW], // Django
  ['pbkdf2-sha1', 'pbkdf2_sha1$10000$seasalt42$u+EXgg+caJwxc1w9+2L9IMywCMo=', PW],
  ['pbkdf2-sha256', 'pbkdf2:sha256:600000$werkzeugsalt$ffc4cc74ac9dcb61c374e1cbb7e3e05325b5093e89d523d3ebfa60bdec096e91', PW], // Werkzeug
  ['ssha', '{SSHA}Vg2VDYbKDEaURfnogBBUjFgm498BAgMEBQYHCA==', PW],
  ['ssha512', '{SSHA512}W+AvG6PyKU2s+t6YANOCg/dS8d0zE+ZME9HvusR5QXz5vp2q5DFlRjhVONDzgx+5wX6PbbUg6J36wjwikcUaPQECAwQFBgcI', PW],
  ['md5-crypt', '$1$saltsalt$QiRuzTb/17UTdqe0tc8cv0', PW], // openssl passwd -1 (UTF-8)
  ['apr1-md5', '$apr1$aprsalt$tS.gF/MchNpsbjZe9oVeE1', PW], // openssl passwd -apr1
  ['sha256-crypt', '$5$saltsalt$EgG8QlXoAxtgDQW7z1ApmecwB1cSZYm6Yxf/xqpI.r8', PW],
  [
    'sha512-crypt',
    '$6$rounds=10000$saltsaltsalt$NwfVrZqK8YrDjRu62rdlUugDAMnlNyqsLHKDhtUkCO5zpt1joJpqtRSGIvK/zLQ9YnLyBkbXkD0ED7GSjGIsu0',
    PW,
  ],
];

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  inst = await ctx.institution();
});
after(() => ctx.close());

const credentialOf = (primaryId: string, institutionId = inst.id) =>
  ctx.app.db.one<{ algorithm: string; hash: string; legacy: boolean; must_change: boolean }>(
    `SELECT c.algorithm, c.hash, c.legacy, c.must_change FROM identity.credential c JOIN app_user u ON u.id = c.user_id
     WHERE u.primary_id = $1 AND u.institution_id = $2`,
    [primaryId, institutionId],
  );

describe('formats', () => {
  test('every vector parses to its algorithm and verifies its password, and only it', async () => {
    for (const [algorithm, hash, password] of VECTORS) {
      const parsed = parseHash(hash);
      assert.equal(parsed.algorithm, algorithm, hash);
      assert.equal(await parsed.verify(password), true, hash);
      assert.equal(await parsed.verify(`${password}x`), false, hash);
    }
  });

  test('our MD5-crypt matches openssl for UTF-8 and empty passwords (apache-md5 gets UTF-8 wrong)', () => {
    assert.equal(md5Crypt(Buffer.from('pässword'), 'saltsalt', '$1$'), '$1$saltsalt$QgbQ7EUpcKNQTLgSVL4qr/');
    assert.equal(md5Crypt(Buffer.from('pässword'), 'saltsalt', '$apr1$'), '$apr1$saltsalt$553eXAj/BD3irf9w9nutz/');
    assert.equal(md5Crypt(Buffer.from(''), 'ab', '$1$'), '$1$ab$rn6aQS/o7141mj179E/zA.');
  });

  test('unknown formats and absurd costs are refused with a clear reason', () => {
    for (const [hash, reason] of [
      ['5f4dcc3b5aa765d61d8327deb882cf99', /unknown format/],
      ['{MD5}X03MO1qnZdYdgyfeuILPmQ==', /unknown format/],
      ['$2y$31$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq', /cost 31/],
      ['$pbkdf2-sha256$99000000$AQIDBAUGBwgJCgsMDQ4PEA$bmBC84j7tv1mjm7HivDjAtQWER0ImuNmVp.xhb99u88', /99000000/],
      ['$pbkdf2-sha256$1000$AQIDBAUGBwgJCgsMDQ4PEA$IaeUPXl0c/fsRTiTyKIHDw.uhQU', /32 bytes/],
      ['{SSHA}AAAA', /digest and a salt/],
      ['$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', /refused/],
      ['', /empty/],
      ['$2y$10$ has spaces', /white space/],
    ] as const) {
      assert.throws(() => parseHash(hash), (err: Error & { code?: string }) => err.code === 'HASH_FORMAT' && reason.test(err.message), hash);
    }
  });
});

describe('import and first login', () => {
  test('each format logs in once by op=auth and is argon2id afterwards; the wrong password changes nothing', async () => {
    const staff = v1(ctx.server, inst.key);
    const api = client(ctx.server, inst.key);
    const argon2i = await argon2Hash(PW, { algorithm: 1, memoryCost: 4096, timeCost: 2 });
    const all: [string, string, string][] = [...VECTORS, ['argon2i', argon2i, PW]];
    for (const [n, [algorithm, hash, password]] of all.entries()) {
      const id = `legacy${String(n).padStart(2, '0')}`;
      assert.equal((await api.post('/users', jsonUser(id, { first_name: 'Lee', last_name: 'Gacy' }))).statusCode, 200);
      const imported = await staff.post(`/users/${id}/password-hash`, { hash });
      assert.equal(imported.statusCode, 200, imported.body);
      assert.deepEqual(imported.json(), { primary_id: id, algorithm });
      assert.equal((await credentialOf(id)).legacy, true);

      assert.equal((await opAuth(ctx.server, inst.key, id, `${password}!`)).statusCode, 400);
      assert.equal((await credentialOf(id)).hash, hash, 'a failed login does not touch the hash');

      const ok = await opAuth(ctx.server, inst.key, id, password);
      assert.equal(ok.statusCode, 204, `${algorithm}: ${ok.body}`);
      const after = await credentialOf(id);
      assert.equal(after.algorithm, 'argon2id', algorithm);
      assert.equal(after.legacy, false);
      assert.match(after.hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      assert.equal((await opAuth(ctx.server, inst.key, id, password)).statusCode, 204, 'and it still works');
    }
  });

  test('a weak legacy password logs in into a forced change instead of stranding its owner', async () => {
    const api = client(ctx.server, inst.key);
    await api.post('/users', jsonUser('weak01'));
    // md5-crypt of "secret": 6 characters, and on every common-password list.
    await v1(ctx.server, inst.key).post('/users/weak01/password-hash', { hash: '$1$weaksalt$n33nveUWCOMYS2BtlL1Yv1' });
    const res = await opAuth(ctx.server, inst.key, 'weak01', 'secret');
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['x-carrel-password-change-required'], 'true');
    const stored = await credentialOf('weak01');
    assert.equal(stored.algorithm, 'argon2id');
    assert.equal(stored.must_change, true);
    const login = await ctx.app.services.identity.verifyLogin(inst.id, 'weak01', 'secret', null);
    assert.equal(login.outcome, 'must_change');
  });

  test('a password typed decomposed (NFD) matches a hash of the composed one, and the other way round', async () => {
    const api = client(ctx.server, inst.key);
    await api.post('/users', jsonUser('nfc01'));
    await api.post('/users', jsonUser('nfd01'));
    await v1(ctx.server, inst.key).post('/users/nfc01/password-hash', { hash: '$1$saltsalt$QiRuzTb/17UTdqe0tc8cv0' });
    // This legacy system stored the decomposed bytes ("a" + U+0308).
    await v1(ctx.server, inst.key).post('/users/nfd01/password-hash', { hash: '$1$nfdsalt$Qaj1CSF5QLZmDjt/bgvFI.' });
    assert.equal((await opAuth(ctx.server, inst.key, 'nfc01', PW.normalize('NFD'))).statusCode, 204);
    assert.equal((await opAuth(ctx.server, inst.key, 'nfd01', 'Decomposed pässword 2'.normalize('NFD'))).statusCode, 204);
    // Re-hashed as NFC: from now on both spellings work.
    assert.equal((await opAuth(ctx.server, inst.key, 'nfd01', 'Decomposed pässword 2'.normalize('NFC'))).statusCode, 204);
  });

  test('API import refuses unknown formats, EXTERNAL users without fallback, and read-only keys', async () => {
    const api = client(ctx.server, inst.key);
    await api.post('/users', jsonUser('imp01'));
    await api.post('/users', jsonUser('ext01', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }));
    const staff = v1(ctx.server, inst.key);
    const unknown = await staff.post('/users/imp01/password-hash', { hash: 'plaintext-password' });
    assert.equal(unknown.statusCode, 400);
    assert.equal(errorCode(unknown), 'CARREL_HASH_FORMAT');
    assert.doesNotMatch(unknown.body, /plaintext-password/);
    assert.equal(errorCode(await staff.post('/users/ext01/password-hash', { hash: VECTORS[0]![1] })), '401859');
    const ro = await v1(ctx.server, inst.readOnlyKey).post('/users/imp01/password-hash', { hash: VECTORS[0]![1] });
    assert.equal(errorCode(ro), 'UNAUTHORIZED');
  });
});

describe('the CLI', () => {
  test('users import-hashes imports good lines and names each refused one; institution settings sets the policy', async () => {
    const root = new URL('..', import.meta.url).pathname;
    const dir = mkdtempSync(join(tmpdir(), 'carrel-hashes-'));
    const testDb = ENGINE === 'postgres' ? await createTestDb() : undefined;
    const env: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: dir, DATABASE_URL: testDb?.url ?? '', LOG_LEVEL: 'warn', CARREL_ARGON2_MEMORY_KIB: '1024', CARREL_ARGON2_TIME_COST: '1' };
    await testDb?.db.close();
    const open = () => createApp(loadConfig(env, { logLevel: 'silent' }));
    try {
      let app = await open();
      const created = await app.services.institutions.create({ code: 'HASHES_CLI', name: 'Hash import' });
      const system = { kind: 'system' as const, label: 'test' };
      for (const id of ['cli01', 'cli02', 'cli03']) {
        await app.services.users.create(system, created.id, { primaryId: id, recordType: 'PUBLIC', accountType: 'INTERNAL', userGroup: 'COMMUNITY', status: 'ACTIVE' });
      }
      await app.close();
      const file = join(dir, 'hashes.csv');
      writeFileSync(file, ['identifier,hash', `cli01,${VECTORS[0]![1]}`, 'cli02,"$1$saltsalt$QiRuzTb/17UTdqe0tc8cv0"', 'cli03,md5:abc', 'nobody,$1$saltsalt$QiRuzTb/17UTdqe0tc8cv0', ''].join('\n'));
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'users', 'import-hashes', file, '--institution', 'HASHES_CLI'], {
        cwd: root,
        env,
        encoding: 'utf8',
      });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stdout, /imported 2, refused 2/);
      assert.match(run.stderr, /line 4 \(cli03\): The password hash is not one Carrel accepts: unknown format/);
      assert.match(run.stderr, /line 5 \(nobody\): User with identifier nobody was not found/);
      assert.doesNotMatch(run.stderr + run.stdout, /QiRuzTb|BCryptRequires/);

      app = await open();
      const inst2 = await app.services.institutions.byCode('HASHES_CLI');
      assert.equal((await app.services.identity.verifyLogin(inst2.id, 'cli01', 'rasmuslerdorf', null)).outcome, 'ok');
      assert.equal((await app.services.identity.verifyLogin(inst2.id, 'cli02', PW, null)).outcome, 'ok');
      await app.close();

      // The identity options of `institution settings`.
      const settings = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'institution', 'settings', 'HASHES_CLI',
        '--login-max-failures', '5', '--login-lock-minutes', '10', '--password-min-length', '12', '--password-classes', 'upper,digit',
        '--external-password-fallback', 'true'], { cwd: root, env, encoding: 'utf8' });
      assert.equal(settings.status, 0, settings.stderr);
      const shown = JSON.parse(settings.stdout) as Record<string, unknown>;
      assert.deepEqual(
        [shown.loginMaxFailures, shown.loginLockMinutes, shown.passwordMinLength, shown.passwordRequiredClasses, shown.externalPasswordFallback],
        [5, 10, 12, ['upper', 'digit'], true],
      );
      const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'institution', 'settings', 'HASHES_CLI', '--password-classes', 'emoji'], { cwd: root, env, encoding: 'utf8' });
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /password-classes/);

    } finally {
      rmSync(dir, { recursive: true, force: true });
      await testDb?.drop().catch(() => {});
    }
  });
});
