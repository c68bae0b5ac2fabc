// Protected fields (issue 10, scope 5): an edit of a protected field by a staff session or by an
// API key is a manual edit, kept by the next SIS load until it is restored; an integration
// profile may say API keys' edits are not (apiKeyEditsAreManual: false), decided at load time on
// the mark's origin. The listing shows field, value, who and when; restore works for a staff
// session with its CSRF token and for a key with write access, not for a read-only key; another
// institution sees and restores nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Actor } from '../src/domain/access/actor.js';
import type { User, UserInput } from '../src/model/user.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { campusUser, jsonlOf, primaryIdOf } from './helpers/campus-file.js';
import { CHEAP_ARGON2, errorCode, staffUser } from './helpers/identity.js';
import { api, runQueue } from './helpers/sis.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let other: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Protected fields 2026 pass';
const CAMPUS = [1, 2, 3];
const LAX = [11, 12, 13];

const system: Actor = { kind: 'system', label: 'test' };
const userOf = (institutionId: string, i: number): Promise<User> => ctx.app.services.users.get(system, institutionId, primaryIdOf(i));

/** Loads users i of `ids` (variant v: another last name) through the profile; the job must succeed. */
async function load(key: string, profile: string, ids: number[], variant = 0) {
  const a = api(ctx.server, key);
  const up = await a.upload(profile, jsonlOf(ids.map((i) => campusUser(i, { variant, externalId: profile }))), 'application/x-ndjson');
  assert.equal(up.status, 202, JSON.stringify(up.body));
  await runQueue(ctx.app);
  const job = await a.job(up.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  return job;
}

/** Alma's PUT by an API key: the user as GET gives it, with `change` applied. */
async function putByKey(key: string, i: number, change: Record<string, unknown>, query = '') {
  const alma = client(ctx.server, key);
  const current = JSON.parse((await alma.get(`/users/${primaryIdOf(i)}`)).body);
  const res = await alma.put(`/users/${primaryIdOf(i)}${query}`, { ...current, ...change });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** A signed-in staff member (login page), its /api/v1 browser, and the actor its session is. */
async function signIn(institutionCode: string, primaryId: string) {
  const b = browser(ctx.server, institutionCode);
  assert.equal((await b.signIn(primaryId, PASSWORD)).statusCode, 303);
  const found = await ctx.app.services.browserSessions.apiActor(b.jar.get('carrel_session'));
  assert.ok(found && found !== 'must_change');
  return { b, actor: found.actor };
}

/** A staff session's edit (the user service, as the console's edit will call it; no HTTP route edits users yet). */
async function editByStaff(actor: Actor, i: number, change: Partial<UserInput>) {
  const u = await userOf(inst.id, i);
  await ctx.app.services.users.replace(actor, inst.id, primaryIdOf(i), { ...u, roles: undefined, ...change });
}

const editsOf = async (key: string, i: number) => {
  const res = await api(ctx.server, key).json('GET', `/users/${primaryIdOf(i)}/manual-edits`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.manual_edits as { field: string; value: unknown; edited_by: { type: string; label: string | null }; edited_at: string | null; kept_by_sis: boolean }[];
};

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
  inst = await ctx.institution();
  other = await ctx.institution();
  const staff: [string, string, typeof inst][] = [['admin1', '50', inst], ['desk1', '32', inst], ['otheradmin', '50', other]];
  for (const [id, roleType, where] of staff) {
    const res = await client(ctx.server, where.key).post('/users', staffUser(id, { password: PASSWORD, user_role: [role(roleType, where.code)] }));
    assert.equal(res.statusCode, 200, res.body);
  }
  const a = api(ctx.server, inst.key);
  assert.equal((await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'jsonl' })).status, 201);
  const lax = await a.createProfile({ code: 'LAX', match_by: 'UNIV_ID', mode: 'synchronize', format: 'jsonl', settings: { apiKeyEditsAreManual: false } });
  assert.equal(lax.status, 201, JSON.stringify(lax.body));
  // Another institution's profile of the same code does not keep API keys' edits; it decides nothing here.
  const theirs = await api(ctx.server, other.key).createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'jsonl', settings: { apiKeyEditsAreManual: false } });
  assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
  await load(inst.key, 'CAMPUS', CAMPUS);
  await load(inst.key, 'LAX', LAX);
});
after(() => ctx.close());

