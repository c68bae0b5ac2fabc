// Alma's SIS overwrite rules (reference §5) as a table: each row a stored user, a file record and
// what the load must do. Pure: no database, the real code tables and validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCodeTables } from '../../model/code-tables.js';
import { DEFAULT_CODE_TABLES } from '../institutions/default-code-tables.js';
import { DEFAULT_INSTITUTION_SETTINGS, type Institution } from '../../model/institution.js';
import type { User, UserInput, UserRecordFields } from '../../model/user.js';
import { decide, type Decision, type SisRules } from './merge.js';
import { OWNS_ALL } from './owned-fields.js';
import { ownedByMapping } from './csv-mapping.js';
import { rulesFingerprint } from './record-hash.js';
import type { ProfileSettings } from '../../model/profile.js';

const tables = buildCodeTables(
  { code: '01UNI', name: 'University' },
  Object.entries(DEFAULT_CODE_TABLES).flatMap(([table, values]) =>
    values.map((v) => ({ table, code: v.code, description: v.description, attributes: v.attributes ?? {}, enabled: true })),
  ).concat([{ table: 'HFrUserRoles.roleType', code: '200', description: 'Patron', attributes: {}, enabled: true }]),
);
const institution: Institution = { id: 'i1', code: '01UNI', name: 'University', networkId: null, isNetworkZone: false, settings: { ...DEFAULT_INSTITUTION_SETTINGS } };
const TODAY = '2026-11-23';
const rules = (over: Partial<SisRules> & { mode?: 'import' | 'synchronize' } = {}): SisRules => ({
  profile: { code: 'CAMPUS', recordType: 'PUBLIC', matchBy: 'UNIV_ID', mode: over.mode ?? 'synchronize' },
  institution,
  tables,
  owned: OWNS_ALL,
  today: TODAY,
  ...over,
});

const ext = 'External' as const;
const int = 'Internal' as const;
const email = (address: string, segmentType: 'Internal' | 'External', preferred = false) => ({ address, description: null, types: ['school'], preferred, segmentType });
const ident = (idType: string, value: string, segmentType: 'Internal' | 'External' = ext) => ({ idType, value, note: null, status: 'ACTIVE' as const, segmentType });

/** A stored EXTERNAL user of profile CAMPUS, as the database returns it. */
function stored(over: Partial<User> = {}): User {
  return {
    id: 'u1', institutionId: 'i1', primaryId: 'jdoe', recordType: 'PUBLIC', accountType: 'EXTERNAL', externalId: 'CAMPUS',
    status: 'ACTIVE', statusDate: '2026-01-01', firstName: 'Jane', middleName: null, lastName: 'Doe', prefFirstName: null,
    prefMiddleName: null, prefLastName: null, prefNameSuffix: null, userTitle: null, jobCategory: 'Student', jobDescription: null,
    gender: null, userGroup: 'UNDERGRAD', campusCode: 'MAIN', webSiteUrl: null, catalogerLevel: null, preferredLanguage: 'en',
    birthDate: null, expiryDate: '2027-08-31', purgeDate: null, linkingId: null, sourceInstitutionCode: null, sourceLinkId: null,
    isResearcher: false,
    contactInfo: { addresses: [], emails: [email('jdoe@campus.edu', ext, true)], phones: [] },
    identifiers: [ident('UNIV_ID', '900123'), ident('BARCODE', 'LIB-1', int)],
    roles: [{ roleType: '200', scope: '01UNI', status: 'ACTIVE', expiryDate: null, parameters: [] }],
    blocks: [], notes: [{ noteType: 'CIRCULATION', noteText: 'desk note', userViewable: false, popupNote: false, createdBy: null, createdDate: null, segmentType: int }],
    statistics: [], rsLibraries: [], libraryNotices: [], manualEdits: [], version: 3,
    createdAt: new Date(0), updatedAt: new Date(0),
    ...over,
  };
}

