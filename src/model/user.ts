// The user record in Carrel's own words, shared by db, domain and the Alma format: camelCase,
// codes only (descriptions are the wire format's business), no HTTP, no SQL. The Alma JSON/XML
// mapping lives in src/alma/; the rules that judge a user live in src/domain/users/.

export const RECORD_TYPES = ['PUBLIC', 'STAFF', 'CONTACT'] as const;
export const ACCOUNT_TYPES = ['INTERNAL', 'EXTERNAL'] as const;
export const STATUSES = ['ACTIVE', 'INACTIVE'] as const;
export const SEGMENT_TYPES = ['Internal', 'External'] as const;

export type RecordType = (typeof RECORD_TYPES)[number];
export type AccountType = (typeof ACCOUNT_TYPES)[number];
export type Status = (typeof STATUSES)[number];
export type SegmentType = (typeof SEGMENT_TYPES)[number];

export interface Address {
  line1: string;
  line2: string | null;
  line3: string | null;
  line4: string | null;
  line5: string | null;
  city: string;
  stateProvince: string | null;
  postalCode: string | null;
  country: string | null;
  addressNote: string | null;
  startDate: string | null;
  endDate: string | null;
  types: string[];
  preferred: boolean;
  segmentType: SegmentType;
}

export interface Email {
  address: string;
  description: string | null;
  types: string[];
  preferred: boolean;
  segmentType: SegmentType;
}

export interface Phone {
  number: string;
  types: string[];
  preferred: boolean;
  preferredSms: boolean;
  segmentType: SegmentType;
}

export interface ContactInfo {
  addresses: Address[];
  emails: Email[];
  phones: Phone[];
}

export interface UserIdentifier {
  idType: string;
  value: string;
  note: string | null;
  status: Status;
  segmentType: SegmentType;
}

export interface RoleParameter {
  type: string;
  scope: string | null;
  value: string;
}

export interface UserRole {
  roleType: string;
  scope: string;
  status: Status;
  expiryDate: string | null;
  parameters: RoleParameter[];
}

export interface UserBlock {
  blockType: string;
  blockDescription: string;
  blockStatus: Status;
  blockNote: string | null;
  createdBy: string | null;
  createdDate: string | null;
  expiryDate: string | null;
  segmentType: SegmentType;
}

export interface UserNote {
  noteType: string;
  noteText: string;
  userViewable: boolean;
  popupNote: boolean;
  createdBy: string | null;
  createdDate: string | null;
  segmentType: SegmentType;
}

export interface UserStatistic {
  statisticCategory: string;
  statisticNote: string | null;
  segmentType: SegmentType;
}

export interface LibraryNotice {
  code: string;
  value: boolean;
}

/** The scalar fields: one list drives storage, the wire mapping, validation and audit diffs. */
export interface UserScalars {
  primaryId: string;
  recordType: RecordType;
  accountType: AccountType;
  externalId: string | null;
  status: Status;
  statusDate: string | null;
  firstName: string | null;
  middleName: string | null;
  lastName: string | null;
  prefFirstName: string | null;
  prefMiddleName: string | null;
  prefLastName: string | null;
  prefNameSuffix: string | null;
  userTitle: string | null;
  jobCategory: string | null;
  jobDescription: string | null;
  gender: string | null;
  userGroup: string | null;
  campusCode: string | null;
  webSiteUrl: string | null;
  catalogerLevel: string | null;
  preferredLanguage: string | null;
  birthDate: string | null;
  expiryDate: string | null;
  purgeDate: string | null;
  linkingId: string | null;
  sourceInstitutionCode: string | null;
  sourceLinkId: string | null;
  isResearcher: boolean;
}

export interface UserSegments {
  contactInfo: ContactInfo;
  identifiers: UserIdentifier[];
  roles: UserRole[];
  blocks: UserBlock[];
  notes: UserNote[];
  statistics: UserStatistic[];
  rsLibraries: string[];
  libraryNotices: LibraryNotice[];
}

/** What a brief search hit carries (Alma's brief user): codes only, descriptions come from the code tables. */
export type BriefUser = Pick<
  UserScalars,
  'primaryId' | 'firstName' | 'middleName' | 'lastName' | 'recordType' | 'accountType' | 'status' | 'userGroup' | 'gender' | 'expiryDate' | 'purgeDate'
>;

/** A whole record as stored, without its keys and bookkeeping. */
export type UserRecordFields = UserScalars & UserSegments;

/** Who made a manual edit of a protected field, and when (the console shows it; SIS loads decide on actorType). */
export interface ManualEditOrigin {
  actorType: 'staff' | 'api_key';
  /** The staff user's or the API key's id. */
  actorId: string | null;
  /** The staff user's primary id or the key's label. */
  label: string;
  /** ISO timestamp of the edit. */
  at: string;
}

