// The console's one way to the server: /api/v1 with the session cookie (same origin), the CSRF
// token from GET /api/v1/session on every unsafe call, and Alma's error envelope turned into an
// ApiError the pages can show (and map to form fields: field-errors.ts).

export type Permission = 'users:read' | 'users:write' | 'users:register' | 'credentials:manage' | 'sis:manage' | 'config:manage' | 'named-users:report';

export interface Session {
  kind: 'staff' | 'api_key';
  institution: string;
  primary_id?: string;
  roles: { role_type: string; scope: string }[];
  permissions: Permission[];
  csrf_token: string | null;
}

export interface AlmaError {
  errorCode: string;
  errorMessage: string;
  trackingId?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: AlmaError[],
  ) {
    super(errors.map((e) => e.errorMessage).join(' ') || `The server answered ${status}.`);
  }
  get code(): string | undefined {
    return this.errors[0]?.errorCode;
  }
}

/** What a page says when a call failed: the server's words, or that it could not be reached. */
export const errorText = (e: unknown) => (e instanceof ApiError ? e.message : 'Carrel could not be reached.');

let csrfToken: string | null = null;

export function rememberCsrf(token: string | null) {
  csrfToken = token;
}

export interface Answer<T> {
  body: T;
  etag: string | null;
  /** The answer's headers (the network settings say the network's zone in one). */
  headers: Headers;
}

export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  opts: { body?: unknown; ifMatch?: string | null; signal?: AbortSignal } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return answerOf<T>(res, path);
}

/** POSTs a file as the raw body (an SIS upload), with the CSRF token; answers as api() does. */
export async function upload<T>(path: string, file: Blob, contentType: string): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': contentType };
  if (csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(`/api/v1${path}`, { method: 'POST', headers, credentials: 'same-origin', body: file });
  return answerOf<T>(res, path);
}

async function answerOf<T>(res: Response, path: string): Promise<Answer<T>> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const list = (json as { errorList?: { error?: AlmaError[] } } | null)?.errorList?.error ?? [];
    const error = new ApiError(res.status, list);
    // Refused as unauthorized: maybe the session ended (idle timeout, signed out in another tab);
    // the frame checks and sends the browser to sign in if so.
    if (error.code === 'UNAUTHORIZED' && path !== '/session') dispatchEvent(new Event('carrel:session-check'));
    throw error;
  }
  return { body: json as T, etag: res.headers.get('etag'), headers: res.headers };
}

export const enc = encodeURIComponent;
