// The method modules this Carrel has, by type. One import and one line per module: a type
// without a module here cannot be created (LOGIN_METHOD_TYPE_UNAVAILABLE), and a stored method of
// such a type is not offered on the login page.
import type { LoginMethodType } from '../../../model/login-method.js';
import type { MethodModule } from '../method.js';
import { cas } from './cas.js';
import { emailLink } from './email-link.js';
import facebook from './facebook.js';
import google from './google.js';
import { ldap } from './ldap.js';
import oidc from './oidc.js';
import { saml } from './saml.js';
import twitter from './twitter.js';

const MODULES: MethodModule[] = [
  emailLink,
  cas,
  ldap,
  oidc,
  google,
  facebook,
  twitter,
  saml,
];

/**
 * Mutable on purpose for tests only (a test may set a module of its own for a type and must put
 * back what was there); production code only reads it.
 */
export const methodModules = new Map<LoginMethodType, MethodModule>(MODULES.map((m) => [m.type, m]));