test('apiKeyEditsAreManual: true unless set, set through the API with validation, kept by a patch of another setting, audited', async () => {
  const a = api(ctx.server, inst.key);
  assert.equal((await a.json('GET', '/integration-profiles/CAMPUS')).body.settings.apiKeyEditsAreManual, true);
  assert.equal((await a.json('GET', '/integration-profiles/LAX')).body.settings.apiKeyEditsAreManual, false);

  for (const settings of [{ apiKeyEditsAreManual: 'no' }, { apiKeyEditsAreManual: { yes: 1 } }, { keepEverything: true }]) {
    const res = await a.json('PATCH', '/integration-profiles/LAX', { settings });
    assert.equal(res.status, 400, JSON.stringify(settings));
    // A wrong type is refused by the request schema (402119), an unknown setting by the domain (401864); both name it.
    assert.match(errorCode({ body: JSON.stringify(res.body) }), /^(402119|401864)$/);
    assert.match(res.body.errorList.error[0].errorMessage, /apiKeyEditsAreManual|keepEverything/);
  }
  const ro = await api(ctx.server, inst.readOnlyKey).json('PATCH', '/integration-profiles/LAX', { settings: { apiKeyEditsAreManual: true } });
  assert.equal(ro.status, 400);
  assert.equal(errorCode({ body: JSON.stringify(ro.body) }), 'UNAUTHORIZED');
  assert.equal((await a.json('GET', '/integration-profiles/LAX')).body.settings.apiKeyEditsAreManual, false, 'refusals changed nothing');

  const patched = await a.json('PATCH', '/integration-profiles/LAX', { settings: { settleSeconds: 5 } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.deepEqual(patched.body.settings, { settleSeconds: 5, apiKeyEditsAreManual: false });
  const row = await ctx.app.db.one<{ actor_type: string; changes: Record<string, { before: unknown; after: unknown }> }>(
    "SELECT actor_type, changes FROM audit_event WHERE action = 'integration_profile.update' AND entity_label = 'LAX' AND institution_id = $1 ORDER BY id DESC LIMIT 1",
    [inst.id],
  );
  assert.equal(row.actor_type, 'api_key');
  assert.deepEqual(row.changes, { settings: { before: { apiKeyEditsAreManual: false }, after: { settleSeconds: 5, apiKeyEditsAreManual: false } } });
  const created = await ctx.app.db.one<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_event WHERE action = 'integration_profile.create' AND institution_id = $1", [inst.id]);
  assert.equal(created.n, 2);
});

test("an API key's PUT of user_group is a manual edit: listed with who and when, kept by the next load", async () => {
  const t0 = Date.now();
  const put = await putByKey(inst.key, 1, { user_group: { value: 'FACULTY' } });
  assert.equal(put.user_group.value, 'FACULTY');
  const [mark, ...rest] = await editsOf(inst.key, 1);
  assert.deepEqual(rest, []);
  assert.deepEqual({ ...mark, edited_at: undefined }, {
    field: 'user_group', value: 'FACULTY', edited_by: { type: 'api_key', label: 'test' }, edited_at: undefined, kept_by_sis: true,
  });
  assert.ok(Date.parse(mark!.edited_at!) >= t0 - 1000 && Date.parse(mark!.edited_at!) <= Date.now());
  const audit = await ctx.app.db.one<{ context: Record<string, unknown> }>(
    "SELECT context FROM audit_event WHERE action = 'user.update' AND entity_label = $1 ORDER BY id DESC LIMIT 1", [primaryIdOf(1)]);
  assert.deepEqual(audit.context.manualEdits, ['user_group']);

  const job = await load(inst.key, 'CAMPUS', CAMPUS, 1);
  assert.equal(job.progress.updated, 3);
  const u1 = await userOf(inst.id, 1);
  assert.equal(u1.userGroup, 'FACULTY', "the API key's edit is kept (the other institution's CAMPUS profile decides nothing here)");
  assert.equal(u1.lastName, campusUser(1, { variant: 1 }).last_name, 'the rest follows the file');
  assert.deepEqual((await editsOf(inst.key, 1)).map((e) => e.field), ['user_group']);

  // The key may change the field again: its own mark does not hold against it (a staff mark would).
  assert.equal((await putByKey(inst.key, 1, { user_group: { value: 'STAFF' } })).user_group.value, 'STAFF');
});

test("with apiKeyEditsAreManual false the load sets the API key's edit from the file and drops the mark", async () => {
  await putByKey(inst.key, 11, { user_group: { value: 'FACULTY' } });
  const [mark] = await editsOf(inst.key, 11);
  assert.equal(mark!.edited_by.type, 'api_key');
  assert.equal(mark!.kept_by_sis, false, 'the listing says the next load will not keep it');

  await load(inst.key, 'LAX', LAX, 1);
  const u11 = await userOf(inst.id, 11);
  assert.equal(u11.userGroup, campusUser(11).user_group, 'overwritten by the file');
  assert.deepEqual(u11.manualEdits, []);
  assert.deepEqual(u11.manualEditOrigins, {});
});

test("a staff session's edit is kept, also by a profile that does not keep API keys' edits; a key's PUT does not overwrite it", async () => {
  const { b, actor } = await signIn(inst.code, 'admin1');
  assert.equal(actor.kind, 'staff');
  await editByStaff(actor, 12, { userGroup: 'FACULTY' });
  await editByStaff(actor, 2, { preferredLanguage: 'fr' });

  const res = await b.api('GET', `/users/${primaryIdOf(12)}/manual-edits`);
  assert.equal(res.statusCode, 200, res.body);
  const [mark] = res.json().manual_edits;
  assert.deepEqual({ ...mark, edited_at: undefined }, {
    field: 'user_group', value: 'FACULTY', edited_by: { type: 'staff', label: 'admin1' }, edited_at: undefined, kept_by_sis: true,
  });

  // Alma: a field edited by hand is not replaced by an API update (unless override names it).
  assert.equal((await putByKey(inst.key, 12, { user_group: { value: 'GRAD' } })).user_group.value, 'FACULTY');
  await load(inst.key, 'LAX', LAX, 2);
  await load(inst.key, 'CAMPUS', CAMPUS, 2);
  assert.equal((await userOf(inst.id, 12)).userGroup, 'FACULTY');
  assert.equal((await userOf(inst.id, 2)).preferredLanguage, 'fr');
  assert.equal((await userOf(inst.id, 1)).userGroup, 'STAFF', "the API key's edit still kept");
});

test('restore: a staff session with its CSRF token or a key with write access; the next load brings the SIS value back', async () => {
  const path = (i: number) => `/users/${primaryIdOf(i)}/manual-edits/restore`;
  const marksOf = async (i: number) => (await userOf(inst.id, i)).manualEdits;

  // Refused, and nothing changes: a read-only key, a desk operator, a session without its token, a field that is not protected.
  const ro = await api(ctx.server, inst.readOnlyKey).json('POST', path(1), { fields: ['user_group'] });
  assert.equal(ro.status, 400);
  assert.equal(errorCode({ body: JSON.stringify(ro.body) }), 'UNAUTHORIZED');
  const desk = (await signIn(inst.code, 'desk1')).b;
  const deskRes = await desk.api('POST', path(1), { fields: ['user_group'] });
  assert.equal(deskRes.statusCode, 400);
  assert.equal(errorCode(deskRes), 'UNAUTHORIZED');
  const { b } = await signIn(inst.code, 'admin1');
  const noToken = await b.api('POST', path(1), { fields: ['user_group'] }, { csrf: false });
  assert.equal(noToken.statusCode, 403);
  assert.equal(errorCode(noToken), 'CARREL_CSRF_TOKEN_INVALID');
  const notProtected = await api(ctx.server, inst.key).json('POST', path(1), { fields: ['last_name'] });
  assert.equal(notProtected.status, 400);
  assert.deepEqual(await marksOf(1), ['userGroup']);

  const version = (await userOf(inst.id, 1)).version;
  const restored = await b.api('POST', path(1), { fields: ['user_group'] });
  assert.equal(restored.statusCode, 200, restored.body);
  assert.deepEqual(restored.json().manual_edits, []);
  assert.equal(restored.json().version, version + 1);
  const audit = await ctx.app.db.one<{ actor_type: string; actor_label: string; context: { restored: Record<string, unknown>[] } }>(
    "SELECT actor_type, actor_label, context FROM audit_event WHERE action = 'user.restore_sis_fields' ORDER BY id DESC LIMIT 1");
  assert.equal(audit.actor_type, 'staff');
  assert.equal(audit.actor_label, 'admin1');
  assert.equal(audit.context.restored[0]!.field, 'user_group');
  assert.equal(audit.context.restored[0]!.actorType, 'api_key', 'the trail says whose edit was handed back');

  // A key with write access restores all of a user's marks (no fields named).
  const byKey = await api(ctx.server, inst.key).json('POST', path(2), {});
  assert.equal(byKey.status, 200, JSON.stringify(byKey.body));
  assert.deepEqual(byKey.body.manual_edits, []);

  await load(inst.key, 'CAMPUS', CAMPUS, 3);
  assert.equal((await userOf(inst.id, 1)).userGroup, campusUser(1).user_group, 'the SIS value is back');
  assert.equal((await userOf(inst.id, 2)).preferredLanguage, 'en');
  assert.equal((await userOf(inst.id, 12)).userGroup, 'FACULTY', 'what was not restored stays');
});

test("another institution's key or staff sees and restores nothing", async () => {
  await putByKey(inst.key, 3, { user_group: { value: 'FACULTY' } });
  const theirKey = api(ctx.server, other.key);
  for (const [method, url] of [['GET', `/users/${primaryIdOf(3)}/manual-edits`], ['POST', `/users/${primaryIdOf(3)}/manual-edits/restore`]] as const) {
    const res = await theirKey.json(method, url, method === 'POST' ? {} : undefined);
    assert.equal(res.status, 400, `${method} ${url}`);
    assert.equal(errorCode({ body: JSON.stringify(res.body) }), '401861');
    assert.doesNotMatch(JSON.stringify(res.body), /FACULTY/);
  }
  const { b } = await signIn(other.code, 'otheradmin');
  const res = await b.api('POST', `/users/${primaryIdOf(3)}/manual-edits/restore`, { fields: ['user_group'] });
  assert.equal(res.statusCode, 400);
  assert.equal(errorCode(res), '401861');
  assert.deepEqual((await userOf(inst.id, 3)).manualEdits, ['userGroup'], 'the mark is still there');
  // Their CAMPUS profile (apiKeyEditsAreManual false) loads their own users only.
  await load(other.key, 'CAMPUS', [3], 1);
  assert.equal((await userOf(inst.id, 3)).userGroup, 'FACULTY');
  assert.equal((await userOf(other.id, 3)).userGroup, campusUser(3).user_group);
});
