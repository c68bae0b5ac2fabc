// User number i of the benchmark institution, as a client would send it to POST /users.
// Each user draws from its own PRNG, so user i is the same whatever the batch size or user count.
import type { UserInput } from '../src/model/user.js';
import { FIRST_NAMES, LAST_NAMES, MIDDLE_INITIALS, picker, prng, SYNTHETIC_SURNAME_SHARE, syntheticSurname, uuidFrom } from './names.js';

const SEED = 0x0ca77e1;
const lastName = picker(LAST_NAMES);
const firstName = picker(FIRST_NAMES);
const userGroup = picker([
  ['UNDERGRAD', 50], ['GRAD', 20], ['FACULTY', 10], ['STAFF', 8], ['COMMUNITY', 5], ['ALUMNI', 5], ['LIBSTAFF', 2],
]);
const JOB_BY_GROUP: Record<string, string | null> = {
  UNDERGRAD: 'Student', GRAD: 'Student', FACULTY: 'Faculty', LIBSTAFF: 'Librarian',
};

const pad7 = (i: number) => String(i).padStart(7, '0');

/** BARCODE of user i: every user has one, so any of them can be fetched by barcode. */
export const barcodeOf = (i: number) => `B${pad7(i)}`;
/** UNIV_ID of user i, when it has one (about 60% do). */
export const univIdOf = (i: number) => `9${String(i).padStart(8, '0')}`;

const asciiLower = (s: string) => s.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
const isoDate = (d: Date) => d.toISOString().slice(0, 10);
const dayOffset = (base: string, days: number) => isoDate(new Date(Date.parse(`${base}T00:00:00Z`) + days * 86_400_000));

export interface BenchPerson {
  /** app_user.id, drawn from the PRNG so reruns give the same ids. */
  id: string;
  input: UserInput;
}

export function personOf(i: number, institutionCode: string): BenchPerson {
  const rand = prng(SEED ^ Math.imul(i, 0x9e3779b1));
  const id = uuidFrom(rand);
  const first = firstName(rand);
  const last = rand() < SYNTHETIC_SURNAME_SHARE ? syntheticSurname(rand) : lastName(rand);
  const middle = rand() < 0.3 ? MIDDLE_INITIALS[Math.floor(rand() * MIDDLE_INITIALS.length)]! : null;
  const primaryId = `${asciiLower(first).slice(0, 1)}${asciiLower(last)}${i}`;
  const group = userGroup(rand);
  const student = group === 'UNDERGRAD' || group === 'GRAD';
  const birthDate = dayOffset(student ? '1998-01-01' : '1955-01-01', Math.floor(rand() * (student ? 3650 : 14600)));
  const expiryDate = dayOffset('2026-06-30', Math.floor(rand() * 4) * 365);
  const identifiers: NonNullable<UserInput['identifiers']> = [
    { idType: 'BARCODE', value: barcodeOf(i), note: null, status: 'ACTIVE', segmentType: 'Internal' },
  ];
  if (rand() < 0.6) identifiers.push({ idType: 'UNIV_ID', value: univIdOf(i), note: null, status: 'ACTIVE', segmentType: 'Internal' });
  const input: UserInput = {
    primaryId,
    recordType: 'PUBLIC',
    accountType: 'INTERNAL',
    status: rand() < 0.95 ? 'ACTIVE' : 'INACTIVE',
    firstName: first,
    middleName: middle,
    lastName: last,
    userTitle: rand() < 0.1 ? (group === 'FACULTY' ? 'Prof' : 'Dr') : null,
    gender: rand() < 0.5 ? (rand() < 0.5 ? 'FEMALE' : 'MALE') : null,
    userGroup: group,
    jobCategory: JOB_BY_GROUP[group] ?? null,
    campusCode: rand() < 0.85 ? 'MAIN' : 'HEALTH',
    preferredLanguage: 'en',
    birthDate,
    expiryDate,
    purgeDate: dayOffset(expiryDate, 365),
    contactInfo: {
      addresses: [],
      emails: [
        { address: `${primaryId}@univ.example.edu`, description: null, types: ['personal'], preferred: true, segmentType: 'Internal' },
      ],
      phones: [],
    },
    identifiers,
    roles: [{ roleType: '200', scope: institutionCode, status: 'ACTIVE', expiryDate: null, parameters: [] }],
  };
  return { id, input };
}
