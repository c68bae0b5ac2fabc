// The Alma XML user (rest_user.xsd): the JSON user object rewritten by xml-codec.ts, so the two
// formats cannot drift. The root carries no namespace, as Alma's does not.
import type { CodeTables } from '../model/code-tables.js';
import type { User, UserInput } from '../model/user.js';
import { almaJsonToUserInput, userToAlmaJson, type AlmaUserOptions } from './user-json.js';
import { parseXmlDocument, toXmlDocument, toXmlElement, xmlTreeToJsonShape, type XmlShape } from './xml-codec.js';

export const USER_XML_SHAPE: XmlShape = {
  attributes: new Set(['link', 'segment_type', 'preferred', 'preferred_sms']),
  wrappers: {
    user_identifier: 'user_identifiers',
    address: 'addresses',
    email: 'emails',
    phone: 'phones',
    address_type: 'address_types',
    email_type: 'email_types',
    phone_type: 'phone_types',
    user_role: 'user_roles',
    parameter: 'parameters',
    user_block: 'user_blocks',
    user_note: 'user_notes',
    user_statistic: 'user_statistics',
    proxy_for_user: 'proxy_for_users',
    rs_library: 'rs_libraries',
    library_notice: 'library_notices',
  },
};

export function userToAlmaXml(user: User, tables: CodeTables, opts: AlmaUserOptions): string {
  return toXmlDocument('user', userToAlmaJson(user, tables, opts), USER_XML_SHAPE);
}

export function almaXmlToUserInput(xml: string): UserInput {
  return almaJsonToUserInput(parseXmlDocument(xml, 'user', USER_XML_SHAPE));
}

/** A <user> element read by a streaming parser (SIS files): the same mapping as a request body. */
export function almaXmlTreeToUserInput(tree: unknown): UserInput {
  return almaJsonToUserInput(xmlTreeToJsonShape(tree, USER_XML_SHAPE));
}

/** What a user in an SIS file (an export) leaves out: credentials and fields only Alma's GET has. */
const NOT_IN_SIS_FILES = ['password', 'pin_number', 'force_password_change', 'requests', 'loans', 'fees', 'link', 'full_name', 'proxy_for_user'];

/** A <user> element for an SIS-format file (no declaration, no credentials), importable again. */
export function userToSisXmlElement(user: User, tables: CodeTables, opts: AlmaUserOptions): string {
  const json = userToAlmaJson(user, tables, opts);
  for (const key of NOT_IN_SIS_FILES) delete json[key];
  return toXmlElement('user', json, USER_XML_SHAPE);
}
