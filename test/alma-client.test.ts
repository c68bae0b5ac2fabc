// Ex Libris's own Node client for the Alma API (almarestapi-lib), pointed at Carrel: the
// create / find / update / delete cycle a library script runs, in JSON and in XML.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { jsonUser } from './helpers/alma.js';

interface AlmaLib {
  setOptions(apiKey: string, apiPath: string): void;
  getp(url: string): Promise<Record<string, unknown>>;
  postp(url: string, data: unknown): Promise<Record<string, unknown>>;
  putp(url: string, data: unknown): Promise<Record<string, unknown>>;
  deletep(url: string): Promise<unknown>;
  /** XML calls answer the document text. */
  getXmlp(url: string): Promise<string>;
  postXmlp(url: string, data: string): Promise<string>;
}

const alma = createRequire(import.meta.url)('almarestapi-lib') as AlmaLib;
let ctx: TestContext;

before(async () => {
  ctx = await createTestContext();
  const inst = await ctx.institution();
  const address = await ctx.server.listen({ port: 0, host: '127.0.0.1' });
  alma.setOptions(inst.key, `${address}/almaws/v1`);
});
after(() => ctx.close());

test('the JSON cycle: create, get by barcode, search, update, delete', async () => {
  const created = await alma.postp('/users', jsonUser('client01', {
    user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'CL-0001' }],
  }));
  assert.equal(created.primary_id, 'client01');

  const got = await alma.getp('/users/CL-0001');
  assert.equal(got.primary_id, 'client01');
  const found = await alma.getp('/users?q=primary_id~client01');
  assert.equal(found.total_record_count, 1);

  const updated = await alma.putp('/users/client01', { ...got, last_name: 'King' });
  assert.equal(updated.last_name, 'King');

  await alma.deletep('/users/client01');
  await assert.rejects(alma.getp('/users/client01'), /was not found.*\(401861\)/);
});

test('the XML cycle, and Alma errors surface as the library expects them', async () => {
  const xml = `<user><record_type>PUBLIC</record_type><primary_id>client02</primary_id><first_name>Grace</first_name>
    <last_name>Hopper</last_name><account_type>INTERNAL</account_type><user_group>COMMUNITY</user_group></user>`;
  const created = await alma.postXmlp('/users', xml);
  assert.match(created, /<primary_id>client02<\/primary_id>/);
  const doc = await alma.getXmlp('/users/client02');
  assert.match(doc, /^<\?xml[^>]*\?><user link="[^"]+\/almaws\/v1\/users\/client02">/);
  assert.match(doc, /<last_name>Hopper<\/last_name>/);
  // The library reads errorMessage from the namespaced XML envelope.
  await assert.rejects(alma.getXmlp('/users/nobody'), /User with identifier nobody was not found/);
  await assert.rejects(alma.postXmlp('/users', xml), /already exists/);
});
