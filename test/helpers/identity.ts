// Helpers for the identity tests: cheap argon2, a clock the test moves, a real in-process SMTP
// server that keeps what it receives, and small clients for op=auth and /api/v1.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Config } from '../../src/config.js';

/** argon2id still, at a cost that keeps a test suite quick; production defaults are OWASP's. */
export const CHEAP_ARGON2: Partial<Config> = { argon2MemoryKiB: 1024, argon2TimeCost: 1, argon2Parallelism: 1 };

export interface TestClock {
  fn: () => Date;
  advance(ms: number): void;
}

export function testClock(start = new Date()): TestClock {
  let now = start.getTime();
  return { fn: () => new Date(now), advance: (ms) => void (now += ms) };
}

export interface SmtpCatcher {
  url: string;
  messages: ParsedMail[];
  /** Raw envelopes (MAIL FROM / RCPT TO) as the server saw them. */
  envelopes: { from: string; to: string[] }[];
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on a free port; every message is parsed with mailparser. */
export async function startSmtpCatcher(): Promise<SmtpCatcher> {
  const messages: ParsedMail[] = [];
  const envelopes: SmtpCatcher['envelopes'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          messages.push(parsed);
          envelopes.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    envelopes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface InjectResult {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
  json(): any;
}

/** op=auth as an application calls it: the password in Exl-User-Pw (URL-encoded) or in the query. */
export function opAuth(server: FastifyInstance, key: string, id: string, password: string, via: 'header' | 'query' = 'header') {
  const headers: Record<string, string> = { authorization: `apikey ${key}`, accept: 'application/json' };
  let url = `/almaws/v1/users/${encodeURIComponent(id)}?op=auth`;
  if (via === 'header') headers['exl-user-pw'] = encodeURIComponent(password);
  else url += `&password=${encodeURIComponent(password)}`;
  return server.inject({ method: 'POST', url, headers }) as Promise<InjectResult>;
}

/** Carrel's own API with a key. */
export function v1(server: FastifyInstance, key: string) {
  const headers = { authorization: `apikey ${key}` };
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
    server.inject({
      method,
      url: `/api/v1${url}`,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    }) as Promise<InjectResult>;
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, body: unknown = {}) => call('POST', url, body),
    delete: (url: string) => call('DELETE', url),
  };
}

/** The error code of a Carrel/Alma error envelope. */
export function errorCode(res: { body: string }): string {
  return (JSON.parse(res.body) as { errorList: { error: { errorCode: string }[] } }).errorList.error[0]!.errorCode;
}

/** A staff user's JSON for POST /users (INTERNAL by default). */
export function staffUser(primaryId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    record_type: { value: 'STAFF' },
    primary_id: primaryId,
    first_name: 'Grace',
    last_name: 'Hopper',
    account_type: { value: 'INTERNAL' },
    status: { value: 'ACTIVE' },
    user_group: { value: 'LIBSTAFF' },
    contact_info: { email: [{ email_address: `${primaryId}@library.example.edu`, email_type: [{ value: 'work' }], preferred: true }] },
    ...extra,
  };
}
