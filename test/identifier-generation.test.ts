// Generated identifiers (issue 10, scope 2): check digits against published examples, prefix and
// padding, the API and SIS loads giving new users without one a value in the write's
// transaction, 50 concurrent creations getting 50 distinct values, a value typed by hand skipped,
// a rolled-back write handing its number back, and a used-up counter refused clearly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';
import { almaXml, campusUser } from './helpers/campus-file.js';
import { api, runQueue } from './helpers/sis.js';
import {
  checkDigitOf,
  formatIdentifier,
  libraryMod10CheckDigit,
  luhnCheckDigit,
} from '../src/domain/users/identifier-generation.js';
import { generationRules } from '../src/cli/commands/users.js';
import type { IdentifierGenerationRule, InstitutionSettings } from '../src/model/institution.js';
import type { LoginMethod } from '../src/model/login-method.js';
import { createJitCreator } from '../src/domain/sign-in/jit.js';

let ctx: TestContext;
before(async () => {
  ctx = await createTestContext();
});
after(() => ctx.close());

const BARCODE_RULE: IdentifierGenerationRule = { identifierType: 'BARCODE', prefix: '2319', padding: 8, checkDigit: 'mod10' };

async function institutionWith(settings: Partial<InstitutionSettings>) {
  const inst = await ctx.institution();
  await ctx.app.services.institutions.updateSettings(inst.code, settings);
  return inst;
}

const barcodeOf = (u: { user_identifier?: { id_type: { value: string }; value: string }[] }) =>
  u.user_identifier?.find((i) => i.id_type.value === 'BARCODE')?.value;

const counter = async (scope: string) =>
  (await ctx.app.db.maybeOne<{ v: string }>('SELECT last_value::text AS v FROM identifier_sequence WHERE scope_id = $1', [scope]))?.v;

describe('check digits', () => {
  test('Luhn (ISO/IEC 7812): the standard example 7992739871 → 3, and card numbers', () => {
    assert.equal(luhnCheckDigit('7992739871'), 3);
    // A Visa test card number (4111 1111 1111 1111) and an ISO/IEC 7812 IIN example.
    assert.equal(luhnCheckDigit('411111111111111'), 1);
    assert.equal(luhnCheckDigit('37828224631000'), 5);
    assert.equal(checkDigitOf('luhn', '799273987'), String(luhnCheckDigit('799273987')));
  });

  test('library mod 10 (14-digit Codabar): the published JerseyCat and Dynix examples', () => {
    // JerseyCat, "Understanding the Bar Code Structure": 3 0234 00051786 → check digit 1.
    assert.equal(libraryMod10CheckDigit('3023400051786'), 1);
    // The Dynix barcode guide: item 3 3191 00010586 → check digit 4.
    assert.equal(libraryMod10CheckDigit('3319100010586'), 4);
    // And the complete barcodes validate: the check digit of the first 13 digits is the 14th.
    for (const full of ['30234000517861', '33191000105864']) assert.equal(String(libraryMod10CheckDigit(full.slice(0, 13))), full[13]);
  });

  test('mod10 counts positions from the left: equal to Luhn for 13 digits, not for an even count', () => {
    for (const digits of ['3023400051786', '3319100010586', '2319000000001']) assert.equal(libraryMod10CheckDigit(digits), luhnCheckDigit(digits));
    // 12 digits: mod10 doubles 1st, 3rd ... from the left; Luhn doubles the 12th, 10th ... from the right.
    assert.equal(libraryMod10CheckDigit('231900000001'), 1);
    assert.equal(luhnCheckDigit('231900000001'), 0);
  });

  test('prefix, padding and check digit; letters of a prefix do not count', () => {
    assert.equal(formatIdentifier(BARCODE_RULE, 1n), '2319000000011');
    // The usual 14-digit patron barcode: 2 + four-digit library + 9-digit number... here prefix 2319, 9 digits.
    assert.equal(formatIdentifier({ ...BARCODE_RULE, padding: 9 }, 1n), '23190000000010');
    assert.equal(formatIdentifier({ identifierType: 'BARCODE', prefix: 'P-', padding: 5, checkDigit: 'none' }, 42n), 'P-00042');
    assert.equal(formatIdentifier({ identifierType: 'BARCODE', prefix: 'LIB', padding: 4, checkDigit: 'luhn' }, 7n), `LIB0007${luhnCheckDigit('0007')}`);
    assert.equal(formatIdentifier({ identifierType: 'BARCODE', prefix: '', padding: 3, checkDigit: 'none' }, 12345n), '12345', 'a number longer than the padding is not cut');
  });

  test('the CLI option reads RECORD_TYPE=TYPE:PREFIX:PADDING:CHECK, and refuses a bad one', () => {
    assert.deepEqual(generationRules({}, ['public=BARCODE:2319:8:mod10', 'STAFF=PRIMARY_ID:S:a:5:luhn']), {
      PUBLIC: BARCODE_RULE,
      STAFF: { identifierType: 'PRIMARY_ID', prefix: 'S:a', padding: 5, checkDigit: 'luhn' },
    });
    assert.deepEqual(generationRules({ PUBLIC: BARCODE_RULE }, ['PUBLIC=']), {});
    for (const bad of ['PUBLIC=BARCODE:1:0:none', 'PUBLIC=BARCODE:1:8:crc', 'PATRON=BARCODE:1:8:none', 'PUBLIC=BARCODE:8']) {
      assert.throws(() => generationRules({}, [bad]), /generate-identifier/, bad);
    }
  });
});

