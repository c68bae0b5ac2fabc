// The LDAP method: the method's login page posts a user name and password, and the directory
// decides. Search-then-bind: bind as the service account, find exactly one entry whose filter
// matches the user name (escaped per RFC 4515, so `*)(uid=*` is a literal name, not a wildcard),
// then bind as that entry's DN with the password. The user's own bind is the proof; nothing else
// is. One connection per attempt, closed on every path, so no bound state outlives the attempt.
import { randomBytes } from 'node:crypto';
import { Client, Filter, FilterParser, InvalidCredentialsError, ResultCodeError, SizeLimitExceededError } from 'ldapts';
import type { Entry } from 'ldapts';
import { Type, type Static } from 'typebox';
import { AppError } from '../../../errors.js';
import { defineMethod, type MethodContext, type Refusal, type Verified } from '../method.js';

export const LDAP_CONFIG = Type.Object(
  {
    /** ldap://host:port or ldaps://host:port (no DN or filter in the URL). */
    url: Type.String({ pattern: '^ldaps?://[^/?#\\s]+/?$', maxLength: 500 }),
    /** The service account that may search (the user's own bind is what proves the password). */
    bind_dn: Type.String({ minLength: 1, maxLength: 1000 }),
    bind_password: Type.String({ minLength: 1, maxLength: 1000 }),
    search_base: Type.String({ minLength: 1, maxLength: 1000 }),
    /** An RFC 4515 filter with `{username}` where the escaped user name goes: `(uid={username})`. */
    filter: Type.String({ minLength: 3, maxLength: 2000 }),
    /** The attribute whose value is the subject matched against the method's `match` (`uid`, `employeeNumber`). */
    attribute: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9-]*$', maxLength: 100 }),
    /** Upgrade an ldap:// connection with StartTLS before any bind. */
    starttls: Type.Optional(Type.Boolean()),
    /** PEM of the CA(s) that sign the directory's certificate, when not a public one. */
    tls_ca: Type.Optional(Type.String({ maxLength: 100_000 })),
    /** Per operation, milliseconds. Default 5000. */
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
    /** TCP (and TLS) connect, milliseconds. Default 3000. */
    connect_timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
  },
  { additionalProperties: false },
);
export type LdapConfig = Static<typeof LDAP_CONFIG>;

/** Longer user names are refused before the directory is asked (no real uid is this long). */
const MAX_USERNAME = 256;
const NAME_ATTRIBUTES = ['cn', 'mail', 'givenName', 'sn'];
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks beyond the schema, without the network: the filter has one place for the user name and
 * parses, and a password is never sent in clear to another machine (ldaps:// or StartTLS unless
 * the directory is on this host). Returns the reason, naming the key, or undefined.
 */
export function ldapConfigProblem(c: LdapConfig): string | undefined {
  if (!c.filter.includes('{username}')) return 'filter: must contain {username}';
  try {
    FilterParser.parseString(c.filter.replaceAll('{username}', 'x'));
  } catch {
    return 'filter: not a valid LDAP filter';
  }
  const url = new URL(c.url);
  if (url.protocol === 'ldaps:' && c.starttls) return 'starttls: not with ldaps:// (already TLS)';
  if (url.protocol === 'ldap:' && !c.starttls && !LOCAL_HOSTS.has(url.hostname)) {
    return 'url: ldap:// to another host sends passwords in clear; use ldaps:// or starttls';
  }
  if (c.tls_ca !== undefined && !c.tls_ca.includes('-----BEGIN CERTIFICATE-----')) return 'tls_ca: not a PEM certificate';
  return undefined;
}

/** The filter with the user name escaped (RFC 4515): `*`, `(`, `)`, `\` and NUL lose their meaning. */
export function userFilter(template: string, username: string): string {
  return template.replaceAll('{username}', Filter.escape(username));
}

