// Fuzzing the Alma Users API through server.inject: user bodies (JSON and XML, POST and PUT)
// mutated from a valid one, user ids in paths, and query parameters. Every answer is below 500,
// errors come in the envelope of the format asked for, and an error leaves the database as it was.
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { Json } from '../../src/alma/json-values.js';
import { toXmlDocument } from '../../src/alma/xml-codec.js';
import { USER_XML_SHAPE } from '../../src/alma/user-xml.js';
import { createTestContext, type TestContext } from '../helpers/app.js';
import { jsonUser } from '../helpers/alma.js';
import { CHEAP_ARGON2 } from '../helpers/identity.js';
import { assertAnswer, fingerprint, jsonHoldsUnsafeText, hostileDate, hostileNumber, hostileString, mutatedJson, mutatedText, params, pathEncode, rawSegment, type Answer } from './fuzz-helpers.js';

let ctx: TestContext;
let key: string;

/** A valid user with every kind of segment, the seed of every body mutation. */
const VALID = jsonUser('fuzz-seed', {
  account_type: { value: 'EXTERNAL' },
  external_id: 'SIS',
  birth_date: '1990-05-17',
  expiry_date: '2030-01-16Z',
  job_description: 'Reader',
  contact_info: {
    address: [{ line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: { value: 'USA' }, address_type: [{ value: 'home' }], preferred: true }],
    email: [{ email_address: 'ada@example.org', email_type: [{ value: 'personal' }], preferred: true }],
    phone: [{ phone_number: '+1 555 0100', phone_type: [{ value: 'home' }], preferred: true }],
  },
  user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'FZ-0001', status: 'ACTIVE' }],
  user_note: [{ note_type: { value: 'OTHER' }, note_text: 'A note', user_viewable: true }],
  user_statistic: [{ statistic_category: { value: 'Graduate' } }],
  user_block: [{ block_type: { value: 'GENERAL' }, block_description: { value: 'LOST_ITEM' }, block_status: 'ACTIVE' }],
});
const VALID_XML = toXmlDocument('user', VALID as Json, USER_XML_SHAPE);

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
  ({ key } = await ctx.institution());
  const res = await send('POST', '/almaws/v1/users', 'json', 'application/json', JSON.stringify(jsonUser('holder', { password: 'Quiet-Mountain-Lamp-93' })));
  if (res.statusCode !== 200) throw new Error(res.body);
});
after(() => ctx.close());

function send(method: string, url: string, wanted: 'json' | 'xml', contentType?: string, payload?: string | Buffer): Promise<Answer> {
  return ctx.server.inject({
    method: method as 'POST',
    url,
    headers: { authorization: `apikey ${key}`, accept: `application/${wanted}`, ...(contentType ? { 'content-type': contentType } : {}) },
    ...(payload === undefined ? {} : { payload }),
  }) as Promise<Answer>;
}

/** One request: its answer is well-formed, and when it is an error, nothing changed. */
async function check(method: string, url: string, wanted: 'json' | 'xml', contentType?: string, payload?: string | Buffer, failedLoginWrites = false, mustRefuse = false) {
  const before = await fingerprint(ctx.app);
  const res = await send(method, url, wanted, contentType, payload);
  const what = `${method} ${url.slice(0, 200)} ${String(payload ?? '').slice(0, 200)}`;
  assertAnswer(res, wanted, what);
  // NUL and lone surrogates are refused, never stored as something else (U+FFFD).
  if (mustRefuse && res.statusCode < 400) throw new Error(`${what}: accepted (${res.statusCode}) a value with NUL or a lone surrogate`);
  if (res.statusCode >= 400 && !failedLoginWrites) {
    const now = await fingerprint(ctx.app);
    if (JSON.stringify(now) !== JSON.stringify(before)) throw new Error(`${what}: an error (${res.statusCode}) changed the database`);
  }
}

const wanted = fc.constantFrom<'json' | 'xml'>('json', 'xml');
const target = fc.constantFrom(['POST', '/almaws/v1/users'], ['PUT', '/almaws/v1/users/holder']);

