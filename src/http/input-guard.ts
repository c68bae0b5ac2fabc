// The boundary every request crosses before a handler sees it. One rule for text (no NUL, no
// lone surrogate: src/model/safe-text.ts) over path and query parameters and parsed bodies;
// bodies must be valid UTF-8 (refused, never patched with U+FFFD); JSON nests at most
// MAX_JSON_DEPTH levels before anything recursive touches it; every integer a schema declares
// without its own bounds is kept within PostgreSQL's integer.
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { shownText, unsafeTextReason } from '../model/safe-text.js';
import { AppError } from '../errors.js';

/** Deepest JSON body accepted (objects and arrays); Alma's user is 5 levels deep. */
export const MAX_JSON_DEPTH = 64;
/** Bounds given to schema integers that declare none (PostgreSQL integer). */
export const MAX_SCHEMA_INTEGER = 2_147_483_647;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The body as text, or 401676 when it is not UTF-8. */
export function bodyText(body: Buffer, format: 'JSON' | 'XML'): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new AppError('INVALID_BODY', { format, reason: 'the body is not valid UTF-8' });
  }
}

/** How deep the JSON text nests, counted without parsing, stopping once past max. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

const shown = (s: string) => shownText(s, 40);

function checkParams(where: string, values: unknown): void {
  if (!values || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    for (const v of [name, ...(Array.isArray(value) ? value : [value])]) {
      if (typeof v !== 'string') continue;
      const reason = unsafeTextReason(v);
      if (reason) throw new AppError('INVALID_PARAMETER', { reason: `${where} ${shown(name)}: ${reason}` });
    }
  }
}

/** A parsed object, not a stream or a Buffer (forms parse to objects of a null-prototype class). */
function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null;
}

/** Walks a parsed body (depth already bounded by the parsers), keys and string values alike. */
function checkBody(value: unknown, path: string): void {
  if (typeof value === 'string') {
    const reason = unsafeTextReason(value);
    if (reason) throw new AppError('INVALID_VALUE', { field: path || 'body', value: shown(value), reason });
  } else if (Array.isArray(value)) {
    for (const item of value) checkBody(item, path);
  } else if (value !== null && typeof value === 'object' && isPlain(value)) {
    for (const [key, child] of Object.entries(value)) {
      const reason = unsafeTextReason(key);
      if (reason) throw new AppError('INVALID_VALUE', { field: 'name', value: shown(key), reason });
      checkBody(child, path ? `${path}.${key}` : key);
    }
  }
}

async function rejectUnsafeText(req: FastifyRequest): Promise<void> {
  checkParams('path parameter', req.params);
  checkParams('query parameter', req.query);
  // A string body is XML (JSON arrives parsed, uploads as streams, forms as objects).
  if (typeof req.body === 'string') {
    const reason = unsafeTextReason(req.body);
    if (reason) throw new AppError('INVALID_BODY', { format: 'XML', reason });
  } else {
    checkBody(req.body, '');
  }
}

type Schema = Record<string, unknown>;

function boundIntegers(schema: unknown, seen = new Set<unknown>()): void {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
  seen.add(schema);
  const s = schema as Schema;
  if (s.type === 'integer') {
    if (s.maximum === undefined && s.exclusiveMaximum === undefined) s.maximum = MAX_SCHEMA_INTEGER;
    if (s.minimum === undefined && s.exclusiveMinimum === undefined) s.minimum = -MAX_SCHEMA_INTEGER - 1;
  }
  for (const key of ['properties', 'patternProperties']) {
    for (const child of Object.values((s[key] as Schema | undefined) ?? {})) boundIntegers(child, seen);
  }
  for (const key of ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf']) {
    const child = s[key];
    for (const c of Array.isArray(child) ? child : [child]) boundIntegers(c, seen);
  }
}

/** Installs the guard on the root instance, before any route is registered. */
export function installInputGuard(server: FastifyInstance): void {
  const parseJson = server.getDefaultJsonParser('error', 'error');
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      const text = bodyText(body as Buffer, 'JSON');
      if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
        throw new AppError('INVALID_BODY', { format: 'JSON', reason: `nested deeper than ${MAX_JSON_DEPTH} levels` });
      }
      parseJson(req, text, done);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  server.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, bodyText(body as Buffer, 'XML'));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  server.addHook('preValidation', rejectUnsafeText);
  server.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as Schema | undefined;
    if (schema) for (const part of ['querystring', 'params', 'body', 'headers']) boundIntegers(schema[part]);
  });
}
