// Named users against the network's licence (issue 10, scope 4): the live count, the warning and
// the refusal on the one write path (API and SIS alike), the crossing mails (received by a real
// SMTP server), the daily history, the report with last sign-in, isolation and permissions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { almaXml, campusUser, primaryIdOf, univId } from './helpers/campus-file.js';
import { CHEAP_ARGON2, errorCode, staffUser, startSmtpCatcher, testClock, type SmtpCatcher } from './helpers/identity.js';
import { api, parseCsvLine, runQueue } from './helpers/sis.js';

type Inst = Awaited<ReturnType<TestContext['institution']>>;

let ctx: TestContext;
let smtp: SmtpCatcher;
const clock = testClock();
const lines: { level: string; msg: string; detail: Record<string, unknown> }[] = [];
const PASSWORD = 'Named user 2026 password';
const system = { kind: 'system' as const, label: 't' };

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({
    config: { ...CHEAP_ARGON2, smtpUrl: smtp.url },
    clock: clock.fn,
    log: (level, msg, detail) => void lines.push({ level, msg, detail }),
  });
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

/** A network: its zone and one member, with these network settings. */
async function network(settings: Record<string, unknown>): Promise<{ zone: Inst; member: Inst }> {
  const zone = await ctx.institution({ networkZone: true });
  const member = await ctx.institution({ network: zone.code });
  await ctx.app.services.institutions.updateNetworkSettings(zone.code, settings);
  return { zone, member };
}

const named = (inst: Inst, id: string, extra: Record<string, unknown> = {}) =>
  staffUser(id, { password: PASSWORD, user_role: [role('50', inst.code)], ...extra });
const create = (inst: Inst, body: Record<string, unknown>) => client(ctx.server, inst.key).post('/users', body);
const get = (key: string, url: string) => ctx.server.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `apikey ${key}` } });
const report = async (inst: Inst) => {
  const res = await get(inst.key, '/named-users');
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
};
const mailsTo = async (address: string) => {
  await ctx.app.services.mail.deliverPendingMail();
  return smtp.messages.filter((m) => smtp.envelopes[smtp.messages.indexOf(m)]!.to.includes(address));
};

