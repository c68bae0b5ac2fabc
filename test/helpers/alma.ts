// Small helpers for talking to the Alma API through server.inject, as a script would.
import type { FastifyInstance } from 'fastify';

export interface AlmaError {
  status: number;
  code: string;
  message: string;
}

export function jsonUser(primaryId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    record_type: { value: 'PUBLIC' },
    primary_id: primaryId,
    first_name: 'Ada',
    last_name: 'Lovelace',
    account_type: { value: 'INTERNAL' },
    status: { value: 'ACTIVE' },
    user_group: { value: 'COMMUNITY' },
    ...extra,
  };
}

export function client(server: FastifyInstance, key: string) {
  const headers = { authorization: `apikey ${key}`, accept: 'application/json' };
  return {
    get: (url: string, h: Record<string, string> = {}) => server.inject({ method: 'GET', url: `/almaws/v1${url}`, headers: { ...headers, ...h } }),
    post: (url: string, body: unknown, h: Record<string, string> = {}) =>
      server.inject({
        method: 'POST',
        url: `/almaws/v1${url}`,
        headers: { ...headers, 'content-type': 'application/json', ...h },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    put: (url: string, body: unknown, h: Record<string, string> = {}) =>
      server.inject({
        method: 'PUT',
        url: `/almaws/v1${url}`,
        headers: { ...headers, 'content-type': 'application/json', ...h },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    delete: (url: string, h: Record<string, string> = {}) =>
      server.inject({ method: 'DELETE', url: `/almaws/v1${url}`, headers: { ...headers, ...h } }),
  };
}

/** The first error of a JSON Alma envelope, with the HTTP status. */
export function almaError(res: { statusCode: number; body: string }): AlmaError {
  const body = JSON.parse(res.body) as { errorsExist: boolean; errorList: { error: { errorCode: string; errorMessage: string }[] } };
  if (!body.errorsExist) throw new Error(`not an error envelope: ${res.body}`);
  const e = body.errorList.error[0]!;
  return { status: res.statusCode, code: e.errorCode, message: e.errorMessage };
}
