// The method modules this Carrel has, by type. One import and one line per module: a type
// without a module here cannot be created (LOGIN_METHOD_TYPE_UNAVAILABLE), and a stored method of
// such a type is not offered on the login page.
import type { LoginMethodType } from '../../../model/login-method.js';
import type { MethodModule } from '../method.js';
import { emailLink } from './email-link.js';
import { saml } from './saml.js';

const MODULES: MethodModule[] = [
  emailLink,
  saml,
  // saml, cas, ldap, oidc, google, facebook, twitter: one line each, beside their import above.
];

/**
 * Mutable on purpose for tests only (a test may set a module of its own for a type and must put
 * back what was there); production code only reads it.
 */
export const methodModules = new Map<LoginMethodType, MethodModule>(MODULES.map((m) => [m.type, m]));