describe('the API', () => {
  test('POST /users without a barcode gets the next one, in the mandatory type; one given is kept', async () => {
    const inst = await institutionWith({ mandatoryIdentifier: { PUBLIC: 'BARCODE' }, identifierGeneration: { PUBLIC: BARCODE_RULE } });
    const alma = client(ctx.server, inst.key);
    const first = await alma.post('/users', jsonUser('gen-a'));
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(barcodeOf(first.json()), '2319000000011');
    assert.equal(first.json().user_identifier[0].segment_type, 'Internal', 'SIS loads keep what the library issued');
    const second = await alma.post('/users', jsonUser('gen-b'));
    assert.equal(barcodeOf(second.json()), formatIdentifier(BARCODE_RULE, 2n));
    // Found by it, as a barcode.
    assert.equal((await alma.get(`/users/${barcodeOf(second.json())}?user_id_type=BARCODE`)).json().primary_id, 'gen-b');

    const own = await alma.post('/users', jsonUser('gen-c', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'HAND-1' }] }));
    assert.equal(own.statusCode, 200, own.body);
    assert.deepEqual(own.json().user_identifier.map((i: { value: string }) => i.value), ['HAND-1']);
    assert.equal(await counter(inst.id), '2', 'a user with its barcode takes no number');

    // A STAFF user has no rule and no mandatory identifier: nothing generated.
    const staff = await alma.post('/users', jsonUser('gen-staff', { record_type: { value: 'STAFF' }, user_group: { value: 'LIBSTAFF' } }));
    assert.equal(staff.statusCode, 200, staff.body);
    assert.deepEqual(staff.json().user_identifier ?? [], []);

    // The audit event of the create carries the generated value.
    const audit = await ctx.app.db.one<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_event WHERE action = 'user.create' AND institution_id = $1 AND changes::text LIKE '%2319000000011%'",
      [inst.id],
    );
    assert.equal(audit.n, 1);
  });

  test('without a rule the mandatory identifier is still refused, and nothing is written', async () => {
    const inst = await institutionWith({ mandatoryIdentifier: { PUBLIC: 'BARCODE' } });
    const res = await client(ctx.server, inst.key).post('/users', jsonUser('nobarcode'));
    assert.deepEqual(almaError(res), { status: 400, code: '401664', message: 'Mandatory field is missing: user_identifier of type BARCODE' });
    assert.equal((await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM app_user WHERE institution_id = $1', [inst.id])).n, 0);
  });

  test('50 concurrent creations get 50 distinct values', async () => {
    const inst = await institutionWith({ identifierGeneration: { PUBLIC: { ...BARCODE_RULE, checkDigit: 'luhn' } } });
    const alma = client(ctx.server, inst.key);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => alma.post('/users', jsonUser(`many-${i}`))));
    for (const r of results) assert.equal(r.statusCode, 200, r.body);
    const values = results.map((r) => barcodeOf(r.json())!);
    assert.equal(new Set(values).size, 50);
    // No number was lost either: 1 to 50, each with its Luhn digit.
    const expected = Array.from({ length: 50 }, (_, i) => formatIdentifier({ ...BARCODE_RULE, checkDigit: 'luhn' }, BigInt(i + 1)));
    assert.deepEqual([...values].sort(), expected.sort());
    const stored = await ctx.app.db.one<{ n: number; d: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT lower(value))::int AS d FROM user_identifier WHERE institution_id = $1 AND id_type = 'BARCODE'",
      [inst.id],
    );
    assert.deepEqual(stored, { n: 50, d: 50 });
  });

  test('a value someone typed by hand (as a barcode or a primary id) is skipped, not a failure', async () => {
    const inst = await institutionWith({ identifierGeneration: { PUBLIC: { identifierType: 'BARCODE', prefix: 'P', padding: 4, checkDigit: 'none' } } });
    const alma = client(ctx.server, inst.key);
    // The next two values are taken: one as another user's barcode, one as a primary id (one namespace).
    assert.equal((await alma.post('/users', jsonUser('typed', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'p0001' }] }))).statusCode, 200);
    const staff = { record_type: { value: 'STAFF' }, user_group: { value: 'LIBSTAFF' } };
    assert.equal((await alma.post('/users', jsonUser('P0002', staff))).statusCode, 200);
    const res = await alma.post('/users', jsonUser('after-clash'));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(barcodeOf(res.json()), 'P0003');
    assert.equal(barcodeOf((await alma.post('/users', jsonUser('next'))).json()), 'P0004');
  });

  test('a rolled-back write hands its number back; nothing is duplicated', async () => {
    const inst = await institutionWith({ identifierGeneration: { PUBLIC: { identifierType: 'BARCODE', prefix: 'R', padding: 3, checkDigit: 'none' } } });
    const alma = client(ctx.server, inst.key);
    // The password is refused after the user was written, in the same transaction: all of it rolls back.
    const refused = await alma.post('/users', jsonUser('rolled', { password: 'short' }));
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(await counter(inst.id), undefined);
    const ok = await alma.post('/users', jsonUser('kept'));
    assert.equal(barcodeOf(ok.json()), 'R001');
  });

  test('a used-up counter is refused with its reason; a rule whose type the record type may not carry is refused as a setting', async () => {
    const inst = await institutionWith({ identifierGeneration: { PUBLIC: { identifierType: 'BARCODE', prefix: 'X', padding: 1, checkDigit: 'none' } } });
    const alma = client(ctx.server, inst.key);
    for (let i = 1; i <= 9; i++) assert.equal(barcodeOf((await alma.post('/users', jsonUser(`user-${i}`))).json()), `X${i}`);
    const full = await alma.post('/users', jsonUser('user-10'));
    assert.equal(full.statusCode, 409);
    assert.equal(almaError(full).code, 'CARREL_IDENTIFIER_GENERATION_EXHAUSTED');
    assert.match(almaError(full).message, /1-digit numbers after prefix X are used up/);
    // GOOGLE_ID is a PUBLIC user's identifier type only (UserIdentifierTypes): no STAFF rule may hand it out.
    await assert.rejects(
      ctx.app.services.institutions.updateSettings(inst.code, { identifierGeneration: { STAFF: { identifierType: 'GOOGLE_ID', prefix: 'G', padding: 3, checkDigit: 'none' } } }),
      { code: 'SETTING_INVALID', message: /GOOGLE_ID is not allowed for STAFF users/ },
    );
    assert.equal((await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM app_user WHERE institution_id = $1', [inst.id])).n, 9);
  });

  test('a PRIMARY_ID rule makes the primary id of a user created without one', async () => {
    const rule: IdentifierGenerationRule = { identifierType: 'PRIMARY_ID', prefix: 'S', padding: 5, checkDigit: 'luhn' };
    const inst = await institutionWith({ identifierGeneration: { STAFF: rule } });
    const alma = client(ctx.server, inst.key);
    const res = await alma.post('/users', jsonUser('', { record_type: { value: 'STAFF' }, user_group: { value: 'LIBSTAFF' } }));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().primary_id, formatIdentifier(rule, 1n));
    // A PUBLIC user (no rule) still needs one.
    assert.equal(almaError(await alma.post('/users', jsonUser(''))).code, '401664');
  });

  test('networks that keep identifiers unique across members draw from one counter', async () => {
    const zone = await ctx.institution({ networkZone: true });
    const member = await ctx.institution({ network: zone.code });
    await ctx.app.services.institutions.updateNetworkSettings(zone.code, { uniqueIdsAcrossNetwork: true });
    const rule: IdentifierGenerationRule = { identifierType: 'BARCODE', prefix: 'N', padding: 4, checkDigit: 'none' };
    for (const i of [zone, member]) await ctx.app.services.institutions.updateSettings(i.code, { identifierGeneration: { PUBLIC: rule } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, k) => client(ctx.server, (k % 2 ? member : zone).key).post('/users', jsonUser(`net-${k}`))),
    );
    for (const r of results) assert.equal(r.statusCode, 200, r.body);
    assert.equal(new Set(results.map((r) => barcodeOf(r.json()))).size, 10);
  });
});

