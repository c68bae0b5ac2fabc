// The CAS method (CAS protocol 2.0 and 3.0, written here: the npm clients are stale, see
// shared/reference/deps.md). The browser goes to {server}/login?service=S and comes back to S with
// a service ticket; Carrel validates the ticket at {server}/serviceValidate (2.0) or
// {server}/p3/serviceValidate (3.0, attributes released) with the very same S. S is the method's
// callback URL carrying the flow id (`?state=`), so the server can only vouch for this flow. A
// ticket is offered to the server once: a second callback with it is a replay.
import { XMLParser } from 'fast-xml-parser';
import { Type, type Static } from 'typebox';
import { AppError } from '../../../errors.js';
import { defineMethod, type Callback, type MethodContext, type Refusal, type Started, type Verified } from '../method.js';

export const CAS_CONFIG = Type.Object(
  {
    /** The CAS server's base URL, without a trailing slash: https://cas.example.edu/cas */
    server_url: Type.String({ pattern: '^https?://[^\\s?#]+[^/\\s?#]$', maxLength: 500 }),
    /** '3.0' (default) validates at /p3/serviceValidate and reads released attributes; '2.0' at /serviceValidate. */
    version: Type.Optional(Type.Union([Type.Literal('2.0'), Type.Literal('3.0')])),
    /** Match a released attribute (e.g. `employeeNumber`) instead of the CAS user name. */
    attribute: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.:-]*$', maxLength: 100 })),
    /** Ask the server to authenticate again even with a live single sign-on session (CAS `renew`). */
    renew: Type.Optional(Type.Boolean()),
    /** The validation request's timeout, milliseconds. Default 5000. */
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
  },
  { additionalProperties: false },
);
export type CasConfig = Static<typeof CAS_CONFIG>;

/** The query parameter of the service URL that carries the flow id back to Carrel. */
export const CAS_FLOW_PARAM = 'state';
/** CAS tickets live seconds; the replay memory keeps them far longer than any server would honour them. */
const REPLAY_MEMORY_MS = 24 * 3600_000;
/**
 * A service ticket: `ST-`, then letters, digits and hyphens (protocol 3.0 §3.1.1; dots and
 * underscores too, which servers that append a host name or use base64url emit), 256 at most.
 */
const SERVICE_TICKET = /^ST-[A-Za-z0-9._~-]{1,253}$/;
const MAX_RESPONSE_BYTES = 256 * 1024;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checks beyond the schema, without the network: tickets travel over TLS unless the server is on this host. */
export function casConfigProblem(c: CasConfig): string | undefined {
  const url = new URL(c.server_url);
  if (url.protocol !== 'https:' && !LOCAL_HOSTS.has(url.hostname)) return 'server_url: must be https:// (tickets are bearer credentials)';
  if (url.username || url.password) return 'server_url: no credentials in the URL';
  return undefined;
}

/** The service URL of one flow: the method's callback with the flow id. Sent at login, sent again at validation. */
export function serviceUrl(callback: string, flowId: string): string {
  const u = new URL(callback);
  u.searchParams.set(CAS_FLOW_PARAM, flowId);
  return u.toString();
}

async function start(ctx: MethodContext<CasConfig>, flowId: string): Promise<Started> {
  const c = ctx.method.config;
  const service = serviceUrl(ctx.urls.callback, flowId);
  const login = new URL(`${c.server_url}/login`);
  login.searchParams.set('service', service);
  if (c.renew) login.searchParams.set('renew', 'true');
  return { redirect: login.toString(), flow: { service } };
}

