// The login-method seam: one interface every way of signing in implements (SAML, CAS, LDAP, OIDC,
// social, e-mail link), one module per method under ./methods/. A module only proves who the
// person is; it never finds, creates or signs in a user. The sign-in service (./sign-in.ts) takes
// what a module verified, matches it to a user in one indexed query (method.match), and hands the
// user to the one sessions module. A module knows no HTTP: the routes (src/http/pages) pass it
// the callback's query and form fields as plain records, and send the redirect it returns.
import type { Static, TSchema } from 'typebox';
import type { Institution } from '../../model/institution.js';
import type { LoginMethod, LoginMethodType } from '../../model/login-method.js';

/** What the counterpart (IdP, directory, mail link) vouched for. */
export interface Verified {
  /** The value matched against the method's `match` (an identifier value or a primary id). */
  subject: string;
  /** Everything else released, by attribute or claim name (for JIT and group mapping). */
  attributes: Record<string, string[]>;
  /** Optional, for a user created just in time. */
  firstName?: string;
  lastName?: string;
  email?: string;
  /** The user group the method's own mapping gives (SAML scoped affiliation), for a user created just in time. */
  userGroup?: string;
}

/** Why a sign-in was refused: audited with `detail`; the person sees a page that names none of it. */
export type RefusalReason =
  | 'bad_credentials' // LDAP bind failed, empty password
  | 'invalid_response' // malformed or unparsable response, missing attribute
  | 'signature' // unsigned, signed by another key, signature wrapping
  | 'expired' // NotOnOrAfter, token exp, ticket too old
  | 'not_yet_valid'
  | 'audience'
  | 'recipient'
  | 'destination'
  | 'replay' // an assertion id, ticket or code seen before
  | 'in_response_to' // an answer to a request this flow did not make
  | 'state' // OIDC/OAuth state does not match the flow
  | 'nonce'
  | 'issuer'
  | 'service' // CAS ticket for another service
  | 'idp_error' // the counterpart said no (access_denied, SAML status not Success)
  | 'unavailable'; // the counterpart could not be reached: the page offers local login

export interface Refusal {
  refused: RefusalReason;
  /** For the audit log and the server log only. Never secrets, never the password. */
  detail?: string;
}

export const isRefusal = (r: Verified | Refusal): r is Refusal => 'refused' in r;

/** What a module is given on every call. */
export interface MethodContext<C> {
  method: LoginMethod & { config: C };
  institution: Institution;
  /** Absolute URLs built from the configured public URL, never from the Host header. */
  urls: {
    /** {public}/auth/{inst}/login/{code}/callback: OIDC and social redirect URI, CAS service URL. */
    callback: string;
    /** {public}/auth/{inst}/saml/{code}/acs */
    acs: string;
    /** {public}/auth/{inst}/saml/{code}/metadata: also the SAML SP entity id. */
    metadata: string;
  };
  clock: () => Date;
  /**
   * Single-use memory shared by every server of the deployment: true the first time `key` is
   * offered, false ever after (until `until` has passed and it is pruned). SAML assertion ids,
   * CAS tickets, OIDC codes. Keys are namespaced by the caller (e.g. `saml:{method id}:{id}`).
   */
  firstUse(key: string, until: Date): Promise<boolean>;
}

/** The first leg of a redirect method: where to send the browser, and what to keep for finish(). */
export interface Started {
  redirect: string;
  /**
   * Kept server-side with the flow (state, nonce, PKCE verifier, SAML request id), bound to the
   * browser, single use, given back to finish(). Never put in a URL unless the protocol says so.
   */
  flow: Record<string, string>;
  /**
   * The redirect is Carrel's own page where the person chooses first (the SAML discovery page), not
   * the counterpart: the sign-in service adds the checked return URL (?return=) for the choice to carry on.
   */
  chooser?: boolean;
}

/** The protocol's own parameters on the way back (query for GET, form fields for POST). */
export interface Callback {
  query: Record<string, string>;
  body: Record<string, string>;
}

interface ModuleBase<S extends TSchema> {
  type: LoginMethodType;
  /** The settings schema, checked on create and update (and on load: a stored config that no longer fits disables the method). */
  config: S;
  /** Keys of `config` that are secrets: stored, never returned by list/show/API, never logged. */
  secrets: readonly string[];
  /**
   * The only match this type allows (social methods: GOOGLE_ID, FACEBOOK_ID, TWITTER_ID): create
   * and update refuse any other, so a social account can only ever stand for the user it was bound to.
   */
  match?: string;
  /**
   * Checks beyond the schema (a certificate parses, a URL is https outside localhost); throws
   * AppError('LOGIN_METHOD_INVALID', { reason }) naming the key. May not reach the network.
   */
  check?(config: Static<S>): void;
}

/** Browser goes to the counterpart and comes back (SAML, CAS, OIDC, social). */
export interface RedirectMethod<S extends TSchema> extends ModuleBase<S> {
  kind: 'redirect';
  /**
   * `flowId` goes where the protocol carries state (OIDC `state`, SAML RelayState, CAS service URL).
   * `params` are the start page's query parameters (SAML federation: `idp`, the entity id chosen on
   * the discovery page); a module reads only the names it documents.
   */
  start(ctx: MethodContext<Static<S>>, flowId: string, params?: Record<string, string>): Promise<Started>;
  finish(ctx: MethodContext<Static<S>>, callback: Callback, flow: Record<string, string>): Promise<Verified | Refusal>;
  /** SAML: the SP metadata XML served at urls.metadata. */
  metadata?(ctx: MethodContext<Static<S>>): Promise<string>;
}

/** The login page of the method posts a user name and password (LDAP). */
export interface PasswordMethod<S extends TSchema> extends ModuleBase<S> {
  kind: 'password';
  /** An empty password is a refusal ('bad_credentials'), never an anonymous bind. */
  verify(ctx: MethodContext<Static<S>>, username: string, password: string): Promise<Verified | Refusal>;
}

/**
 * The person names their account and Carrel mails a single-use link that signs in once (e-mail
 * link). Finding the account and sending the mail are the sign-in service's (a module never finds
 * a user); the module carries the settings only.
 */
export interface LinkMethod<S extends TSchema> extends ModuleBase<S> {
  kind: 'link';
}

export type MethodModule<S extends TSchema = TSchema> = RedirectMethod<S> | PasswordMethod<S> | LinkMethod<S>;

/** Identity helper so a module's config type flows from its schema. */
export function defineMethod<S extends TSchema>(m: MethodModule<S>): MethodModule<S> {
  return m;
}
