// The code tables a new institution starts with: the values Alma ships or that its public
// fixtures show. Staff extend them per institution; the fixed ones (record and account types,
// statuses) are the same everywhere because the rules depend on their values.
import type { CodeValueSeed } from '../../model/code-tables.js';


const PERSON_RECORD_TYPES = ['PUBLIC', 'STAFF'];

export const DEFAULT_CODE_TABLES: Record<string, CodeValueSeed[]> = {
  AddNewUserOptions: [
    { code: 'PUBLIC', description: 'Public' },
    { code: 'STAFF', description: 'Staff' },
    { code: 'CONTACT', description: 'Contact' },
  ],
  UserUserType: [
    { code: 'INTERNAL', description: 'Internal' },
    { code: 'EXTERNAL', description: 'External' },
  ],
  ContentStructureStatus: [
    { code: 'ACTIVE', description: 'Active' },
    { code: 'INACTIVE', description: 'Inactive' },
  ],
  UserRoleStatus: [
    { code: 'ACTIVE', description: 'Active' },
    { code: 'INACTIVE', description: 'Inactive' },
  ],
  UserGroups: [
    { code: 'UNDERGRAD', description: 'Undergraduate', attributes: { managedBySis: true } },
    { code: 'GRAD', description: 'Graduate', attributes: { managedBySis: true } },
    { code: 'FACULTY', description: 'Faculty', attributes: { managedBySis: true } },
    { code: 'STAFF', description: 'Staff', attributes: { managedBySis: true } },
    { code: 'LIBSTAFF', description: 'Library staff', attributes: { managedBySis: false } },
    { code: 'COMMUNITY', description: 'Community borrower', attributes: { managedBySis: false } },
    { code: 'ALUMNI', description: 'Alumni', attributes: { managedBySis: false } },
  ],
  UserIdentifierTypes: [
    { code: 'BARCODE', description: 'Barcode', attributes: { recordTypes: PERSON_RECORD_TYPES } },
    { code: 'UNIV_ID', description: 'University ID', attributes: { recordTypes: PERSON_RECORD_TYPES } },
    { code: 'INST_ID', description: 'Institution ID', attributes: { recordTypes: PERSON_RECORD_TYPES } },
    { code: 'OTHER_ID_1', description: 'Additional ID 1', attributes: { recordTypes: PERSON_RECORD_TYPES } },
    { code: 'OTHER_ID_2', description: 'Additional ID 2', attributes: { recordTypes: PERSON_RECORD_TYPES } },
    { code: 'GOOGLE_ID', description: 'Google ID', attributes: { recordTypes: ['PUBLIC'] } },
    { code: 'FACEBOOK_ID', description: 'Facebook ID', attributes: { recordTypes: ['PUBLIC'] } },
    { code: 'TWITTER_ID', description: 'Twitter ID', attributes: { recordTypes: ['PUBLIC'] } },
    { code: 'ORCID', description: 'ORCID', attributes: { recordTypes: PERSON_RECORD_TYPES } },
  ],
  UserTitles: ['Mr', 'Mrs', 'Ms', 'Miss', 'Mx', 'Dr', 'Prof'].map((c) => ({ code: c, description: c })),
  JobTitles: [
    { code: 'Librarian', description: 'Librarian' },
    { code: 'Cataloger', description: 'Cataloger' },
    { code: 'Circulation', description: 'Circulation assistant' },
    { code: 'Systems', description: 'Systems librarian' },
    { code: 'Student', description: 'Student' },
    { code: 'Faculty', description: 'Faculty' },
  ],
  Genders: [
    { code: 'MALE', description: 'Male' },
    { code: 'FEMALE', description: 'Female' },
    { code: 'OTHER', description: 'Other' },
    { code: 'NONE', description: 'None' },
  ],
  CampusList: [
    { code: 'MAIN', description: 'Main Campus' },
    { code: 'HEALTH', description: 'Health Sciences Campus' },
  ],
  CatalogerLevel: [
    { code: '00', description: '[00] Default Level (00)' },
    { code: '20', description: '[20] Copy Cataloger (20)' },
    { code: '50', description: '[50] Original Cataloger (50)' },
    { code: '90', description: '[90] Catalog Manager (90)' },
  ],
  UserPreferredLanguage: [
    { code: 'en', description: 'English' },
    { code: 'fr', description: 'French' },
    { code: 'de', description: 'German' },
    { code: 'es', description: 'Spanish' },
    { code: 'it', description: 'Italian' },
    { code: 'nl', description: 'Dutch' },
    { code: 'zh', description: 'Chinese' },
    { code: 'ar', description: 'Arabic' },
  ],
  CountryCodes: [
    { code: 'USA', description: 'United States' },
    { code: 'CAN', description: 'Canada' },
    { code: 'GBR', description: 'United Kingdom' },
    { code: 'IRL', description: 'Ireland' },
    { code: 'DEU', description: 'Germany' },
    { code: 'FRA', description: 'France' },
    { code: 'NLD', description: 'Netherlands' },
    { code: 'CHE', description: 'Switzerland' },
    { code: 'AUS', description: 'Australia' },
    { code: 'NZL', description: 'New Zealand' },
  ],
  UserAddressTypes: [
    { code: 'home', description: 'Home' },
    { code: 'work', description: 'Work' },
    { code: 'school', description: 'School' },
    { code: 'alternative', description: 'Alternative' },
  ],
  UserEmailTypes: [
    { code: 'personal', description: 'Personal' },
    { code: 'work', description: 'Work' },
    { code: 'school', description: 'School' },
    { code: 'alternative', description: 'Alternative' },
  ],
  UserPhoneTypes: [
    { code: 'home', description: 'Home' },
    { code: 'mobile', description: 'Mobile' },
    { code: 'office', description: 'Office' },
    { code: 'officeFax', description: 'Office Fax' },
  ],
  UserBlockTypes: [{ code: 'GENERAL', description: 'General' }],
  UserBlockDescription: [
    { code: '01-GLOBAL', description: 'Block (01)(GLOBAL)' },
    { code: '02-GLOBAL', description: 'Block (02)(GLOBAL)' },
    { code: 'LOST_CARD', description: 'Lost library card' },
    { code: 'OVERDUE', description: 'Overdue items' },
  ],
  NoteTypes: [
    { code: 'ADDRESS', description: 'Address' },
    { code: 'BARCODE', description: 'Barcode' },
    { code: 'CIRCULATION', description: 'Circulation' },
    { code: 'ERP', description: 'ERP' },
    { code: 'GENERAL', description: 'General' },
    { code: 'LIBRARY', description: 'Library' },
    { code: 'OTHER', description: 'Other' },
    { code: 'POPUP', description: 'Pop-up' },
    { code: 'REGISTAR', description: 'Registrar' },
  ],
  UserStatCategories: [
    { code: 'Graduate', description: 'Graduate' },
    { code: 'Undergraduate', description: 'Undergraduate' },
    { code: 'Distance', description: 'Distance learner' },
    { code: 'Visiting', description: 'Visiting scholar' },
  ],
  LibraryNoticesOptInDisplay: [
    { code: 'email_marketing', description: 'Library news by e-mail' },
    { code: 'sms_notices', description: 'Loan notices by SMS' },
  ],
  Libraries: [{ code: 'MAIN', description: 'Main Library' }],
  // The desks a circulation desk operator's CirculationDesk role parameter names.
  CirculationDesks: [{ code: 'DEFAULT_CIRC_DESK', description: 'Main Library circulation desk' }],
  RoleParameterTypes: [
    { code: 'CirculationDesk', description: 'Circulation desk' },
    { code: 'MetadataType', description: 'Metadata type' },
    { code: 'ServiceUnit', description: 'Service unit' },
    { code: 'CantEditRestrictedUsers', description: 'Cannot edit restricted users' },
  ],
};

