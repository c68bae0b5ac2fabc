// Shared parts of the fuzz suite: a fixed seed (FUZZ_SEED overrides, printed by fast-check on any
// failure), run counts (FUZZ_RUNS overrides every property's count; `npm run fuzz` runs long),
// hostile strings, mutations of valid inputs, and what every answer must look like.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { App } from '../../src/app.js';

export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261130;

/** fast-check parameters for a property of `runs` cases in the normal test run. */
export function params(runs: number): fc.Parameters<unknown> {
  const override = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;
  return { seed: SEED, numRuns: override && override > 0 ? override : runs, endOnFailure: true, includeErrorInReport: true };
}

// Strings a parser, a database or a logger may choke on.
const NASTY = [
  '\u0000', 'a\u0000b', '\udfff', '\ud800', 'x\ud83d', '\ud83d\ude00', '\ufffd', '\ufeff', '\u202e', '\u200b', '\r\n', '\t', '\u0007', '\u007f',
  '1e300', '-1e300', '9223372036854775808', '-9223372036854775809', '1.5', '-0', 'NaN', 'Infinity', '0x10', '00000000001',
  '2026-02-30', '2026-13-01', '0000-00-00', '9999-12-31', '2024-02-29Z', '2026-02-30T25:61:61Z',
  '%', '%zz', '%00', '%ED%A0%80', '%25', '%2e%2e%2f', '../../etc/passwd', '..\\..\\boot.ini', '/', '?', '#', '&', ';', '=',
  '<script>alert(1)</script>', '<![CDATA[x]]>', '&amp;', '&#0;', '&#xD800;', '"', "'", '\\', '`', '{}', '[]', 'null', 'true',
  "' OR 1=1 --", '$1', '%s%s%s', '${x}', '__proto__', 'constructor', 'ünïcødé', 'İı', 'ß', '한국어', 'ﷺ', '😀👍🏽', 'a'.repeat(256), 'x'.repeat(5000),
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** A hostile string: a known troublemaker, random Unicode (any plane), or a mix with lone surrogates. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom(...NASTY), loneSurrogate, fc.string({ maxLength: 4 })), { maxLength: 5 }).map((a) => a.join('')) },
);

/** Numbers as a query string carries them, mostly out of range or not integers. */
export const hostileNumber: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('1e300', '9223372036854775808', '-9223372036854775809', '2147483648', '-1', '1.5', '0x10', ' 1', '1e3', '', '0', '10', '100', '101', 'NaN'),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  hostileString,
);

/** Dates, mostly well-formed but impossible (2026-02-30, month 13, year 0). */
export const hostileDate: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 39 })).map(
    ([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
  ),
  hostileString,
);

/**
 * Does JSON text (as JSON.stringify writes it) hold text no request may carry: an escaped NUL or
 * lone surrogate (JSON.stringify escapes exactly those, and writes paired surrogates raw)?
 */
export function jsonHoldsUnsafeText(text: string): boolean {
  return /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i.test(text);
}

/** A JSON value a client should not send where a string or code belongs. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1e300, -1e300, 2 ** 53 + 1, 0.5, [], {}, [null], { value: null }) },
  { weight: 1, arbitrary: fc.constantFrom(10, 63, 65, 200, 3_000).map((d) => deepNest(d)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }).map((a) => a.map((value) => ({ value }))) },
);

export function deepNest(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Every leaf path of a JSON value ([] is the root). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => paths(x, [...at, i]))];
  if (v && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))];
  return [at];
}

/** A copy of root with the node at path set (or removed); copies only along the path (deep values stay shared). */
function setAt(root: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  // An earlier mutation replaced this branch: the path is gone, nothing to do.
  if (!root || typeof root !== 'object') return root;
  const copy = (Array.isArray(root) ? [...root] : { ...root }) as Record<string | number, unknown>;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (rest.length === 0) {
    if (remove && !Array.isArray(copy)) delete copy[head];
    else copy[head] = value;
  } else {
    copy[head] = setAt(copy[head], rest, value, remove);
  }
  return copy;
}

/** A valid JSON value with one to three of its nodes replaced, removed or joined by hostile ones. */
export function mutatedJson(valid: unknown): fc.Arbitrary<unknown> {
  const all = paths(valid);
  const one = fc.tuple(fc.constantFrom(...all), hostileValue, fc.constantFrom('set', 'set', 'remove', 'add'), hostileString);
  return fc.array(one, { minLength: 1, maxLength: 3 }).map((ops) => {
    let v = valid;
    for (const [path, value, op, key] of ops) {
      if (op === 'add') {
        const target = path.length ? path : [];
        const parent = target.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], v);
        if (parent && typeof parent === 'object' && !Array.isArray(parent)) v = setAt(v, [...target, key], value, false);
        else v = setAt(v, path, value, false);
      } else {
        v = setAt(v, path, value, op === 'remove');
      }
    }
    return v;
  });
}

