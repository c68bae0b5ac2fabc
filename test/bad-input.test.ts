// Bad input of every kind gets a clear Alma error in the format asked for, and writes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';

let ctx: TestContext;
let api: ReturnType<typeof client>;
let key: string;

before(async () => {
  ctx = await createTestContext();
  key = (await ctx.institution()).key;
  api = client(ctx.server, key);
});
after(() => ctx.close());

async function userCount() {
  return (await api.get('/users?limit=0')).json().total_record_count as number;
}

test('malformed JSON is 401676 naming JSON', async () => {
  for (const body of ['{"primary_id": ', '{"a":1}}', 'nul', '']) {
    const err = almaError(await api.post('/users', body));
    assert.equal(err.status, 400);
    assert.equal(err.code, '401676', body);
    assert.match(err.message, /JSON/);
  }
  assert.equal(await userCount(), 0);
});

test('a JSON body that is not a user object is refused', async () => {
  for (const body of ['[]', '"user"', '42', 'null', '[{"primary_id":"x"}]']) {
    const res = await api.post('/users', body);
    assert.equal(res.statusCode, 400, body);
  }
  assert.equal(await userCount(), 0);
});

test('malformed XML, DOCTYPEs, entity bombs and deep nesting are 401676 in XML', async () => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
    <user><primary_id>&lol2;</primary_id></user>`;
  const xxe = `<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]><user><primary_id>&x;</primary_id></user>`;
  const deep = `<user><notes>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</notes></user>`;
  for (const body of ['<user><primary_id>x</user>', '<user>', 'not xml at all', bomb, xxe, deep]) {
    const res = await api.post('/users', body, { 'content-type': 'application/xml', accept: 'application/xml' });
    assert.equal(res.statusCode, 400, body.slice(0, 60));
    assert.match(res.body, /<errorCode>401676<\/errorCode>/, body.slice(0, 60));
    assert.doesNotMatch(res.body, /root:/);
  }
  assert.equal(await userCount(), 0);
});

test('wrong types name the field', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [jsonUser('t1', { first_name: { nested: true } }), /first_name/],
    [jsonUser('t1', { primary_id: ['a', 'b'] }), /primary_id/],
    [jsonUser('t1', { user_identifier: 'BARCODE' }), /user_identifier/],
    [jsonUser('t1', { contact_info: { email: [{ email_address: 7 }] } }), /email_address/],
  ];
  for (const [body, field] of cases) {
    const err = almaError(await api.post('/users', body));
    assert.equal(err.status, 400);
    assert.match(err.message, field, err.message);
  }
  assert.equal(await userCount(), 0);
});

test('an oversized body is 413, an unknown content type 415', async () => {
  const huge = JSON.stringify(jsonUser('big', { job_description: 'x'.repeat(2 * 1024 * 1024) }));
  const big = await api.post('/users', huge);
  assert.equal(big.statusCode, 413);
  assert.equal(almaError(big).code, 'CARREL_BODY_TOO_LARGE');
  const text = await api.post('/users', 'primary_id=x', { 'content-type': 'text/plain' });
  assert.equal(text.statusCode, 415);
  const form = await api.post('/users', 'primary_id=x', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(form.statusCode, 415);
  assert.equal(await userCount(), 0);
});

test('hostile strings: control characters and over-long values are refused; odd but valid ids work', async () => {
  for (const body of [
    jsonUser('nul\u0000id'),
    jsonUser('ok', { last_name: 'Bell\u0007' }),
    jsonUser('ok', { first_name: 'Two\nLines' }),
    jsonUser('x'.repeat(256)),
  ]) {
    const err = almaError(await api.post('/users', body));
    assert.equal(err.code, '401864', err.message);
  }
  assert.equal(await userCount(), 0);

  for (const id of ["o'brien", 'we ird', 'ünïcødé', 'a/b', '<script>', '%41', 'semi;colon']) {
    const res = await api.post('/users', jsonUser(id));
    assert.equal(res.statusCode, 200, `${id}: ${res.body}`);
    const got = await api.get(`/users/${encodeURIComponent(id)}`);
    assert.equal(got.statusCode, 200, id);
    assert.equal(got.json().primary_id, id.normalize('NFC'));
    const xml = await api.get(`/users/${encodeURIComponent(id)}`, { accept: 'application/xml' });
    assert.doesNotMatch(xml.body, /<script>/);
  }
});

test('a write that fails half-way leaves no trace (the transaction is rolled back whole)', async () => {
  await api.post('/users', jsonUser('holder', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'TAKEN' }] }));
  const before = await userCount();
  const events = await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM audit_event');
  const res = await api.post('/users', jsonUser('newbie', {
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: 'FREE-1' }, { id_type: { value: 'BARCODE' }, value: 'taken' }],
  }));
  assert.equal(almaError(res).code, '401851');
  assert.equal(await userCount(), before);
  assert.equal((await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM audit_event')).n, events.n);
  assert.equal(almaError(await api.get('/users/FREE-1')).code, '401861');
});

test('unknown routes and methods answer an Alma envelope, not an HTML page', async () => {
  const res = await api.get('/nothing-here');
  assert.equal(res.statusCode, 404);
  assert.equal(almaError(res).code, 'CARREL_NOT_FOUND');
  const badIfMatch = await api.put('/users/holder', jsonUser('holder'), { 'if-match': 'garbage' });
  assert.equal(almaError(badIfMatch).code, '402119');
});

test('secrets in the URL never reach the log line', async () => {
  const { redactUrl } = await import('../src/http/server.js');
  assert.equal(redactUrl(`/almaws/v1/users/x?apikey=${key}&password=hunter2&format=json`), '/almaws/v1/users/x?apikey=[redacted]&password=[redacted]&format=json');
});