test("the issue's case: a licence of 2 with 5 named users warns, logs, audits and mails the office once", async () => {
  const office = 'office-a@consortium.example.org';
  const { zone, member } = await network({ namedUserLicense: 2, namedUserNotify: [office] });
  for (let i = 1; i <= 5; i++) assert.equal((await create(member, named(member, `staff_a${i}`))).statusCode, 200);
  // Not named: no role, a patron role, an inactive user with a named role, an expired named role.
  assert.equal((await create(member, staffUser('plain_a'))).statusCode, 200);
  assert.equal((await create(member, staffUser('patron_a', { user_role: [role('200', member.code)] }))).statusCode, 200);
  assert.equal((await create(member, named(member, 'gone_a', { status: { value: 'INACTIVE' } }))).statusCode, 200);
  assert.equal((await create(member, staffUser('lapsed_a', { user_role: [role('50', member.code, { expiry_date: '2020-01-01Z' })] }))).statusCode, 200);

  const r = await report(member);
  assert.deepEqual(r.network, { code: zone.code, name: `Test ${zone.code}`, count: 5, licence: 2, warn_line: 2, at_limit: 'warn', state: 'over' });
  assert.deepEqual(r.institution, { code: member.code, name: `Test ${member.code}`, count: 5 });

  const warned = lines.filter((l) => l.level === 'warn' && /named-user licence exceeded/.test(l.msg) && l.detail.network === zone.code);
  assert.equal(warned.length, 3, 'one warning line for each named user past the licence');
  assert.deepEqual(warned.map((l) => l.detail.count), [3, 4, 5]);
  const audited = await ctx.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'named_user.licence_exceeded' AND entity_label = $1`, [zone.code]);
  assert.equal(audited[0]!.n, 3);

  const mails = await mailsTo(office);
  assert.equal(mails.length, 1, 'the crossing is mailed once, not per write');
  assert.match(mails[0]!.subject ?? '', /Named-user licence reached: 2 of 2/);
  assert.match(mails[0]!.text ?? '', /still accepted/);
});

test('refuse mode: the 3rd named user is refused through the API, a non-named one still goes in, existing ones keep working', async () => {
  const { member } = await network({ namedUserLicense: 2, namedUserAtLimit: 'refuse' });
  for (const id of ['staff_b1', 'staff_b2']) assert.equal((await create(member, named(member, id))).statusCode, 200);
  const refused = await create(member, named(member, 'staff_b3'));
  assert.equal(refused.statusCode, 400);
  assert.equal(errorCode(refused), 'CARREL_NAMED_USER_LIMIT');
  assert.match(refused.body, /licence is reached \(2 of 2\): user staff_b3 cannot become a named user/);
  assert.equal((await client(ctx.server, member.key).get('/users/staff_b3')).statusCode, 400, 'nothing was written');
  assert.ok(lines.some((l) => /new named users refused/.test(l.msg) && (l.detail.refused as string[]).includes('staff_b3')));

  assert.equal((await create(member, staffUser('plain_b'))).statusCode, 200, 'a user without a named role goes in');
  // Adding a named role to an existing user is a new named user too.
  const plain = (await client(ctx.server, member.key).get('/users/plain_b')).json();
  const promote = await client(ctx.server, member.key).put('/users/plain_b', { ...plain, user_role: [role('21', member.code)] });
  assert.equal(errorCode(promote), 'CARREL_NAMED_USER_LIMIT');
  // An existing named user is updated as before.
  const b1 = (await client(ctx.server, member.key).get('/users/staff_b1')).json();
  assert.equal((await client(ctx.server, member.key).put('/users/staff_b1', { ...b1, last_name: 'Lovelace' })).statusCode, 200);
  // Freeing a place (deactivating one) lets the next in.
  const b2 = (await client(ctx.server, member.key).get('/users/staff_b2')).json();
  assert.equal((await client(ctx.server, member.key).put('/users/staff_b2', { ...b2, status: { value: 'INACTIVE' } })).statusCode, 200);
  assert.equal((await create(member, named(member, 'staff_b3'))).statusCode, 200);
  // ... and reactivating the one deactivated is refused now.
  const b2again = (await client(ctx.server, member.key).get('/users/staff_b2')).json();
  assert.equal(errorCode(await client(ctx.server, member.key).put('/users/staff_b2', { ...b2again, status: { value: 'ACTIVE' } })), 'CARREL_NAMED_USER_LIMIT');
  assert.equal((await report(member)).network.state, 'at_limit');
});

test('refuse mode under concurrency: of three writers racing for the last place, one gets it', async () => {
  const { member } = await network({ namedUserLicense: 2, namedUserAtLimit: 'refuse' });
  assert.equal((await create(member, named(member, 'race_0'))).statusCode, 200);
  const results = await Promise.all(['race_1', 'race_2', 'race_3'].map((id) => create(member, named(member, id))));
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400, 400]);
  assert.equal((await report(member)).network.count, 2);
});

test('refuse mode through an SIS load: a reactivation past the licence fails its record, a new patron goes in', async () => {
  const { member } = await network({ namedUserLicense: 1, namedUserAtLimit: 'refuse' });
  const a = api(ctx.server, member.key);
  assert.equal((await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' })).status, 201);
  assert.equal((await create(member, named(member, 'holder'))).statusCode, 200);
  // A campus user of the profile who holds a named role, inactive: the file reactivates it.
  const sleeper = await create(member, {
    ...named(member, primaryIdOf(900)),
    account_type: { value: 'EXTERNAL' },
    external_id: 'CAMPUS',
    record_type: { value: 'PUBLIC' },
    user_group: { value: 'STAFF' },
    status: { value: 'INACTIVE' },
    password: undefined,
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: univId(900), segment_type: 'External' }],
  });
  assert.equal(sleeper.statusCode, 200, sleeper.body);
  const up = await a.upload('CAMPUS', almaXml([campusUser(900), campusUser(901)]), 'application/xml');
  assert.equal(up.status, 202, JSON.stringify(up.body));
  await runQueue(ctx.app);
  const job = await a.job(up.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  assert.deepEqual([job.result.created, job.result.updated, job.result.failed], [1, 0, 1]);
  const report = await a.errorsCsv(up.body.id);
  const row = report.find((r) => r.includes(univId(900)));
  assert.ok(row && row.some((c) => /named-user licence is reached/.test(c)), JSON.stringify(report));
  assert.equal((await a.almaUser(primaryIdOf(900))).status.value, 'INACTIVE');
  assert.ok(await a.almaUser(primaryIdOf(901)), 'the patron of the same batch went in');
});

test('the warning line and the licence are each mailed once per crossing, and again after the count went back down', async () => {
  const office = 'office-c@consortium.example.org';
  const { zone, member } = await network({ namedUserLicense: 4, namedUserWarnPercent: 50, namedUserNotify: [office] });
  const subjects = async () => (await mailsTo(office)).map((m) => (m.subject ?? '').replace(/ ·.*/, ''));
  for (const id of ['c1', 'c2', 'c3']) assert.equal((await create(member, named(member, id))).statusCode, 200);
  assert.deepEqual(await subjects(), ['Named users near the licence: 2 of 4']);
  assert.equal((await report(zone)).network.state, 'warning');
  for (const id of ['c4', 'c5']) assert.equal((await create(member, named(member, id))).statusCode, 200);
  assert.deepEqual(await subjects(), ['Named users near the licence: 2 of 4', 'Named-user licence reached: 4 of 4']);
  // Deletions lower the count without the licence hearing of it; the daily snapshot re-arms.
  for (const id of ['c5', 'c4', 'c3']) assert.equal((await client(ctx.server, member.key).delete(`/users/${id}`)).statusCode, 204);
  await ctx.app.services.namedUsers.snapshot(system);
  assert.equal((await report(zone)).network.state, 'warning');
  assert.equal((await subjects()).length, 2, 'going down mails nothing');
  for (const id of ['c6', 'c7']) assert.equal((await create(member, named(member, id))).statusCode, 200);
  assert.deepEqual((await subjects()).at(-1), 'Named-user licence reached: 4 of 4', 'the next crossing is mailed again');
  assert.equal((await subjects()).length, 3);
  const levels = await ctx.app.db.query<{ changes: { level: { before: string; after: string } } }>(
    `SELECT changes FROM audit_event WHERE action = 'named_user.licence_level' AND entity_label = $1 ORDER BY id`, [zone.code]);
  assert.deepEqual(levels.map((e) => `${e.changes.level.before}>${e.changes.level.after}`), ['ok>warning', 'warning>limit', 'limit>warning', 'warning>limit']);
});

describe('history', () => {
  test('one row per institution and day, however often taken; the worker takes it once a day', async () => {
    const { zone, member } = await network({ namedUserLicense: 10 });
    assert.equal((await create(member, named(member, 'h1'))).statusCode, 200);
    const post = () => ctx.server.inject({ method: 'POST', url: '/api/v1/named-users/history', headers: { authorization: `apikey ${member.key}` } });
    assert.equal((await post()).json().count, 1);
    assert.equal((await create(member, named(member, 'h2'))).statusCode, 200);
    assert.equal((await post()).json().count, 2);
    const rows = await ctx.app.db.query<{ n: number; count: number }>('SELECT count(*)::int AS n, max(count) AS count FROM named_user_count WHERE institution_id = $1', [member.id]);
    assert.deepEqual(rows[0], { n: 1, count: 2 }, 'the second snapshot of the day replaced the first');

    // The next day: the idle hook takes one, then not again that day.
    clock.advance(86_400_000);
    assert.equal((await create(member, named(member, 'h3'))).statusCode, 200);
    assert.equal(await ctx.app.services.namedUsers.snapshotDue(), true);
    assert.equal(await ctx.app.services.namedUsers.snapshotDue(), false);
    clock.advance(120_000);
    assert.equal(await ctx.app.services.namedUsers.snapshotDue(), false, 'done for the day');
    const days = (await get(member.key, '/named-users/history?days=90')).json().days;
    assert.deepEqual(days.map((d: { count: number; network_count: number }) => [d.count, d.network_count]), [[3, 3], [2, 2]]);
    assert.equal((await get(zone.key, '/named-users/history?days=1')).json().days.length, 1);
    assert.equal((await get(member.key, '/named-users/history?days=0')).statusCode, 400);
  });
});

test('the users report: each named user with named roles and last sign-in, filtered by role, and as CSV', async () => {
  const { member } = await network({ namedUserLicense: 10 });
  assert.equal((await create(member, named(member, 'r_admin', { last_name: 'Adams' }))).statusCode, 200);
  assert.equal((await create(member, staffUser('r_desk', { first_name: '=cmd', last_name: 'Baker', user_role: [role('32', member.code), role('21', member.code), role('200', member.code)] }))).statusCode, 200);
  assert.equal((await create(member, staffUser('r_patron', { user_role: [role('200', member.code)] }))).statusCode, 200);
  assert.equal((await browser(ctx.server, member.code).signIn('r_admin', PASSWORD)).statusCode, 303);

  const all = (await get(member.key, '/named-users/users')).json();
  assert.equal(all.total_record_count, 2);
  assert.deepEqual(all.users.map((u: { primary_id: string; named_roles: string[] }) => [u.primary_id, u.named_roles]), [['r_admin', ['50']], ['r_desk', ['21', '32']]]);
  assert.ok(all.users[0].last_sign_in && Math.abs(Date.parse(all.users[0].last_sign_in) - Date.now()) < 60_000);
  assert.equal(all.users[1].last_sign_in, null);
  // By role: a user holding two named roles is under each; the patron role is none of them.
  assert.equal((await create(member, named(member, 'r_admin2'))).statusCode, 200);
  assert.deepEqual((await report(member)).roles, [{ role_type: '50', count: 2 }, { role_type: '21', count: 1 }, { role_type: '32', count: 1 }]);
  assert.equal((await client(ctx.server, member.key).delete('/users/r_admin2')).statusCode, 204);
  const desk = (await get(member.key, '/named-users/users?role=32')).json();
  assert.deepEqual(desk.users.map((u: { primary_id: string }) => u.primary_id), ['r_desk']);
  const page2 = (await get(member.key, '/named-users/users?limit=1&offset=1')).json();
  assert.deepEqual([page2.total_record_count, page2.users[0].primary_id], [2, 'r_desk']);
  assert.equal((await get(member.key, '/named-users/users?limit=1&offset=5')).json().total_record_count, 2);

  const csv = await get(member.key, '/named-users/users.csv');
  assert.equal(csv.statusCode, 200);
  assert.match(String(csv.headers['content-type']), /text\/csv/);
  const rows = csv.body.trim().split('\n').map(parseCsvLine);
  assert.deepEqual(rows[0], ['primary_id', 'first_name', 'last_name', 'record_type', 'named_roles', 'last_sign_in']);
  assert.deepEqual(rows.slice(1).map((r) => [r[0], r[1], r[2], r[4]]), [['r_admin', 'Grace', 'Adams', '50'], ['r_desk', "'=cmd", 'Baker', '21 32']], 'a formula-like cell is neutralised');
});

test('isolation: a member sees its own count and the network total, the zone sees every member, other networks nothing', async () => {
  const one = await network({ namedUserLicense: 20 });
  const sibling = await ctx.institution({ network: one.zone.code });
  const other = await network({ namedUserLicense: 20 });
  assert.equal((await create(one.member, named(one.member, 'iso_1'))).statusCode, 200);
  assert.equal((await create(sibling, named(sibling, 'iso_2'))).statusCode, 200);
  assert.equal((await create(sibling, named(sibling, 'iso_3'))).statusCode, 200);
  assert.equal((await create(other.member, named(other.member, 'iso_x'))).statusCode, 200);

  const mine = await report(one.member);
  assert.equal(mine.network.count, 3);
  assert.deepEqual(mine.institutions.map((i: { code: string; count: number }) => [i.code, i.count]), [[one.member.code, 1]]);
  const office = await report(one.zone);
  assert.deepEqual(office.institutions.map((i: { code: string; count: number }) => [i.code, i.count]).sort(), [[one.member.code, 1], [one.zone.code, 0], [sibling.code, 2]].sort());
  assert.equal((await report(other.member)).network.count, 1);
  const theirs = (await get(other.member.key, '/named-users/users')).json();
  assert.deepEqual(theirs.users.map((u: { primary_id: string }) => u.primary_id), ['iso_x']);
  // The zone's list is its own institution's users: it names people.
  assert.equal((await get(one.zone.key, '/named-users/users')).json().total_record_count, 0);

  // Standalone: no network, no licence.
  const alone = await ctx.institution();
  assert.equal((await create(alone, named(alone, 'solo'))).statusCode, 200);
  const r = await report(alone);
  assert.equal(r.network, null);
  assert.equal(r.institution.count, 1);
});

test('permissions: user administrators and system administrators read the report; desk staff and read-only keys do not', async () => {
  const { member } = await network({ namedUserLicense: 10 });
  for (const [id, roleType] of [['p_admin', '50'], ['p_gsa', '26'], ['p_desk', '32']] as const) {
    assert.equal((await create(member, staffUser(id, { password: PASSWORD, user_role: [role(roleType, member.code)] }))).statusCode, 200);
  }
  for (const url of ['/named-users', '/named-users/history', '/named-users/users', '/named-users/users.csv']) {
    const ro = await get(member.readOnlyKey, url);
    assert.equal(errorCode(ro), 'UNAUTHORIZED', url);
  }
  for (const [id, ok] of [['p_admin', true], ['p_gsa', true], ['p_desk', false]] as const) {
    const b = browser(ctx.server, member.code);
    assert.equal((await b.signIn(id, PASSWORD)).statusCode, 303);
    const res = await b.api('GET', '/named-users/users');
    assert.equal(res.statusCode === 200, ok, `${id}: ${res.statusCode} ${res.body}`);
    if (ok) assert.equal(res.json().total_record_count, 3);
    assert.equal((await b.api('POST', '/named-users/history', {})).statusCode === 200, ok, id);
  }
  const anonymous = await ctx.server.inject({ method: 'GET', url: '/api/v1/named-users' });
  assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
});

test('settings: a bad warn percent, mode or address is refused and changes nothing', async () => {
  const { zone } = await network({ namedUserLicense: 10 });
  const svc = ctx.app.services.institutions;
  await assert.rejects(svc.updateNetworkSettings(zone.code, { namedUserWarnPercent: 0 }), /namedUserWarnPercent/);
  await assert.rejects(svc.updateNetworkSettings(zone.code, { namedUserAtLimit: 'block' as 'warn' }), /namedUserAtLimit/);
  await assert.rejects(svc.updateNetworkSettings(zone.code, { namedUserNotify: ['a@b.org\r\nBcc: c@d.org'] }), /e-mail/);
  await assert.rejects(svc.updateNetworkSettings(zone.code, { namedUserLicense: -1 }), /namedUserLicense/);
  assert.equal((await report(zone)).network.warn_line, 9);
  await svc.updateNetworkSettings(zone.code, { namedUserAtLimit: 'refuse', namedUserWarnPercent: 90 });
  const events = await ctx.app.db.query<{ changes: Record<string, unknown> }>(
    `SELECT changes FROM audit_event WHERE action = 'network.settings' AND entity_label = $1 ORDER BY id`, [zone.code]);
  assert.deepEqual(events.at(-1)!.changes, { namedUserAtLimit: { before: 'warn', after: 'refuse' } }, 'audited, only what changed');
  assert.equal(events.length, 2, 'the refused changes left no trace');
});

test('carrel named-users prints the counts (the overview the CLI prints)', async () => {
  const { zone, member } = await network({ namedUserLicense: 3 });
  assert.equal((await create(member, named(member, 'cli_1'))).statusCode, 200);
  const { networks, standalone } = await ctx.app.services.namedUsers.overview(system, member.code);
  assert.equal(standalone.length, 0);
  assert.deepEqual(networks.map((n) => [n.code, n.count, n.licence, n.state]), [[zone.code, 1, 3, 'ok']]);
  await assert.rejects(ctx.app.services.namedUsers.overview({ kind: 'apiKey', id: 'k', institutionId: member.id, readOnly: false, label: 'k' }), /API-key/);
});