test('JSON user bodies with hostile values, POST and PUT', async () => {
  await fc.assert(
    // As text: fast-check cannot print a 3,000-deep counterexample object.
    fc.asyncProperty(target, wanted, mutatedJson(VALID).map((v) => JSON.stringify(v)), async ([method, url], w, body) => {
      await check(method!, url!, w, 'application/json', body, false, jsonHoldsUnsafeText(body));
    }),
    params(600),
  );
});

test('JSON user bodies truncated, with flipped bytes or inserted text', async () => {
  await fc.assert(
    fc.asyncProperty(target, wanted, mutatedText(JSON.stringify(VALID)), async ([method, url], w, body) => {
      await check(method!, url!, w, 'application/json', body);
    }),
    params(400),
  );
});

test('XML user bodies with hostile values, and damaged XML', async () => {
  const fromJson = mutatedJson(VALID).map((v) => {
    try {
      return Buffer.from(toXmlDocument('user', v as Json, USER_XML_SHAPE));
    } catch {
      return Buffer.from(VALID_XML);
    }
  });
  await fc.assert(
    fc.asyncProperty(target, wanted, fc.oneof(fromJson, mutatedText(VALID_XML)), async ([method, url], w, body) => {
      await check(method!, url!, w, 'application/xml', body);
    }),
    params(400),
  );
});

test('user ids in paths: GET, PUT, DELETE and op=auth', async () => {
  const id = fc.oneof(hostileString.filter((s) => s.length > 0).map(pathEncode), rawSegment);
  const op = fc.constantFrom('GET', 'PUT', 'DELETE', 'AUTH');
  await fc.assert(
    fc.asyncProperty(op, id, wanted, async (o, encoded, w) => {
      const url = `/almaws/v1/users/${encoded}`;
      if (o === 'AUTH') return check('POST', `${url}?op=auth&password=x`, w, undefined, undefined, true);
      if (o === 'PUT') return check('PUT', url, w, 'application/json', JSON.stringify(VALID));
      return check(o, url, w);
    }),
    params(500),
  );
});

test('query parameters of the search and of a user read', async () => {
  const text = fc.oneof(hostileString, fc.constantFrom('last_name', 'full', 'brief', 'BARCODE', 'json', 'xml', 'last_name~a*', 'primary_id~holder AND last_name~x', 'birth_date~2026-02-30'));
  const query = fc.record(
    {
      q: text,
      limit: hostileNumber,
      offset: hostileNumber,
      order_by: text,
      modify_date_from: hostileDate,
      expand: text,
      view: text,
      user_id_type: text,
      format: text,
    },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('/almaws/v1/users', '/almaws/v1/users/holder'), query, wanted, async (path, all, w) => {
      // One or two parameters at a time: with more, the first refusal hides what the others would reach.
      // (A lone surrogate cannot be %-encoded as UTF-8: a value holding one stays undecoded, as
      // written, %00 included; so only a NUL in an otherwise well-formed value must be refused.)
      const q: Record<string, string> = Object.fromEntries(Object.entries(all).slice(0, 2));
      const qs = Object.entries(q).map(([k, v]) => `${k}=${pathEncode(v)}`).join('&');
      await check('GET', `${path}?${qs}`, q.format === 'json' || q.format === 'xml' ? q.format : w, undefined, undefined, false, Object.values(q).some((v) => v.includes('\u0000') && !/[\ud800-\udfff]/.test(v)));
    }),
    params(600),
  );
});

test("Carrel's own API: numeric, date and text query parameters", async () => {
  const routes = fc.constantFrom(
    '/api/v1/jobs',
    '/api/v1/jobs/00000000-0000-0000-0000-000000000000/changes',
    '/api/v1/jobs/not-a-uuid/changes',
    '/api/v1/reports/users-without-password',
    '/api/v1/mail-outbox',
    '/api/v1/users/holder/manual-edits',
    '/api/v1/users/holder/sessions',
  );
  const query = fc.record(
    { limit: hostileNumber, offset: hostileNumber, after: hostileNumber, status: hostileString, kind: hostileString, since: hostileDate },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(routes, query, wanted, async (path, all, w) => {
      const q = Object.entries(all).slice(0, 2);
      await check('GET', `${path}?${q.map(([k, v]) => `${k}=${pathEncode(v)}`).join('&')}`, w);
    }),
    params(300),
  );
});
