// The Alma XML user (rest_user.xsd): the JSON user object rewritten by xml-codec.ts, so the two
// formats cannot drift. The root carries no namespace, as Alma's does not.
import type { CodeTables } from '../../domain/institutions/code-tables.js';
import type { User, UserInput } from '../../domain/users/user.js';
import { almaJsonToUserInput, userToAlmaJson, type AlmaUserOptions } from './user-json.js';
import { parseXmlDocument, toXmlDocument, type XmlShape } from './xml-codec.js';

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