/** Text-level damage to a serialized body: truncation, a flipped byte, an inserted hostile string. */
export function mutatedText(valid: string): fc.Arbitrary<Buffer> {
  const bytes = Buffer.from(valid);
  return fc.oneof(
    fc.nat({ max: bytes.length }).map((n) => bytes.subarray(0, n)),
    fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const copy = Buffer.from(bytes);
      copy[i] = b;
      return copy;
    }),
    fc.tuple(fc.nat({ max: bytes.length }), hostileString).map(([i, s]) => Buffer.concat([bytes.subarray(0, i), Buffer.from(s), bytes.subarray(i)])),
  );
}

/** Percent-encodes any string, lone surrogates included (as the WTF-8 bytes a sloppy client sends). */
export function pathEncode(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(ch);
  }
  return out;
}

/** A raw path segment as a hand-written URL would carry it: valid or broken %-escapes, no encoding. */
export const rawSegment: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom('%', '%zz', '%00', '%ED%A0%80', '%C0%AF', '%2F', '%2e%2e', '..', ';', '%F0%9F%98', '%FF', 'a', 'Z9', '~', '-', '_', '.')), { minLength: 1, maxLength: 6 })
  .map((a) => a.join(''));

export type Fingerprint = {
  n: number;
  v: number;
  t: string | null;
  e: number;
  c: number;
};

/** Cheap proof that nothing was written: users (count, versions, last change), audit events, credentials. */
export function fingerprint(app: App): Promise<Fingerprint> {
  return app.db.one<Fingerprint>(
    `SELECT (SELECT count(*)::int FROM app_user) AS n, (SELECT coalesce(sum(version), 0)::int FROM app_user) AS v,
            (SELECT max(updated_at)::text FROM app_user) AS t, (SELECT count(*)::int FROM audit_event) AS e,
            (SELECT count(*)::int FROM identity.credential) AS c`,
  );
}

export interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** No 5xx; an error comes in the envelope of the format asked for. */
export function assertAnswer(res: Answer, wanted: 'json' | 'xml', what: string): void {
  assert.ok(res.statusCode < 500, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  if (res.statusCode < 400 || res.statusCode === 401 || res.body === '') return;
  const type = String(res.headers['content-type'] ?? '');
  if (wanted === 'json') {
    assert.match(type, /application\/json/, `${what}: ${type} ${res.body.slice(0, 200)}`);
    const body = JSON.parse(res.body) as { errorsExist?: boolean; errorList?: { error: { errorCode: string }[] } };
    assert.equal(body.errorsExist, true, what);
    assert.ok(body.errorList?.error[0]?.errorCode, what);
  } else {
    assert.match(type, /application\/xml/, `${what}: ${type} ${res.body.slice(0, 200)}`);
    assert.match(res.body, /^<\?xml[^>]*\?><web_service_result [^>]*><errorsExist>true<\/errorsExist><errorList><error><errorCode>[^<]+<\/errorCode>/, what);
  }
}