export interface User extends UserScalars, UserSegments {
  id: string;
  institutionId: string;
  /** Protected fields edited by hand (PROTECTED_FIELDS keys): SIS loads keep their values. */
  manualEdits: string[];
  /**
   * The origin of each of manualEdits (migration 0016); a field without one was marked before
   * origins were kept, when only staff marked. Absent: none known.
   */
  manualEditOrigins?: Record<string, ManualEditOrigin>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What a client sends to create or replace a user. Absent (undefined) differs from empty:
 * roles absent on PUT keep the existing roles, as Alma does.
 */
export type UserInput = Partial<UserScalars> & {
  [K in keyof UserSegments]?: UserSegments[K];
} & {
  /** Credentials travel beside the record and go only to the identity module. */
  password?: string;
  forcePasswordChange?: boolean;
  pinNumber?: string;
};

export interface ScalarField {
  key: keyof UserScalars;
  column: string;
  /** Code table whose values the field takes, checked on write. */
  codeTable?: string;
  kind: 'text' | 'code' | 'date' | 'boolean';
  maxLength?: number;
  /** Alma keeps a manual edit of these on EXTERNAL users across SIS loads and API updates. */
  protected?: boolean;
}

export const SCALAR_FIELDS: readonly ScalarField[] = [
  { key: 'primaryId', column: 'primary_id', kind: 'text', maxLength: 255 },
  { key: 'recordType', column: 'record_type', kind: 'code', codeTable: 'AddNewUserOptions' },
  { key: 'accountType', column: 'account_type', kind: 'code', codeTable: 'UserUserType' },
  { key: 'externalId', column: 'external_id', kind: 'text', maxLength: 255 },
  { key: 'status', column: 'status', kind: 'code', codeTable: 'ContentStructureStatus' },
  { key: 'statusDate', column: 'status_date', kind: 'date' },
  { key: 'firstName', column: 'first_name', kind: 'text', maxLength: 255 },
  { key: 'middleName', column: 'middle_name', kind: 'text', maxLength: 255 },
  { key: 'lastName', column: 'last_name', kind: 'text', maxLength: 255 },
  { key: 'prefFirstName', column: 'pref_first_name', kind: 'text', maxLength: 255, protected: true },
  { key: 'prefMiddleName', column: 'pref_middle_name', kind: 'text', maxLength: 255, protected: true },
  { key: 'prefLastName', column: 'pref_last_name', kind: 'text', maxLength: 255, protected: true },
  { key: 'prefNameSuffix', column: 'pref_name_suffix', kind: 'text', maxLength: 255 },
  { key: 'userTitle', column: 'user_title', kind: 'code', codeTable: 'UserTitles', protected: true },
  { key: 'jobCategory', column: 'job_category', kind: 'code', codeTable: 'JobTitles', protected: true },
  { key: 'jobDescription', column: 'job_description', kind: 'text', maxLength: 255 },
  { key: 'gender', column: 'gender', kind: 'code', codeTable: 'Genders' },
  { key: 'userGroup', column: 'user_group', kind: 'code', codeTable: 'UserGroups', protected: true },
  { key: 'campusCode', column: 'campus_code', kind: 'code', codeTable: 'CampusList', protected: true },
  { key: 'webSiteUrl', column: 'web_site_url', kind: 'text', maxLength: 255 },
  { key: 'catalogerLevel', column: 'cataloger_level', kind: 'code', codeTable: 'CatalogerLevel' },
  { key: 'preferredLanguage', column: 'preferred_language', kind: 'code', codeTable: 'UserPreferredLanguage', protected: true },
  { key: 'birthDate', column: 'birth_date', kind: 'date' },
  { key: 'expiryDate', column: 'expiry_date', kind: 'date' },
  { key: 'purgeDate', column: 'purge_date', kind: 'date' },
  { key: 'linkingId', column: 'linking_id', kind: 'text', maxLength: 255 },
  { key: 'sourceInstitutionCode', column: 'source_institution_code', kind: 'text', maxLength: 255 },
  { key: 'sourceLinkId', column: 'source_link_id', kind: 'text', maxLength: 255 },
  { key: 'isResearcher', column: 'is_researcher', kind: 'boolean' },
];

/** Alma's protected list also names segment fields that are not scalars. */
export const PROTECTED_FIELDS: readonly string[] = [
  ...SCALAR_FIELDS.filter((f) => f.protected).map((f) => f.key),
  'rsLibraries',
  'libraryNotices',
  'pinNumber',
];

export const SEGMENT_KEYS: readonly (keyof UserSegments)[] = [
  'contactInfo',
  'identifiers',
  'roles',
  'blocks',
  'notes',
  'statistics',
  'rsLibraries',
  'libraryNotices',
];

export function emptyContactInfo(): ContactInfo {
  return { addresses: [], emails: [], phones: [] };
}

/** Who a browser session is of: what a sign-in reads of the user, the audit event and mails name. */
export type SessionUser = Pick<User, 'id' | 'institutionId' | 'primaryId' | 'firstName' | 'lastName'>;

export function fullName(u: Pick<UserScalars, 'firstName' | 'middleName' | 'lastName'>): string {
  return [u.firstName, u.middleName, u.lastName].filter((s) => s && s.trim()).join(' ');
}
