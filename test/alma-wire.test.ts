// The Alma wire format on its own: real Alma fixtures read, our output shaped like them and valid
// against Ex Libris's XSDs, round trips, and hostile input. No database, no server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { validateXML } from 'xmllint-wasm';
import { buildCodeTables, ROLE_TABLE, type CodeTables, type CodeValueSeed } from '../src/model/code-tables.js';
import { DEFAULT_CODE_TABLES } from '../src/domain/institutions/default-code-tables.js';
import { SCALAR_FIELDS, type User, type UserInput } from '../src/model/user.js';
import { AppError } from '../src/errors.js';
import { errorEnvelopeJson, errorEnvelopeXml } from '../src/alma/error-envelope.js';
import { almaJsonToUserInput, OUTPUT_ONLY_FIELDS, userToAlmaJson } from '../src/alma/user-json.js';
import { almaXmlToUserInput, USER_XML_SHAPE, userToAlmaXml } from '../src/alma/user-xml.js';
import { toBriefUser, usersListToJson, usersListToXml } from '../src/alma/users-list.js';

const dir = new URL('./fixtures/alma/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const fixtureJson = (name: string) => JSON.parse(fixture(name)) as Record<string, unknown>;
const xsd = (name: string) => ({ fileName: name, contents: fixture(`xsd/${name}`) });

function tablesFrom(seed: Record<string, CodeValueSeed[]>): CodeTables {
  const values = Object.entries(seed).flatMap(([table, list]) =>
    list.map((v) => ({ table, code: v.code, description: v.description, attributes: v.attributes ?? {}, enabled: true })),
  );
  return buildCodeTables({ code: '01TEST_INST', name: 'Test University' }, values);
}

const roles = [['200', 'Patron'], ['32', 'Circulation Desk Operator'], ['21', 'User Manager']];
const tables = tablesFrom({ ...DEFAULT_CODE_TABLES, [ROLE_TABLE]: roles.map(([code, description]) => ({ code: code!, description: description! })) });
const opts = { baseUrl: 'https://carrel.example.org/', institution: { code: '01TEST_INST', name: 'Test University' } };

function minimalUser(): User {
  const nulls = Object.fromEntries(SCALAR_FIELDS.map((f) => [f.key, f.kind === 'boolean' ? false : null]));
  return {
    ...(nulls as unknown as User),
    id: 'b1b7c2d4-0000-4000-8000-000000000001', institutionId: 'b1b7c2d4-0000-4000-8000-000000000002', manualEdits: [], version: 1, createdAt: new Date(0), updatedAt: new Date(0),
    primaryId: 'ada', recordType: 'PUBLIC', accountType: 'INTERNAL', status: 'ACTIVE',
    contactInfo: { addresses: [], emails: [], phones: [] },
    identifiers: [], roles: [], blocks: [], notes: [], statistics: [], rsLibraries: [], libraryNotices: [],
  };
}

function richUser(): User {
  return {
    ...minimalUser(),
    primaryId: "zoë.o'brien/1", recordType: 'STAFF', accountType: 'EXTERNAL', externalId: 'SIS', statusDate: '2024-05-01',
    firstName: 'Zoë <&>"\'', middleName: 'Łucja', lastName: "O'Brien & Søn <Ltd> 山田", prefFirstName: 'Zo',
    prefLastName: 'Ørsted', prefNameSuffix: 'Jr.', userTitle: 'Dr', jobCategory: 'Librarian', jobDescription: 'Systems & "metadata"',
    gender: 'FEMALE', userGroup: 'FACULTY', campusCode: 'MAIN', webSiteUrl: 'https://example.org/?a=1&b=2', catalogerLevel: '20',
    preferredLanguage: 'fr', birthDate: '1979-01-11', expiryDate: '2030-01-16', purgeDate: '2031-01-20', linkingId: '5131558001021',
    contactInfo: {
      addresses: [{
        line1: '3598 N. Buckingham Road', line2: 'c/o <Dept> & Co', line3: null, line4: null, line5: null, city: 'Zürich',
        stateProvince: 'ZH', postalCode: '8001', country: 'CHE', addressNote: 'ring twice', startDate: '2013-12-26', endDate: null,
        types: ['home', 'work'], preferred: true, segmentType: 'External',
      }],
      emails: [
        { address: 'zoe@example.org', description: 'main', types: ['work'], preferred: true, segmentType: 'External' },
        { address: 'z@home.example', description: null, types: ['personal'], preferred: false, segmentType: 'Internal' },
      ],
      phones: [{ number: '+41 44 000 00 00', types: ['mobile', 'home'], preferred: true, preferredSms: true, segmentType: 'Internal' }],
    },
    identifiers: [
      { idType: 'BARCODE', value: '0012345', note: null, status: 'ACTIVE', segmentType: 'Internal' },
      { idType: 'UNIV_ID', value: 'U-42', note: 'from SIS', status: 'INACTIVE', segmentType: 'External' },
    ],
    roles: [
      { roleType: '200', scope: '01TEST_INST', status: 'ACTIVE', expiryDate: null, parameters: [] },
      { roleType: '32', scope: 'MAIN', status: 'INACTIVE', expiryDate: '2029-01-26', parameters: [
        { type: 'CirculationDesk', scope: 'MAIN', value: 'DEFAULT_CIRC_DESK' },
        { type: 'CantEditRestrictedUsers', scope: null, value: 'true' },
      ] },
    ],
    blocks: [{ blockType: 'GENERAL', blockDescription: '02-GLOBAL', blockStatus: 'ACTIVE', blockNote: 'Slept & snored', createdBy: 'admin',
      createdDate: '2024-01-02T10:11:12Z', expiryDate: '2025-01-02T00:00:00Z', segmentType: 'Internal' }],
    notes: [{ noteType: 'OTHER', noteText: 'Line one\nline <two>', userViewable: true, popupNote: false, createdBy: 'admin',
      createdDate: '2024-01-02T10:11:12.345Z', segmentType: 'External' }],
    statistics: [{ statisticCategory: 'Graduate', statisticNote: 'With honours', segmentType: 'External' }],
    rsLibraries: ['MAIN'], libraryNotices: [{ code: 'email_marketing', value: true }],
  };
}

async function assertValid(xml: string, schema: string, preload: readonly string[] = []) {
  const result = await validateXML({ xml: [{ fileName: 'doc.xml', contents: xml }], schema: [xsd(schema)], preload: preload.map(xsd) });
  assert.deepEqual(result.errors.map((e) => e.message), [], xml);
  assert.equal(result.valid, true);
}
const USER_XSD = ['rest_user.xsd', ['rest_researcher.xsd']] as const;

/** What a client could send back: the domain values the wire carries both ways. */
function writable(u: User | UserInput) {
  const scalars = SCALAR_FIELDS.filter((f) => !OUTPUT_ONLY_FIELDS.includes(f.column)).map((f) => [f.key, u[f.key] ?? null]);
  const { contactInfo, identifiers, roles: r, blocks, notes, statistics, rsLibraries, libraryNotices } = u;
  return { ...Object.fromEntries(scalars), contactInfo, identifiers, roles: r, blocks, notes, statistics, rsLibraries, libraryNotices };
}

type Shape = 'null' | 'list' | 'code' | 'object' | 'string' | 'boolean' | 'number';
function shapeOf(v: unknown): Shape {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'value' in v && 'desc' in v ? 'code' : 'object';
  return typeof v as Shape;
}

/** Differences in value shape for the keys both sides have; null (Alma's "empty") matches anything. */
function shapeDiffs(ours: unknown, theirs: unknown, path = ''): string[] {
  const [a, b] = [shapeOf(ours), shapeOf(theirs)];
  if (a === 'null' || b === 'null') return [];
  if (a !== b) return [`${path || '(root)'}: ours ${a}, Alma ${b}`];
  if (a === 'list') {
    const [x, y] = [(ours as unknown[])[0], (theirs as unknown[])[0]];
    return x === undefined || y === undefined ? [] : shapeDiffs(x, y, `${path}[0]`);
  }
  if (a !== 'object') return [];
  const [o, t] = [ours as Record<string, unknown>, theirs as Record<string, unknown>];
  return Object.keys(t).filter((k) => k in o).flatMap((k) => shapeDiffs(o[k], t[k], path ? `${path}.${k}` : k));
}

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

describe('real Alma users are read', () => {
  test('php-alma-client user_response.json', () => {
    const u = almaJsonToUserInput(fixtureJson('php-alma-client-user_response.json'));
    assert.equal(u.primaryId, '12345');
    assert.equal(u.recordType, 'PUBLIC');
    assert.equal(u.preferredLanguage, 'no');
    assert.equal(u.birthDate, '1990-03-01');
    assert.deepEqual(u.identifiers?.map((i) => [i.idType, i.value, i.status, i.segmentType]), [
      ['BARCODE', 'ub12345', 'INACTIVE', 'Internal'], ['BARCODE', 'ub54321', 'ACTIVE', 'Internal'],
      ['BARCODE', 'ntb12897787', 'ACTIVE', 'External'], ['UNIV_ID', 'test@uio.no', 'ACTIVE', 'Internal'],
    ]);
    assert.deepEqual(u.contactInfo?.emails, [{ address: 'dan@banan.com', description: null, types: ['personal'], preferred: true, segmentType: 'Internal' }]);
    assert.equal(u.contactInfo?.addresses[0]?.country, null);
    assert.equal(u.contactInfo?.addresses[0]?.postalCode, '0316');
    assert.deepEqual(u.roles, [{ roleType: '200', scope: '47BIBSYS_UBO', status: 'ACTIVE', expiryDate: null, parameters: [] }]);
    assert.deepEqual(u.rsLibraries, ['1030310']);
    assert.deepEqual([u.blocks, u.notes, u.statistics], [[], [], []]);
    assert.equal(u.password, undefined);
  });

  test('alma_rb single_user.json', () => {
    const u = almaJsonToUserInput(fixtureJson('alma_rb-single_user.json'));
    assert.deepEqual(u.identifiers, [{ idType: '02', value: 'johns02', note: null, status: 'ACTIVE', segmentType: 'External' }]);
    assert.deepEqual(u.contactInfo?.emails.map((e) => [e.address, e.preferred]), [['johns@mylib.org', true], ['johns@myOTHERlib.org', false]]);
    assert.deepEqual(u.contactInfo?.phones[0]?.types, ['home', 'office']);
    assert.equal(u.contactInfo?.addresses[0]?.preferred, false); // "preferred": null
    assert.deepEqual(u.roles?.map((r) => [r.roleType, r.scope]), [['200', '110.121'], ['204', '110.121']]);
    assert.deepEqual(u.blocks?.map((b) => [b.blockDescription, b.blockStatus]), [['02-GLOBAL', 'ACTIVE']]);
    assert.deepEqual(u.notes?.map((n) => [n.noteType, n.userViewable, n.popupNote]), [['ADDRESS', true, false]]);
    assert.deepEqual(u.statistics?.map((s) => s.statisticCategory), ['Graduate']);
    assert.equal(u.userGroup, '08'); // leading zero kept
  });

  test('alma_rb single_user.xml reads like its JSON twin', () => {
    const x = almaXmlToUserInput(fixture('alma_rb-single_user.xml'));
    const j = almaJsonToUserInput(fixtureJson('alma_rb-single_user.json'));
    assert.deepEqual(x.identifiers, j.identifiers);
    assert.deepEqual(x.contactInfo?.emails, j.contactInfo?.emails.slice(0, 1));
    assert.deepEqual(x.contactInfo?.phones, j.contactInfo?.phones.map((p) => ({ ...p, preferredSms: false })));
    assert.deepEqual(x.roles?.map((r) => [r.roleType, r.scope, r.expiryDate]), [['200', '1010.1021', '2029-01-26'], ['204', '1010.1021', '2014-01-31']]);
    assert.equal(x.blocks?.[0]?.blockNote, 'Slept and snored in the library');
    assert.equal(x.statistics?.[0]?.statisticNote, 'With Honors');
    assert.equal(x.contactInfo?.addresses[0]?.country, null); // <country/>
    assert.equal(x.middleName, null);
    assert.equal(x.password, undefined); // <password/>
    assert.equal(x.forcePasswordChange, false);
  });

  test('camel-alma grodan.xml: a minimal external user, segments absent', () => {
    const u = almaXmlToUserInput(fixture('camel-alma-grodan.xml'));
    assert.deepEqual(u, { recordType: 'PUBLIC', primaryId: 'grodan.boll@domain.nu', firstName: 'Grodan', middleName: null, lastName: 'Boll', userGroup: '10', accountType: 'EXTERNAL', externalId: 'SIS' });
  });
});

describe('our JSON is shaped like Alma', () => {
  const ours = userToAlmaJson(richUser(), tables, opts);
  const real = [fixtureJson('php-alma-client-user_response.json'), fixtureJson('alma_rb-single_user.json')];

  test('every top-level key of the real users is ours too', () => {
    for (const r of real) assert.deepEqual(Object.keys(r).filter((k) => !(k in ours)), []);
  });

  test('and ours are all fields of rest_user.xsd', () => {
    const schema = new XMLParser({ ignoreAttributes: false }).parse(fixture('xsd/rest_user.xsd'));
    const user = schema['xs:schema']['xs:complexType'].find((t: { '@_name': string }) => t['@_name'] === 'user');
    const itemOf = Object.fromEntries(Object.entries(USER_XML_SHAPE.wrappers).map(([item, wrapper]) => [wrapper, item]));
    const known = new Set(['link', ...user['xs:all']['xs:element'].map((e: { '@_name': string }) => itemOf[e['@_name']] ?? e['@_name'])]);
    assert.deepEqual(Object.keys(ours).filter((k) => !known.has(k)), []);
  });

  test('the same value shapes, down into every segment', () => {
    for (const r of real) assert.deepEqual(shapeDiffs(ours, r), []);
  });

  test('values as Alma writes them', () => {
    assert.deepEqual(ours.user_group, { value: 'FACULTY', desc: 'Faculty' });
    assert.deepEqual(ours.user_title, { value: 'Dr', desc: 'Dr' });
    assert.deepEqual(userToAlmaJson(minimalUser(), tables, opts).gender, { value: '', desc: '' });
    assert.equal(ours.birth_date, '1979-01-11Z');
    assert.equal(ours.full_name, `Zoë <&>"' Łucja O'Brien & Søn <Ltd> 山田`);
    assert.equal(ours.link, 'https://carrel.example.org/almaws/v1/users/zo%C3%AB.o\'brien%2F1');
    assert.deepEqual([ours.password, ours.pin_number, ours.force_password_change, ours.external_id], ['', '', '', 'SIS']);
    assert.deepEqual([ours.requests, ours.loans, ours.fees, ours.proxy_for_user], [null, null, null, []]);
    const role = (ours.user_role as Record<string, unknown>[])[0]!;
    assert.deepEqual(role.scope, { value: '01TEST_INST', desc: 'Test University' });
    assert.deepEqual(role.role_type, { value: '200', desc: 'Patron' });
  });

  test('brief view: core fields, emails, identifiers and statistics only', () => {
    const brief = userToAlmaJson(richUser(), tables, { ...opts, view: 'brief' });
    for (const k of ['user_role', 'user_block', 'user_note', 'rs_library', 'library_notice', 'proxy_for_user']) assert.ok(!(k in brief), k);
    assert.deepEqual(Object.keys(brief.contact_info as object), ['email']);
    assert.equal((brief.user_identifier as unknown[]).length, 2);
    assert.equal((brief.user_statistic as unknown[]).length, 1);
    assert.equal(brief.primary_id, "zoë.o'brien/1");
  });

  test('users list: brief entries shaped like users_response.json', () => {
    const real = fixtureJson('php-alma-client-users_response.json');
    const list = usersListToJson({ total: 31, users: [toBriefUser(richUser())] }, tables, opts);
    assert.deepEqual(Object.keys(list), Object.keys(real));
    assert.equal(list.total_record_count, 31);
    const [entry] = list.user as Record<string, unknown>[];
    assert.deepEqual(Object.keys((real.user as object[])[0]!).filter((k) => !(k in entry!)), []);
    assert.deepEqual(shapeDiffs(list, real), []);
    const full = usersListToJson({ total: 1, users: [richUser()] }, tables, opts);
    assert.deepEqual((full.user as unknown[])[0], userToAlmaJson(richUser(), tables, opts));
  });

  test('error envelope is the real one', () => {
    const e = { code: '401664', message: 'Mandatory field is missing: library' };
    assert.deepEqual(errorEnvelopeJson([{ ...e, trackingId: 'E01-2807130310-LFIHK-AWAE210516550' }]), fixtureJson('php-alma-client-error_response.json'));
    const body = (x: string) => x.replace(/^<\?xml[^>]*\?>/, '');
    assert.equal(body(errorEnvelopeXml([{ ...e, trackingId: 'E02-2807130150-8OWYS-AWAE533535741' }])), body(fixture('php-alma-client-error_response.xml')));
  });
});

describe('our XML is valid against Ex Libris\'s XSDs', () => {
  test('a rich user, a minimal user and a brief view', async () => {
    await assertValid(userToAlmaXml(richUser(), tables, opts), ...USER_XSD);
    await assertValid(userToAlmaXml(minimalUser(), tables, opts), ...USER_XSD);
    await assertValid(userToAlmaXml(richUser(), tables, { ...opts, view: 'brief' }), ...USER_XSD);
  });

  test('the validator does catch a bad user (and the real camel-alma one passes)', async () => {
    const bad = await validateXML({ xml: '<user><birth_date/><user_notes><user_note/></user_notes></user>', schema: [xsd('rest_user.xsd')], preload: [xsd('rest_researcher.xsd')] });
    assert.equal(bad.valid, false);
    await assertValid(fixture('camel-alma-grodan.xml'), ...USER_XSD);
  });

  test('users lists, brief and full, against rest_users.xsd', async () => {
    const brief = usersListToXml({ total: 2, users: [toBriefUser(richUser()), toBriefUser(minimalUser())] }, tables, opts);
    assert.match(brief, /^<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?><users total_record_count="2"><user link="https:\/\/carrel\.example\.org\/almaws\/v1\/users\/zo%C3%AB/);
    await assertValid(brief, 'rest_users.xsd', ['rest_user.xsd', 'rest_researcher.xsd']);
    await assertValid(usersListToXml({ total: 1, users: [richUser()] }, tables, opts), 'rest_users.xsd', ['rest_user.xsd', 'rest_researcher.xsd']);
    await assertValid(usersListToXml({ total: 0, users: [] }, tables, opts), 'rest_users.xsd', ['rest_user.xsd', 'rest_researcher.xsd']);
  });

  test('error envelopes against web_service_result.xsd', async () => {
    await assertValid(errorEnvelopeXml([{ code: '401861', message: 'User <x> & "y" was not found.', trackingId: 'E01-1' }, { code: 'UNAUTHORIZED', message: 'no' }]), 'web_service_result.xsd');
  });

  test('the XML looks like Alma\'s', () => {
    const xml = userToAlmaXml(richUser(), tables, opts);
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><user link="https://carrel.example.org/almaws/v1/users/'));
    assert.match(xml, /<user_group desc="Faculty">FACULTY<\/user_group>/);
    assert.match(xml, /<first_name>Zoë &lt;&amp;&gt;"'<\/first_name>/);
    assert.match(xml, /<user_identifiers><user_identifier segment_type="Internal"><id_type desc="Barcode">BARCODE<\/id_type><value>0012345<\/value>/);
    assert.match(xml, /<contact_info><addresses><address preferred="true" segment_type="External">.*<address_types><address_type desc="Home">home<\/address_type>/);
    assert.match(xml, /<\/addresses><emails>.*<\/emails><phones>/);
    assert.match(xml, /<user_roles><user_role><status desc="Active">ACTIVE<\/status>.*<parameters><parameter><type desc="Circulation desk">CirculationDesk<\/type>/);
    assert.match(xml, /<proxy_for_users\/>/);
    assert.match(xml, /<password\/><force_password_change\/>/);
    assert.match(userToAlmaXml(minimalUser(), tables, opts), /<user_roles\/><user_blocks\/><user_notes\/><user_statistics\/><proxy_for_users\/><rs_libraries\/><library_notices\/>/);
  });
});

describe('round trips give back the domain values', () => {
  for (const [name, make] of [['rich', richUser], ['minimal', minimalUser]] as const) {
    test(`${name} user through JSON`, () => {
      const json = JSON.parse(JSON.stringify(userToAlmaJson(make(), tables, opts)));
      assert.deepEqual(writable(almaJsonToUserInput(json)), writable(make()));
    });
    test(`${name} user through XML`, () => {
      assert.deepEqual(writable(almaXmlToUserInput(userToAlmaXml(make(), tables, opts))), writable(make()));
    });
  }
});

describe('reading is tolerant the way Alma clients need', () => {
  const base = { primary_id: 'ada', record_type: 'PUBLIC', account_type: { value: 'INTERNAL' } };

  test('codes plain or as {value}, lists as one object, booleans as strings', () => {
    const u = almaJsonToUserInput({
      ...base, user_group: 'FACULTY', is_researcher: 'TRUE', force_password_change: 'TRUE', password: 'S3cret pw', pin_number: '0123',
      user_identifier: { id_type: 'BARCODE', value: '007' },
      contact_info: { email: { email_address: 'a@b.c', email_type: 'work', preferred: 'true' } },
      user_role: [{ role_type: '200', parameter: { type: 'CirculationDesk', value: 'DESK' } }],
      rs_library: 'MAIN', full_name: 'ignored', link: 'ignored', requests: { value: 3 }, linking_id: 'not yours',
    });
    assert.deepEqual([u.recordType, u.accountType, u.userGroup, u.isResearcher], ['PUBLIC', 'INTERNAL', 'FACULTY', true]);
    assert.deepEqual([u.password, u.pinNumber, u.forcePasswordChange], ['S3cret pw', '0123', true]);
    assert.deepEqual(u.identifiers, [{ idType: 'BARCODE', value: '007', note: null, status: 'ACTIVE', segmentType: 'External' }]);
    assert.deepEqual(u.contactInfo, { addresses: [], emails: [{ address: 'a@b.c', description: null, types: ['work'], preferred: true, segmentType: 'External' }], phones: [] });
    assert.deepEqual(u.roles?.[0]?.parameters, [{ type: 'CirculationDesk', scope: null, value: 'DESK' }]);
    assert.deepEqual(u.rsLibraries, ['MAIN']);
    assert.equal(u.linkingId, undefined);
    assert.ok(!('fullName' in u) && !('link' in u));
  });

  test('absent segments stay absent; empty ones are emptied', () => {
    const absent = almaJsonToUserInput(base);
    for (const k of ['roles', 'identifiers', 'contactInfo', 'blocks', 'notes', 'statistics', 'rsLibraries', 'libraryNotices', 'password'] as const) {
      assert.ok(!(k in absent), k);
    }
    const empty = almaJsonToUserInput({ ...base, user_role: [], user_identifier: null, user_note: '', contact_info: {} });
    assert.deepEqual([empty.roles, empty.identifiers, empty.notes], [[], [], []]);
    assert.deepEqual(empty.contactInfo, { addresses: [], emails: [], phones: [] });
    const xml = almaXmlToUserInput('<user><primary_id>ada</primary_id><user_roles/><user_identifiers></user_identifiers><contact_info><emails/></contact_info></user>');
    assert.deepEqual([xml.roles, xml.identifiers, xml.blocks], [[], [], undefined]);
    assert.deepEqual(xml.contactInfo, { addresses: [], emails: [], phones: [] });
  });
});

describe('hostile and wrong input is refused', () => {
  const xmlError = (xml: string) => thrown(() => almaXmlToUserInput(xml));

  test('DTDs: entity bombs and external entities', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><user><first_name>&lol2;</first_name></user>';
    const xxe = '<?xml version="1.0"?><!DOCTYPE user [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><user><first_name>&xxe;</first_name></user>';
    for (const doc of [bomb, xxe, '<!doctype user><user/>', '<user><!ENTITY x "y"></user>']) {
      const e = xmlError(doc);
      assert.equal(e.code, 'INVALID_BODY');
      assert.match(String(e.params.reason), /DOCTYPE|ENTITY/);
    }
    assert.match(String(xmlError('<user><first_name>&nbsp;</first_name></user>').params.reason), /undeclared entity &nbsp;/);
  });

  test('nesting 100 deep', () => {
    const e = xmlError(`<user><contact_info>${'<a>'.repeat(100)}${'</a>'.repeat(100)}</contact_info></user>`);
    assert.equal(e.code, 'INVALID_BODY');
    assert.match(String(e.params.reason), /nested deeper than 32/);
  });

  test('malformed documents, other roots, several roots', () => {
    const e = xmlError('<user>\n<first_name>Ada</last_name></user>');
    assert.deepEqual([e.code, e.alma, e.params.format], ['INVALID_BODY', '401676', 'XML']);
    assert.match(String(e.params.reason), /line 2/);
    for (const doc of ['', 'not xml', '<users/>', '<user/><user/>', '<user><a __proto__="x"/>', '<user>&#0;</user>']) {
      assert.equal(xmlError(doc).code, 'INVALID_BODY', doc);
    }
  });

  test('wrong types name the field', () => {
    const ok = { primary_id: 'ada' };
    const cases: [Record<string, unknown>, string][] = [
      [{ primary_id: ['ada'] }, 'primary_id'],
      [{ first_name: 42 }, 'first_name'],
      [{ user_group: { value: 7 } }, 'user_group'],
      [{ user_group: ['FACULTY'] }, 'user_group'],
      [{ birth_date: 19790111 }, 'birth_date'],
      [{ is_researcher: 'yes' }, 'is_researcher'],
      [{ contact_info: 'x' }, 'contact_info'],
      [{ contact_info: { email: [{ email_address: 'a@b.c' }, { email_address: { x: 1 } }] } }, 'contact_info.email[1].email_address'],
      [{ contact_info: { address: [{ address_type: [{ value: 'home' }, 5] }] } }, 'contact_info.address[0].address_type[1]'],
      [{ user_identifier: ['BARCODE'] }, 'user_identifier[0]'],
      [{ user_identifier: [{ id_type: 'BARCODE', value: 123 }] }, 'user_identifier[0].value'],
      [{ user_role: [{ role_type: '32', parameter: [{ value: 'x' }, { value: { value: true } }] }] }, 'user_role[0].parameter[1].value'],
      [{ user_note: [{ note_type: 'OTHER', user_viewable: 'maybe' }] }, 'user_note[0].user_viewable'],
    ];
    for (const [patch, field] of cases) {
      const e = thrown(() => almaJsonToUserInput({ ...ok, ...patch }));
      assert.deepEqual([e.code, e.params.field], ['INVALID_VALUE', field], JSON.stringify(patch));
    }
    for (const body of [null, [], 'user', 42]) assert.equal(thrown(() => almaJsonToUserInput(body)).params.field, 'user');
    assert.equal(thrown(() => almaXmlToUserInput('<user><primary_id>a</primary_id><primary_id>b</primary_id></user>')).params.field, 'primary_id');
    assert.equal(thrown(() => almaXmlToUserInput('<user><first_name><b>x</b></first_name></user>')).params.field, 'first_name');
  });

  test('a password is never echoed, not even in an error', () => {
    const e = thrown(() => almaJsonToUserInput({ primary_id: 'a', password: { secret: 'S3cret!pw' } }));
    assert.deepEqual([e.params.field, e.params.value], ['password', '(hidden)']);
    assert.ok(!e.message.includes('S3cret'));
    const withSecrets = { ...richUser(), password: 'S3cret!pw', pinNumber: '9876', forcePasswordChange: true } as User;
    const json = userToAlmaJson(withSecrets, tables, opts);
    assert.deepEqual([json.password, json.pin_number, json.force_password_change], ['', '', '']);
    for (const out of [JSON.stringify(json), userToAlmaXml(withSecrets, tables, opts), JSON.stringify(usersListToJson({ total: 1, users: [withSecrets] }, tables, opts))]) {
      assert.ok(!out.includes('S3cret') && !out.includes('9876'));
    }
  });
});
