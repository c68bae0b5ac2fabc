// The one error catalog. The domain throws AppError(code, params); the HTTP layer renders the
// entry as Alma's web_service_result envelope. Messages follow Alma's wording where Alma has one,
// with the specific value filled in so a script's log says what went wrong.

interface CatalogEntry {
  /** Alma errorCode (a string; some are symbolic). */
  alma: string;
  status: number;
  message: string;
}

export const ERRORS = {
  // Not found (Alma answers 400 for these, not 404).
  USER_NOT_FOUND: { alma: '401861', status: 400, message: 'User with identifier {id} was not found.' },
  USER_NOT_FOUND_BY_TYPE: {
    alma: '401890',
    status: 400,
    message: 'User with identifier {id} of type {type} was not found.',
  },
  // Create and update.
  INVALID_BODY: { alma: '401676', status: 400, message: 'No valid {format} was given: {reason}' },
  IDENTIFIER_TAKEN: {
    alma: '401851',
    status: 400,
    message: 'User with identifier {value} of type {type} already exists.',
  },
  MANDATORY_FIELD: { alma: '401664', status: 400, message: 'Mandatory field is missing: {field}' },
  ILLEGAL_USER_GROUP: { alma: '401852', status: 400, message: 'Given user group ({value}) is not legal.' },
  EXTERNAL_ID_FOR_INTERNAL: { alma: '401853', status: 400, message: 'External Id must be empty for internal user.' },
  EXTERNAL_ID_REQUIRED: { alma: '401854', status: 400, message: 'External Id must be given for external user.' },
  ACCOUNT_TYPE_INVALID: {
    alma: '401857',
    status: 400,
    message: 'The given user account type ({value}) is illegal (must be INTERNAL/EXTERNAL).',
  },
  EXTERNAL_ID_CHANGED: {
    alma: '401858',
    status: 400,
    message: 'The external id in DB does not fit the given value - external id cannot be updated.',
  },
  IDENTIFIER_GENERATION_EXHAUSTED: {
    alma: 'CARREL_IDENTIFIER_GENERATION_EXHAUSTED',
    status: 409,
    message: 'No {type} is left to generate: the {padding}-digit numbers after prefix {prefix} are used up (change the rule).',
  },
  REGISTRATION_PUBLIC_ONLY: {
    alma: 'CARREL_REGISTRATION_PUBLIC_ONLY',
    status: 400,
    message: 'Desk registration creates PUBLIC patrons only, not {recordType}.',
  },
  ACTION_NOT_SUPPORTED: { alma: '401859', status: 400, message: 'Action currently not supported: {action}' },
  TYPE_NOT_FOR_RECORD_TYPE: {
    alma: '401863',
    status: 400,
    message: 'Given {field} type ({value}) is not supported for given user record type ({recordType}).',
  },
  INVALID_CODE: { alma: '401864', status: 400, message: 'Given {field} type ({value}) is invalid.' },
  INVALID_VALUE: { alma: '401864', status: 400, message: 'Given {field} value ({value}) is invalid: {reason}' },
  TOO_MANY_SEGMENTS: {
    alma: '401864',
    status: 400,
    message: 'Too many {field} entries: {count} given, a user may have at most {max}.',
  },
  PRIMARY_ID_FORMAT: {
    alma: '401864',
    status: 400,
    message: 'Given primary identifier ({value}) does not match the format this institution requires.',
  },
  PASSWORD_POLICY: {
    alma: '500038',
    status: 400,
    // {policy} is the institution's (password-policy.ts: policyDescription), never a fixed 8.
    message: 'New password must be {policy} and must not include the user-name or any commonly used password. {reason}',
  },
  // Identity: one answer for every failed login, whatever the reason (unknown user, wrong password, locked).
  AUTHENTICATION_FAILED: { alma: '401866', status: 400, message: 'User authentication failed' },
  LINK_INVALID: {
    alma: 'CARREL_LINK_INVALID',
    status: 400,
    message: 'This link is not valid: it has expired, was already used, or a newer link replaced it.',
  },
  NO_EMAIL_ADDRESS: { alma: 'CARREL_NO_EMAIL', status: 400, message: 'User {id} has no e-mail address to send the link to.' },
  HASH_FORMAT: { alma: 'CARREL_HASH_FORMAT', status: 400, message: 'The password hash is not one Carrel accepts: {reason}' },
  INVALID_PARAMETER: { alma: '402119', status: 400, message: 'General error: {reason}' },
  // Carrel beyond Alma: optimistic concurrency.
  VERSION_MISMATCH: {
    alma: 'CARREL_PRECONDITION_FAILED',
    status: 412,
    message: 'The user was changed by someone else since you read it (If-Match {given}, now {current}).',
  },
  // Access.
  INVALID_API_KEY: { alma: 'INVALID_API_KEY', status: 400, message: 'Invalid API Key' },
  UNAUTHORIZED: {
    alma: 'UNAUTHORIZED',
    status: 400,
    message: 'API-key not defined or not configured to allow this API.',
  },
  // A signed-in staff session on /api/v1.
  CSRF_TOKEN_INVALID: {
    alma: 'CARREL_CSRF_TOKEN_INVALID',
    status: 403,
    message: 'A signed-in session must send the csrf_token of GET /api/v1/session in the X-CSRF-Token header for this method.',
  },
  SESSION_PASSWORD_CHANGE_REQUIRED: {
    alma: 'CARREL_PASSWORD_CHANGE_REQUIRED',
    status: 403,
    message: 'Choose a new password on the sign-in page first; until then this session may do nothing else.',
  },
  // Transport.
  BODY_TOO_LARGE: { alma: 'CARREL_BODY_TOO_LARGE', status: 413, message: 'Request body is larger than {limit} bytes.' },
  UNSUPPORTED_MEDIA_TYPE: {
    alma: 'CARREL_UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    message: 'Unsupported Content-Type {type}: send application/json or application/xml.',
  },
  ROUTE_NOT_FOUND: { alma: 'CARREL_NOT_FOUND', status: 404, message: 'No such resource: {method} {url}' },
  RATE_LIMITED: { alma: 'PER_SECOND_THRESHOLD', status: 429, message: 'Too many requests; try again shortly.' },
  INTERNAL: {
    alma: '60101',
    status: 500,
    message: 'General Error: An error has occurred while processing the request.',
  },
  // The database was unreachable (connection lost or refused): nothing was changed; try again.
  DATABASE_UNAVAILABLE: {
    alma: 'CARREL_DATABASE_UNAVAILABLE',
    status: 503,
    message: 'The service is temporarily unavailable (its database cannot be reached); nothing was changed. Try again shortly.',
  },
  // Carrel's own API.
  NOT_FOUND: { alma: 'CARREL_NOT_FOUND', status: 404, message: '{entity} {id} was not found.' },
  CONFLICT: { alma: 'CARREL_CONFLICT', status: 409, message: '{reason}' },
  // SIS loads and jobs. A refused file is refused whole, before anything is written; the record
  // entries are the reasons a job report gives for one record (the rest of the file goes on).
  SIS_FILE_REFUSED: {
    alma: 'CARREL_SIS_FILE_REFUSED',
    status: 400,
    message: 'The file was refused and nothing was loaded: {where}{reason}',
  },
  SIS_MATCH_ID_MISSING: { alma: '401664', status: 400, message: 'Mandatory field is missing: the match id ({matchBy}).' },
  SIS_DUPLICATE_IN_FILE: {
    alma: 'CARREL_SIS_DUPLICATE',
    status: 400,
    message: 'Duplicate in file: match id {value} was already read in record {first}.',
  },
  SIS_INTERNAL_USER: {
    alma: 'CARREL_SIS_SKIPPED',
    status: 400,
    message: 'Skipped: {id} is an INTERNAL user, and SIS loads never change internal users.',
  },
  SIS_OTHER_PROFILE: {
    alma: 'CARREL_SIS_SKIPPED',
    status: 400,
    message: 'Skipped: {id} belongs to SIS profile {other}, not {profile}.',
  },
  SIS_ALREADY_EXISTS: {
    alma: 'CARREL_SIS_SKIPPED',
    status: 400,
    message: 'Skipped: {id} already exists (an import profile only creates users).',
  },
  // The counterpart of a login method (IdP, directory) cannot be reached: the page offers local login.
  LOGIN_METHOD_UNAVAILABLE: { alma: 'CARREL_LOGIN_METHOD_UNAVAILABLE', status: 503, message: 'The sign-in service cannot be reached: {reason}' },
  // A profile's queued or running load reads the profile at every batch: it is not deleted under one.
  PROFILE_LOAD_UNFINISHED: {
    alma: 'CARREL_CONFLICT',
    status: 409,
    message: 'Integration profile {code} has a load that is {status} (job {id}): cancel it or let it end, then delete the profile. Nothing was changed.',
  },
  JOB_NOT_CANCELLABLE: { alma: 'CARREL_CONFLICT', status: 409, message: 'Job {id} has already ended ({status}).' },
  JOB_RESULT_MISSING: { alma: 'CARREL_NOT_FOUND', status: 404, message: 'Job {id} has no result file ({status}).' },
  // The SSO-outage jobs (domain/identity/outage*.ts).
  OUTAGE_PASSWORDS_GONE: {
    alma: 'CARREL_GONE',
    status: 410,
    message: 'The temporary passwords of job {id} are not available: they were downloaded already, or the job set none.',
  },
  OUTAGE_DOWNLOAD_TOKEN_INVALID: {
    alma: 'CARREL_DOWNLOAD_TOKEN_INVALID',
    status: 403,
    message: 'The download token is not the one given when job {id} was started.',
  },
  // The queue refuses, at enqueue, a job no module registered or whose payload its kind's schema refuses.
  JOB_KIND_UNKNOWN: { alma: 'CARREL_JOB_KIND_UNKNOWN', status: 400, message: 'There is no job kind {kind}.' },
  JOB_PAYLOAD_INVALID: { alma: 'CARREL_JOB_PAYLOAD_INVALID', status: 400, message: 'The payload of a {kind} job is not valid: {reason}' },
  // Login methods (src/domain/sign-in): reason names the key at fault, never a secret's value.
  LOGIN_METHOD_INVALID: { alma: 'CARREL_LOGIN_METHOD_INVALID', status: 400, message: 'The login method is not valid: {reason}' },
  LOGIN_METHOD_TYPE_UNAVAILABLE: {
    alma: 'CARREL_LOGIN_METHOD_INVALID',
    status: 400,
    message: 'Login method type {type} is not available in this Carrel (no module for it is installed).',
  },
  LOGIN_METHOD_NOT_FOUND: { alma: 'CARREL_NOT_FOUND', status: 404, message: 'Login method {code} was not found.' },
  LOGIN_METHOD_EXISTS: { alma: 'CARREL_CONFLICT', status: 409, message: 'Login method {code} already exists.' },
  // Code tables (src/domain/institutions/code-table-service.ts): a refused change changes nothing.
  CODE_TABLE_UNKNOWN: { alma: '402119', status: 400, message: 'General error: no code table named {name}' },
  CODE_TABLE_INVALID: { alma: '402119', status: 400, message: 'General error: code table {name} was not changed: {reason}' },
  CODE_IN_USE: {
    alma: 'CARREL_CODE_IN_USE',
    status: 400,
    message: 'Code {code} of {name} is held by {count} user(s) and cannot be removed; disable it ("enabled": false) instead. Nothing was changed.',
  },
  // Institution and network settings (src/domain/institutions/settings-rules.ts): field names the
  // setting as the caller spelled it (password_min_length on /api/v1); nothing was changed.
  SETTING_INVALID: { alma: 'CARREL_SETTING_INVALID', status: 400, message: 'Setting {field} is not valid: {reason}' },
  // API keys through /api/v1 and the CLI (src/domain/access/api-keys.ts).
  API_KEY_REVOKED: { alma: 'CARREL_CONFLICT', status: 409, message: 'API key {id} is revoked; create a new one instead.' },
  // The network's named-user licence is reached and the network refuses more (domain/institutions/named-user-licence.ts).
  NAMED_USER_LIMIT: {
    alma: 'CARREL_NAMED_USER_LIMIT',
    status: 400,
    message:
      "The network's named-user licence is reached ({count} of {licence}): user {user} cannot become a named user (an active user with an active named-user role) until one is freed.",
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorParams = Record<string, string | number>;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  readonly status: number;
  readonly alma: string;

  constructor(code: ErrorCode, params: ErrorParams = {}) {
    const entry: CatalogEntry = ERRORS[code];
    super(entry.message.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? '')));
    this.name = 'AppError';
    this.code = code;
    this.params = params;
    this.status = entry.status;
    this.alma = entry.alma;
  }
}

/** One-line guard, so rules read as rules: assertThat(ok, 'INVALID_CODE', {...}). */
export function assertThat(condition: unknown, code: ErrorCode, params?: ErrorParams): asserts condition {
  if (!condition) throw new AppError(code, params);
}