describe('just-in-time users', () => {
  test('a user an IdP vouched for, created just in time, gets the barcode too', async () => {
    const inst = await institutionWith({ mandatoryIdentifier: { PUBLIC: 'BARCODE' }, identifierGeneration: { PUBLIC: BARCODE_RULE } });
    const institution = await ctx.app.services.institutions.byId(inst.id);
    const jit = createJitCreator(ctx.app.services.users, ctx.app.services.codeTables);
    const method = { code: 'campus-sso', match: 'UNIV_ID', jit: { recordType: 'PUBLIC', userGroup: 'COMMUNITY' } } as unknown as LoginMethod;
    const made = await jit.create(institution, method, { subject: 'U777', attributes: {}, firstName: 'Jo', lastName: 'March' });
    assert.ok('user' in made, JSON.stringify(made));
    assert.deepEqual(
      made.user.identifiers.map((i) => [i.idType, i.value, i.segmentType]),
      [['UNIV_ID', 'U777', 'External'], ['BARCODE', formatIdentifier(BARCODE_RULE, 1n), 'Internal']],
    );
  });
});

describe('SIS loads', () => {
  test('new users of the file without a barcode get one; a later load keeps it', async () => {
    const inst = await institutionWith({ mandatoryIdentifier: { PUBLIC: 'BARCODE' }, identifierGeneration: { PUBLIC: BARCODE_RULE } });
    const a = api(ctx.server, inst.key);
    assert.equal((await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' })).status, 201);
    const withoutBarcode = (i: number, variant = 0) => {
      const u = campusUser(i, { variant });
      u.user_identifier = (u.user_identifier as { id_type: string }[]).filter((x) => x.id_type !== 'BARCODE');
      return u;
    };
    // One user of the file brings the value the counter would hand out next: it is skipped.
    const brings = campusUser(3);
    brings.user_identifier = [{ id_type: 'UNIV_ID', value: 'U0000003', status: 'ACTIVE', segment_type: 'External' }, { id_type: 'BARCODE', value: formatIdentifier(BARCODE_RULE, 2n), status: 'ACTIVE', segment_type: 'External' }];
    const load = async (users: unknown[]) => {
      const up = await a.upload('CAMPUS', almaXml(users as never), 'application/xml');
      assert.equal(up.status, 202, JSON.stringify(up.body));
      await runQueue(ctx.app);
      return a.job(up.body.id);
    };
    const job = await load([withoutBarcode(1), withoutBarcode(2), brings, withoutBarcode(4)]);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.result.created, 4, JSON.stringify(job.result));
    assert.equal(job.result.failed, 0);
    const barcodes = async () =>
      Object.fromEntries(
        await Promise.all([1, 2, 3, 4].map(async (i) => [i, barcodeOf((await a.almaUser(`U000000${i}`)) ?? {})] as const)),
      );
    const first = await barcodes();
    assert.deepEqual(first, {
      1: formatIdentifier(BARCODE_RULE, 1n),
      2: formatIdentifier(BARCODE_RULE, 3n),
      3: formatIdentifier(BARCODE_RULE, 2n),
      4: formatIdentifier(BARCODE_RULE, 4n),
    });
    // The next night's file changes the users and still has no barcode: the generated ones stay.
    const again = await load([withoutBarcode(1, 1), withoutBarcode(2, 1), brings, withoutBarcode(4, 1)]);
    assert.equal(again.result.updated, 3, JSON.stringify(again.result));
    assert.deepEqual(await barcodes(), first);
  });
});