/** The same user as the campus file sends it (what the parser makes of a <user>). */
function file(over: Partial<UserInput> = {}): UserInput {
  return {
    primaryId: 'jdoe', recordType: 'PUBLIC', accountType: 'EXTERNAL', externalId: 'CAMPUS', status: 'ACTIVE',
    firstName: 'Jane', lastName: 'Doe', jobCategory: 'Student', userGroup: 'UNDERGRAD', campusCode: 'MAIN', preferredLanguage: 'en',
    expiryDate: '2027-08-31', statusDate: undefined,
    contactInfo: { addresses: [], emails: [email('jdoe@campus.edu', ext, true)], phones: [] },
    identifiers: [ident('UNIV_ID', '900123')],
    ...over,
  };
}

const record = (d: Decision): UserRecordFields => {
  assert.ok(d.action === 'create' || d.action === 'update', `expected a write, got ${JSON.stringify(d)}`);
  return d.record;
};

interface Row {
  rule: string;
  existing?: User;
  input: UserInput;
  rules?: SisRules;
  check: (d: Decision) => void;
}

const table: Row[] = [
  {
    rule: 'a new user is EXTERNAL with external_id = profile code and the profile record type; roles and passwords never come from the file',
    input: file({ recordType: 'STAFF', accountType: 'INTERNAL', externalId: null, password: 'secret-pass-1', roles: [{ roleType: '50', scope: '01UNI', status: 'ACTIVE', expiryDate: null, parameters: [] }] }),
    check: (d) => {
      assert.equal(d.action, 'create');
      const r = record(d);
      assert.equal(r.accountType, 'EXTERNAL');
      assert.equal(r.externalId, 'CAMPUS');
      assert.equal(r.recordType, 'PUBLIC');
      assert.deepEqual(r.roles, []);
      assert.equal((r as unknown as Record<string, unknown>).password, undefined);
      assert.equal(r.statusDate, TODAY);
    },
  },
  {
    rule: 'every segment a new user gets from the file is External',
    input: file({ identifiers: [ident('UNIV_ID', '900123', int)], contactInfo: { addresses: [], emails: [email('a@b.c', int, true)], phones: [] } }),
    check: (d) => {
      const r = record(d);
      assert.deepEqual(r.identifiers.map((i) => i.segmentType), ['External']);
      assert.deepEqual(r.contactInfo.emails.map((e) => e.segmentType), ['External']);
    },
  },
  {
    rule: 'an INTERNAL user is never touched: skipped with the reason',
    existing: stored({ accountType: 'INTERNAL', externalId: null }),
    input: file({ lastName: 'Changed' }),
    check: (d) => {
      assert.equal(d.action, 'skip');
      assert.ok(d.action === 'skip' && d.report && /INTERNAL/.test(d.reason));
    },
  },
  {
    rule: "another profile's user is skipped with the reason",
    existing: stored({ externalId: 'OTHER_SIS' }),
    input: file({ lastName: 'Changed' }),
    check: (d) => assert.ok(d.action === 'skip' && /OTHER_SIS/.test(d.reason)),
  },
  {
    rule: 'import mode creates only: a match is skipped (quietly: every known user, every night)',
    existing: stored(),
    input: file({ lastName: 'Changed' }),
    rules: rules({ mode: 'import' }),
    check: (d) => assert.ok(d.action === 'skip' && !d.report),
  },
  {
    rule: 'the same record is unchanged (nothing to write)',
    existing: stored(),
    input: file(),
    check: (d) => assert.equal(d.action, 'unchanged'),
  },
  {
    rule: 'core fields are replaced; a core field absent from the file is cleared',
    existing: stored({ middleName: 'Q', lastName: 'Doe' }),
    input: file({ lastName: 'Smith' }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.lastName, 'Smith');
      assert.equal(r.middleName, null);
    },
  },
  {
    rule: 'a protected field edited by hand keeps its value until restored',
    existing: stored({ userGroup: 'GRAD', jobCategory: 'Librarian', manualEdits: ['userGroup', 'jobCategory'] }),
    input: file({ userGroup: 'FACULTY', jobCategory: 'Faculty', lastName: 'Smith' }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.userGroup, 'GRAD');
      assert.equal(r.jobCategory, 'Librarian');
      assert.ok(d.action === 'update' && d.manualEdits.includes('userGroup'));
    },
  },
  {
    rule: "an API key's edit is kept like a staff edit unless the profile says apiKeyEditsAreManual: false; then the file wins and the mark goes",
    existing: stored({
      userGroup: 'GRAD', jobCategory: 'Librarian', manualEdits: ['userGroup', 'jobCategory'],
      manualEditOrigins: { userGroup: { actorType: 'api_key', actorId: 'k1', label: 'script', at: '2026-11-01T00:00:00.000Z' } },
    }),
    input: file({ userGroup: 'FACULTY', jobCategory: 'Faculty' }),
    rules: rules({ profile: { code: 'CAMPUS', recordType: 'PUBLIC', matchBy: 'UNIV_ID', mode: 'synchronize', settings: { apiKeyEditsAreManual: false } } }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.userGroup, 'FACULTY', "the API key's edit is overwritten");
      assert.equal(r.jobCategory, 'Librarian', 'a mark without an origin (before 0016) was a staff edit: kept');
      assert.ok(d.action === 'update');
      assert.deepEqual(d.manualEdits, ['jobCategory']);
    },
  },
  {
    rule: "an API key's edit is kept by a profile with the default setting",
    existing: stored({
      userGroup: 'GRAD', manualEdits: ['userGroup'],
      manualEditOrigins: { userGroup: { actorType: 'api_key', actorId: 'k1', label: 'script', at: '2026-11-01T00:00:00.000Z' } },
    }),
    input: file({ userGroup: 'FACULTY', lastName: 'Smith' }),
    check: (d) => {
      assert.equal(record(d).userGroup, 'GRAD');
      assert.ok(d.action === 'update' && d.manualEdits.includes('userGroup'));
    },
  },
  {
    rule: 'a protected field not edited by hand follows the file',
    existing: stored({ userGroup: 'GRAD' }),
    input: file({ userGroup: 'FACULTY' }),
    check: (d) => assert.equal(record(d).userGroup, 'FACULTY'),
  },
  {
    rule: 'a protected field empty in the file is cleared, or reset to its default (unlike the API, which keeps it)',
    existing: stored({ jobCategory: 'Student', preferredLanguage: 'fr', campusCode: 'MAIN' }),
    input: file({ jobCategory: null, preferredLanguage: null, campusCode: undefined }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.jobCategory, null);
      assert.equal(r.preferredLanguage, 'en');
      assert.equal(r.campusCode, null);
    },
  },
  {
    rule: 'a protected field empty in the file but edited by hand is kept',
    existing: stored({ preferredLanguage: 'fr', manualEdits: ['preferredLanguage'] }),
    input: file({ preferredLanguage: null }),
    check: (d) => assert.equal(d.action, 'unchanged'),
  },
  {
    rule: 'a user group not managed by SIS is never changed',
    existing: stored({ userGroup: 'LIBSTAFF' }),
    input: file({ userGroup: 'UNDERGRAD', lastName: 'Smith' }),
    check: (d) => assert.equal(record(d).userGroup, 'LIBSTAFF'),
  },
  {
    rule: 'external segments are replaced by the file; internal segments are kept',
    existing: stored(),
    input: file({
      identifiers: [ident('UNIV_ID', '900123'), ident('BARCODE', 'NEW-1')],
      contactInfo: { addresses: [], emails: [email('new@campus.edu', ext, true)], phones: [] },
      notes: [],
    }),
    check: (d) => {
      const r = record(d);
      assert.deepEqual(r.identifiers.map((i) => `${i.idType}:${i.value}:${i.segmentType}`), ['BARCODE:LIB-1:Internal', 'UNIV_ID:900123:External', 'BARCODE:NEW-1:External']);
      assert.deepEqual(r.contactInfo.emails.map((e) => e.address), ['new@campus.edu']);
      assert.deepEqual(r.notes.map((n) => n.noteText), ['desk note']);
    },
  },
  {
    rule: "an internal preferred e-mail stays preferred; the file's e-mail comes in not preferred",
    existing: stored({ contactInfo: { addresses: [], emails: [email('mine@home.org', int, true)], phones: [] } }),
    input: file({ contactInfo: { addresses: [], emails: [email('jdoe@campus.edu', ext, true)], phones: [] } }),
    check: (d) => {
      const r = record(d);
      assert.deepEqual(r.contactInfo.emails.map((e) => [e.address, e.preferred]), [['mine@home.org', true], ['jdoe@campus.edu', false]]);
    },
  },
  {
    rule: 'roles, record type, account type and external id of a matched user are not the file\'s to change',
    existing: stored({ recordType: 'STAFF' }),
    input: file({ recordType: 'CONTACT', accountType: 'INTERNAL', externalId: 'X', roles: [], lastName: 'Smith' }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.recordType, 'STAFF');
      assert.equal(r.accountType, 'EXTERNAL');
      assert.equal(r.externalId, 'CAMPUS');
      assert.deepEqual(r.roles.map((x) => x.roleType), ['200']);
    },
  },
  {
    rule: 'matched by another identifier, a file without a primary id keeps the user\'s',
    existing: stored(),
    input: file({ primaryId: undefined, lastName: 'Smith' }),
    check: (d) => assert.equal(record(d).primaryId, 'jdoe'),
  },
  {
    rule: 'a status change dates the status',
    existing: stored(),
    input: file({ status: 'INACTIVE' }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.status, 'INACTIVE');
      assert.equal(r.statusDate, TODAY);
    },
  },
  {
    rule: 'protected lists (library notices, rs libraries) keep a manual edit too',
    existing: stored({ libraryNotices: [{ code: 'sms_notices', value: true }], manualEdits: ['libraryNotices'] }),
    input: file({ libraryNotices: [], lastName: 'Smith' }),
    check: (d) => assert.deepEqual(record(d).libraryNotices, [{ code: 'sms_notices', value: true }]),
  },
  {
    rule: 'an unknown user group fails the record with 401852',
    input: file({ userGroup: 'ASTRONAUT' }),
    check: (d) => assert.ok(d.action === 'fail' && /user group \(ASTRONAUT\)/.test(d.reason)),
  },
  {
    rule: 'an unknown identifier type fails the record',
    input: file({ identifiers: [ident('UNIV_ID', '1'), ident('SHOE_SIZE', '42')] }),
    check: (d) => assert.ok(d.action === 'fail' && /SHOE_SIZE/.test(d.reason)),
  },
  {
    rule: "the institution's mandatory identifier applies to new users",
    input: file({ identifiers: [ident('UNIV_ID', '1')] }),
    rules: rules({ institution: { ...institution, settings: { ...institution.settings, mandatoryIdentifier: { PUBLIC: 'BARCODE' } } } }),
    check: (d) => assert.ok(d.action === 'fail' && /BARCODE/.test(d.reason)),
  },
  {
    rule: 'a CSV owns only its mapped columns: an unmapped field and unmapped segments stay',
    existing: stored({ birthDate: '2000-01-01' }),
    input: { primaryId: 'jdoe', firstName: 'Jane', lastName: 'Smith', identifiers: [ident('UNIV_ID', '900123')] },
    rules: rules({ owned: ownedByMapping({ ID: 'identifier:UNIV_ID', Login: 'primary_id', First: 'first_name', Last: 'last_name' }) }),
    check: (d) => {
      const r = record(d);
      assert.equal(r.lastName, 'Smith');
      assert.equal(r.birthDate, '2000-01-01');
      assert.equal(r.userGroup, 'UNDERGRAD');
      assert.deepEqual(r.contactInfo.emails.map((e) => e.address), ['jdoe@campus.edu']);
    },
  },
];

describe("SIS merge rules (Alma's overwrite rules)", () => {
  for (const row of table) {
    test(row.rule, () => row.check(decide(row.existing, row.input, row.rules ?? rules())));
  }
});

test('the rules fingerprint changes with apiKeyEditsAreManual off, and only then (stored hashes of other profiles stay valid)', () => {
  const base = rulesFingerprint(rules());
  const withProfile = (settings: ProfileSettings) => rulesFingerprint(rules({ profile: { ...rules().profile, settings } }));
  assert.equal(withProfile({}), base);
  assert.equal(withProfile({ apiKeyEditsAreManual: true }), base);
  assert.notEqual(withProfile({ apiKeyEditsAreManual: false }), base);
});
