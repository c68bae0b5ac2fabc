// GET /users answers (rest_users.xsd): {"total_record_count": N, "user": [...]} and
// <users total_record_count="N"><user link="...">. Brief entries by default, whole users with
// expand=full.
import type { CodeTables } from '../model/code-tables.js';
import { fullName, type BriefUser, type User, type UserScalars } from '../model/user.js';
import { codeOut, dateOut, type Json } from './json-values.js';
import { userLink, userToAlmaJson } from './user-json.js';
import { USER_XML_SHAPE } from './user-xml.js';
import { toXmlDocument, type XmlShape } from './xml-codec.js';

export interface UsersList {
  total: number;
  /**
   * Set when the search counted its matches only up to a limit (Carrel's order_by=relevance on
   * /api/v1): false says there are more than total_record_count.
   */
  totalExact?: boolean | undefined;
  /** BriefUser rows, or whole Users for expand=full (each is written as it comes). */
  users: readonly (BriefUser | User)[];
}

export interface UsersListOptions {
  baseUrl: string;
  institution?: { code: string; name: string };
}

const LIST_SHAPE: XmlShape = {
  attributes: new Set([...USER_XML_SHAPE.attributes, 'total_record_count', 'total_record_count_exact']),
  wrappers: USER_XML_SHAPE.wrappers,
};

export function toBriefUser(u: UserScalars): BriefUser {
  const { primaryId, firstName, middleName, lastName, recordType, accountType, status, userGroup, expiryDate, purgeDate, gender } = u;
  return { primaryId, firstName, middleName, lastName, recordType, accountType, status, userGroup, expiryDate, purgeDate, gender };
}

function isFullUser(u: BriefUser | User): u is User {
  return 'contactInfo' in u;
}

export function briefUserToAlmaJson(u: BriefUser, tables: CodeTables, opts: UsersListOptions): Json {
  const out: Json = {
    record_type: codeOut(tables, 'AddNewUserOptions', u.recordType),
    primary_id: u.primaryId,
    first_name: u.firstName ?? '',
    middle_name: u.middleName ?? '',
    last_name: u.lastName ?? '',
    full_name: fullName(u),
    gender: codeOut(tables, 'Genders', u.gender),
    user_group: codeOut(tables, 'UserGroups', u.userGroup),
    expiry_date: dateOut(u.expiryDate),
    purge_date: dateOut(u.purgeDate),
    account_type: codeOut(tables, 'UserUserType', u.accountType),
    password: '',
    status: codeOut(tables, 'ContentStructureStatus', u.status),
    requests: null,
    loans: null,
    fees: null,
    link: userLink(opts.baseUrl, u.primaryId),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export function usersListToJson(list: UsersList, tables: CodeTables, opts: UsersListOptions): Json {
  return {
    total_record_count: list.total,
    ...(list.totalExact === undefined ? {} : { total_record_count_exact: list.totalExact }),
    user: list.users.map((u) =>
      isFullUser(u) ? userToAlmaJson(u, tables, { ...opts, view: 'full' }) : briefUserToAlmaJson(u, tables, opts),
    ),
  };
}

export function usersListToXml(list: UsersList, tables: CodeTables, opts: UsersListOptions): string {
  return toXmlDocument('users', usersListToJson(list, tables, opts), LIST_SHAPE);
}