async function finish(ctx: MethodContext<CasConfig>, callback: Callback, flow: Record<string, string>): Promise<Verified | Refusal> {
  const c = ctx.method.config;
  const ticket = callback.query.ticket;
  const service = flow.service;
  if (!service) return { refused: 'invalid_response', detail: 'no service URL kept with the flow' };
  if (ticket === undefined || ticket === '') return { refused: 'idp_error', detail: 'no ticket on the callback' };
  if (!SERVICE_TICKET.test(ticket)) return { refused: 'invalid_response', detail: 'not a service ticket' };
  // Before asking the server: a ticket seen once is never offered again, whatever the answer was.
  const until = new Date(ctx.clock().getTime() + REPLAY_MEMORY_MS);
  if (!(await ctx.firstUse(`cas:${ctx.method.id}:${ticket}`, until))) return { refused: 'replay', detail: 'ticket seen before' };

  const validate = new URL(`${c.server_url}${(c.version ?? '3.0') === '3.0' ? '/p3/serviceValidate' : '/serviceValidate'}`);
  validate.searchParams.set('service', service);
  validate.searchParams.set('ticket', ticket);
  if (c.renew) validate.searchParams.set('renew', 'true');
  let xml: string;
  try {
    const res = await fetch(validate, { signal: AbortSignal.timeout(c.timeout_ms ?? 5000), redirect: 'error', headers: { accept: 'application/xml, text/xml' } });
    if (!res.ok) {
      await res.body?.cancel();
      return { refused: 'unavailable', detail: `validation answered HTTP ${res.status}` };
    }
    xml = await boundedText(res);
  } catch (e) {
    return { refused: 'unavailable', detail: `validation failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300) };
  }
  return readServiceResponse(xml, c.attribute);
}

async function boundedText(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new Error('response too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  maxNestedTags: 20,
  // Every released attribute may repeat (multi-valued): always a list.
  isArray: (_name, jpath) => String(jpath).startsWith('serviceResponse.authenticationSuccess.attributes.'),
});

/** Authentication failure codes (protocol 3.0 §2.5.3) and what they mean for the person. */
const FAILURES: Record<string, Refusal['refused']> = {
  INVALID_SERVICE: 'service',
  INVALID_TICKET: 'idp_error', // unknown, expired or already validated at the server
  INVALID_TICKET_SPEC: 'idp_error',
  INVALID_REQUEST: 'invalid_response',
  UNAUTHORIZED_SERVICE: 'service',
  UNAUTHORIZED_SERVICE_PROXY: 'service',
  INVALID_PROXY_CALLBACK: 'invalid_response',
  INTERNAL_ERROR: 'unavailable',
};

/** The server's `<cas:serviceResponse>`, read: success with user and attributes, or a refusal. */
export function readServiceResponse(xml: string, attribute?: string): Verified | Refusal {
  // A CAS answer has no DTD; one that declares entities is not a CAS answer.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return { refused: 'invalid_response', detail: 'DTD in the validation response' };
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (e) {
    return { refused: 'invalid_response', detail: `unparsable validation response: ${e instanceof Error ? e.message : ''}`.slice(0, 300) };
  }
  const response = asRecord(doc.serviceResponse);
  if (!response) return { refused: 'invalid_response', detail: 'no serviceResponse' };
  const failure = response.authenticationFailure;
  if (failure !== undefined) {
    const f = asRecord(failure);
    const code = typeof f?.['@_code'] === 'string' ? f['@_code'] : 'unknown';
    const text = typeof f?.['#text'] === 'string' ? f['#text'] : typeof failure === 'string' ? failure : '';
    return { refused: FAILURES[code] ?? 'idp_error', detail: `${code}: ${text}`.slice(0, 300) };
  }
  const success = asRecord(response.authenticationSuccess);
  const user = typeof success?.user === 'string' ? success.user : '';
  if (!success || user === '') return { refused: 'invalid_response', detail: 'no user in the validation response' };
  const attributes = readAttributes(success.attributes);
  const subject = attribute === undefined ? user : attributes[attribute]?.[0];
  if (subject === undefined || subject === '') return { refused: 'invalid_response', detail: `attribute ${attribute} not released` };
  const first = (...names: string[]) => names.map((n) => attributes[n]?.[0]).find((v) => v !== undefined && v !== '');
  const firstName = first('givenName', 'given_name', 'firstName');
  const lastName = first('sn', 'surname', 'family_name', 'lastName');
  const email = first('mail', 'email');
  return {
    subject,
    attributes: { ...attributes, ...(attribute !== undefined ? { user: [user] } : {}) },
    ...(firstName ? { firstName } : {}),
    ...(lastName ? { lastName } : {}),
    ...(email ? { email } : {}),
  };
}

function readAttributes(node: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const attrs = asRecord(node);
  if (!attrs) return out;
  for (const [name, values] of Object.entries(attrs)) {
    if (name.startsWith('@_') || name === '#text') continue;
    const list = (Array.isArray(values) ? values : [values]).filter((v): v is string => typeof v === 'string');
    if (list.length > 0) out[name] = list;
  }
  return out;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export const cas = defineMethod({
  type: 'cas',
  kind: 'redirect',
  config: CAS_CONFIG,
  secrets: [],
  check(config) {
    const reason = casConfigProblem(config);
    if (reason) throw new AppError('LOGIN_METHOD_INVALID', { reason });
  },
  start,
  finish,
});
