// The demo network `npm start` brings up on an empty database: a network zone, two members,
// their default code tables and a few users, so an Alma script has something to talk to.
import { randomBytes } from 'node:crypto';
import type { App } from '../app.js';
import type { Actor } from '../domain/access/actor.js';
import type { UserInput } from '../model/user.js';

export const DEMO_NETWORK = { code: '01DEMO_NETWORK', name: 'Demo Library Network (network zone)' };
export const DEMO_MEMBERS = [
  { code: '01DEMO_NORTH', name: 'North University Library' },
  { code: '01DEMO_SOUTH', name: 'South College Library' },
];

const system: Actor = { kind: 'system', label: 'demo seed' };

function demoUsers(institutionCode: string, campus: string): UserInput[] {
  const p = institutionCode.endsWith('NORTH') ? 'n' : 's';
  return [
    {
      primaryId: `${p}jsmith`, recordType: 'PUBLIC', accountType: 'EXTERNAL', externalId: 'SIS', firstName: 'Jane',
      lastName: 'Smith', userGroup: 'UNDERGRAD', campusCode: campus, expiryDate: '2027-08-31', status: 'ACTIVE',
      identifiers: [
        { idType: 'BARCODE', value: `${p.toUpperCase()}1000001`, note: null, status: 'ACTIVE', segmentType: 'External' },
        { idType: 'UNIV_ID', value: `${p}900123`, note: null, status: 'ACTIVE', segmentType: 'External' },
      ],
      contactInfo: {
        addresses: [],
        emails: [{ address: `jane.smith@${p}.example.edu`, description: null, types: ['school'], preferred: true, segmentType: 'External' }],
        phones: [],
      },
      roles: [{ roleType: '200', scope: institutionCode, status: 'ACTIVE', expiryDate: null, parameters: [] }],
    },
    {
      primaryId: `${p}rsmithers`, recordType: 'PUBLIC', accountType: 'INTERNAL', firstName: 'Robert', lastName: 'Smithers',
      userGroup: 'COMMUNITY', status: 'ACTIVE',
      identifiers: [{ idType: 'BARCODE', value: `${p.toUpperCase()}1000002`, note: null, status: 'ACTIVE', segmentType: 'Internal' }],
      roles: [{ roleType: '200', scope: institutionCode, status: 'ACTIVE', expiryDate: null, parameters: [] }],
    },
    {
      primaryId: `${p}backup_admin`, recordType: 'STAFF', accountType: 'INTERNAL', firstName: 'Backup', lastName: 'ADMIN',
      userGroup: 'LIBSTAFF', status: 'ACTIVE',
      roles: [
        { roleType: '50', scope: institutionCode, status: 'ACTIVE', expiryDate: null, parameters: [] },
        { roleType: '21', scope: institutionCode, status: 'ACTIVE', expiryDate: null, parameters: [] },
        // General System Administrator too: the demo's one staff user reaches every console page
        // (settings, code tables, login methods and API keys need config:manage).
        { roleType: '26', scope: institutionCode, status: 'ACTIVE', expiryDate: null, parameters: [] },
      ],
    },
  ];
}

/** Creates the demo network when the database has no institution; returns whether it did. */
export async function seedDemo(app: App): Promise<boolean> {
  const { institutions, users } = app.services;
  if ((await institutions.list()).length > 0) return false;
  await institutions.create({ ...DEMO_NETWORK, networkZone: true });
  for (const m of DEMO_MEMBERS) {
    const institution = await institutions.create({ ...m, network: DEMO_NETWORK.code });
    for (const u of demoUsers(m.code, 'MAIN')) await users.create(system, institution.id, u);
  }
  return true;
}

/**
 * A fresh read-write key per demo institution at every start: keys are stored hashed, so the
 * ones printed last time cannot be shown again, and the old demo keys are revoked.
 */
export async function issueDemoKeys(app: App): Promise<{ code: string; key: string }[]> {
  const out = [];
  for (const code of [DEMO_NETWORK.code, ...DEMO_MEMBERS.map((m) => m.code)]) {
    const institution = await app.services.institutions.byCode(code).catch(() => undefined);
    if (!institution) continue;
    await app.services.apiKeys.revokeLabelled(institution.id, 'demo');
    const { key } = await app.services.apiKeys.create(institution.id, { readOnly: false, label: 'demo' });
    out.push({ code, key });
  }
  return out;
}

/** The demo's staff user for the console (User Administrator and User Manager at North). */
export const DEMO_STAFF = { institution: '01DEMO_NORTH', primaryId: 'nbackup_admin' };

/**
 * A fresh password for the demo staff user at every start, printed with the keys: passwords are
 * stored hashed, so last start's cannot be shown again (and a shared demo should not keep one).
 */
export async function issueDemoStaffPassword(app: App): Promise<{ institution: string; primaryId: string; password: string } | undefined> {
  const institution = await app.services.institutions.byCode(DEMO_STAFF.institution).catch(() => undefined);
  if (!institution) return undefined;
  // Upper, lower, digits and a symbol: passes any policy the demo might be given.
  const password = `Demo-${randomBytes(9).toString('base64url')}-7a`;
  try {
    await app.services.identity.setPassword(system, institution.id, DEMO_STAFF.primaryId, { password, forceChange: false });
  } catch {
    return undefined; // the demo user was deleted or renamed: nothing to print
  }
  return { ...DEMO_STAFF, password };
}