export async function verifyLdap(ctx: MethodContext<LdapConfig>, username: string, password: string): Promise<Verified | Refusal> {
  const c = ctx.method.config;
  // Before any connection: an empty password would be an unauthenticated bind (RFC 4513 5.1.2),
  // which many directories answer with success. It must never count as a sign-in.
  if (password === '') return { refused: 'bad_credentials', detail: 'empty password' };
  if (username.trim() === '' || username.length > MAX_USERNAME) return { refused: 'bad_credentials', detail: 'empty or overlong user name' };

  const url = new URL(c.url);
  const tls = c.tls_ca ? { ca: c.tls_ca } : {};
  const client = new Client({
    url: c.url,
    timeout: c.timeout_ms ?? 5000,
    connectTimeout: c.connect_timeout_ms ?? 3000,
    // Only for ldaps://: ldapts 8 given tlsOptions on an ldap:// client breaks a later StartTLS.
    ...(url.protocol === 'ldaps:' ? { tlsOptions: tls } : {}),
    strictDN: true,
  });
  let stage = 'connect';
  try {
    if (c.starttls) {
      stage = 'starttls';
      // The upgraded socket is checked against the directory's host name (tls.connect would
      // otherwise check it against 'localhost').
      await client.startTLS({ ...tls, host: url.hostname.replace(/^\[|\]$/g, '') });
    }
    stage = 'service bind';
    await client.bind(c.bind_dn, c.bind_password);
    stage = 'search';
    let entries: Entry[];
    let ambiguous = false;
    try {
      ({ searchEntries: entries } = await client.search(c.search_base, {
        scope: 'sub',
        filter: userFilter(c.filter, username),
        attributes: [...new Set([c.attribute, ...NAME_ATTRIBUTES])],
        // Two are enough to know the name is ambiguous.
        sizeLimit: 2,
      }));
    } catch (e) {
      if (!(e instanceof SizeLimitExceededError)) throw e;
      entries = [];
      ambiguous = true;
    }
    if (entries.length !== 1) {
      // The same round trips as a wrong password, so the time taken does not tell whether the
      // name exists: a bind the directory must refuse (an entry that cannot exist).
      stage = 'decoy bind';
      await client.bind(`cn=carrel-no-such-entry-${randomBytes(12).toString('hex')},${c.search_base}`, password).catch(() => undefined);
      return { refused: 'bad_credentials', detail: entries.length === 0 && !ambiguous ? 'no entry for the user name' : 'user name matches more than one entry' };
    }
    const entry = entries[0]!;
    stage = 'user bind';
    try {
      await client.bind(entry.dn, password);
    } catch (e) {
      if (e instanceof ResultCodeError && !isTransient(e)) return { refused: 'bad_credentials', detail: `user bind refused (${e.code})` };
      throw e;
    }
    return verifiedOf(entry, c.attribute);
  } catch (e) {
    // The service account refused, TLS failed, the directory is down or slow: nothing the person
    // did. The page offers local login; the detail (never a password) is for the log.
    const what = e instanceof InvalidCredentialsError ? 'credentials refused' : e instanceof Error ? e.message : String(e);
    return { refused: 'unavailable', detail: `${stage}: ${what}`.slice(0, 300) };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** busy (51), unavailable (52), other (80): the directory's trouble, not the person's. */
function isTransient(e: ResultCodeError): boolean {
  return e.code === 51 || e.code === 52 || e.code === 80;
}

function verifiedOf(entry: Entry, attribute: string): Verified | Refusal {
  const attributes: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    if (values.length > 0) attributes[name] = values;
  }
  // Attribute names are case-insensitive in LDAP; the entry carries the directory's spelling.
  const pick = (name: string): string | undefined =>
    name.toLowerCase() === 'dn' ? entry.dn : Object.entries(attributes).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1][0];
  const subject = pick(attribute);
  if (subject === undefined || subject === '') return { refused: 'invalid_response', detail: `entry has no ${attribute}` };
  const firstName = pick('givenName');
  const lastName = pick('sn');
  const email = pick('mail');
  return {
    subject,
    attributes,
    ...(firstName ? { firstName } : {}),
    ...(lastName ? { lastName } : {}),
    ...(email ? { email } : {}),
  };
}

export const ldap = defineMethod({
  type: 'ldap',
  kind: 'password',
  config: LDAP_CONFIG,
  secrets: ['bind_password'],
  check(config) {
    const reason = ldapConfigProblem(config);
    if (reason) throw new AppError('LOGIN_METHOD_INVALID', { reason });
  },
  verify: verifyLdap,
});
