// The social login methods against real counterparts: Google as OIDC against oidc-provider (its
// issuer overridden), Facebook and X against a local OAuth 2 server of their shapes. Each is
// matched only on its identifier type; the attacks of OIDC apply to each (state, replay, denial).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import facebookMethod from '../src/domain/sign-in/methods/facebook.js';
import googleMethod from '../src/domain/sign-in/methods/google.js';
import twitterMethod from '../src/domain/sign-in/methods/twitter.js';
import { isRefusal, type RedirectMethod, type Verified } from '../src/domain/sign-in/method.js';
import { AppError } from '../src/errors.js';
import type { LoginMethodType } from '../src/model/login-method.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2 } from './helpers/identity.js';
import { methodContext } from './helpers/method-context.js';
import { browser } from './helpers/sign-in.js';
import { queryOf, startOp, walkToCallback, type TestOp } from './helpers/oidc-provider.js';
import { startSocialServer, type SocialServer } from './helpers/social-provider.js';

const cb = (code: string) => `http://carrel.test/auth/UNIV/login/${code}/callback`;
const GOOGLE = { client_id: 'carrel-google', client_secret: randomBytes(16).toString('hex'), redirect_uris: [cb('google')] };

describe('social login methods', { timeout: 60_000 }, () => {
  let op: TestOp;
  let social: SocialServer;

  before(async () => {
    op = await startOp([GOOGLE]);
    op.accounts.set('108234567890123456789', { email: 'patron@gmail.com', given_name: 'Pat', family_name: 'Ron' });
    op.nextAccount = '108234567890123456789';
    social = await startSocialServer([cb('facebook'), cb('twitter')]);
    social.nextAccount = { id: '10158000000000001', first_name: 'Pat', last_name: 'Ron', email: 'patron@example.com', username: 'patron' };
  });
  after(async () => {
    await op.close();
    await social.close();
  });

  const cases: { type: LoginMethodType; match: string; config: () => Record<string, unknown>; subject: () => string }[] = [
    { type: 'google', match: 'GOOGLE_ID', config: () => ({ client_id: GOOGLE.client_id, client_secret: GOOGLE.client_secret, issuer: op.issuer }), subject: () => '108234567890123456789' },
    { type: 'facebook', match: 'FACEBOOK_ID', config: () => ({ ...social.client, ...social.facebookEndpoints() }), subject: () => social.nextAccount!.id },
    { type: 'twitter', match: 'TWITTER_ID', config: () => ({ ...social.client, ...social.twitterEndpoints() }), subject: () => social.nextAccount!.id },
  ];
  const modules = { google: googleMethod, facebook: facebookMethod, twitter: twitterMethod } as unknown as Record<string, RedirectMethod<any>>;

  for (const t of cases) {
    const m = modules[t.type]!;
    const ctx = () => methodContext(t.type, t.config(), { code: t.type, match: t.match });
    async function roundTrip(c: ReturnType<typeof ctx>) {
      const started = await m.start(c, randomBytes(12).toString('base64url'));
      const back = await walkToCallback(started.redirect, c.urls.callback);
      return { flow: started.flow, query: queryOf(back) };
    }

    describe(t.type, () => {
      it(`signs in: the provider's account id is the subject, matched only on ${t.match}`, async () => {
        assert.equal(m.match, t.match);
        const c = ctx();
        const { flow, query } = await roundTrip(c);
        const r = await m.finish(c, { query, body: {} }, flow);
        assert.ok(!isRefusal(r), JSON.stringify(r));
        assert.equal((r as Verified).subject, t.subject());
      });

      it('refuses a wrong state', async () => {
        const c = ctx();
        const { flow, query } = await roundTrip(c);
        const r = await m.finish(c, { query: { ...query, state: 'not-this-flow' }, body: {} }, flow);
        assert.equal(isRefusal(r) && r.refused, 'state');
      });

      it('refuses a replayed code, here and at the provider', async () => {
        const c = ctx();
        const { flow, query } = await roundTrip(c);
        assert.ok(!isRefusal(await m.finish(c, { query, body: {} }, flow)));
        const again = await m.finish(c, { query, body: {} }, flow);
        assert.equal(isRefusal(again) && again.refused, 'replay');
        const atProvider = await m.finish({ ...c, firstUse: async () => true }, { query, body: {} }, flow);
        assert.ok(isRefusal(atProvider), 'the provider refuses a used code');
        assert.ok(['replay', 'idp_error'].includes(atProvider.refused), JSON.stringify(atProvider));
      });

      it('the person declining is a refusal (idp_error)', async () => {
        const saved = { op: op.nextAccount, social: social.nextAccount };
        op.nextAccount = null;
        social.nextAccount = null;
        try {
          const c = ctx();
          const { flow, query } = await roundTrip(c);
          const r = await m.finish(c, { query, body: {} }, flow);
          assert.equal(isRefusal(r) && r.refused, 'idp_error');
        } finally {
          op.nextAccount = saved.op;
          social.nextAccount = saved.social;
        }
      });

      it('create refuses an endpoint that is plain http away from this machine', () => {
        const key = t.type === 'google' ? 'issuer' : 'token_endpoint';
        assert.throws(() => m.check!({ ...t.config(), [key]: 'http://evil.example.com/x' }), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_METHOD_INVALID');
        assert.deepEqual(m.secrets, ['client_secret']);
      });
    });
  }

  it('X: a code redeemed without the flow\'s PKCE verifier is refused by the provider', async () => {
    const c = methodContext('twitter', { ...social.client, ...social.twitterEndpoints() }, { code: 'twitter' });
    const started = await (twitterMethod as unknown as RedirectMethod<any>).start(c, 'flow-x');
    assert.equal(new URL(started.redirect).searchParams.get('code_challenge_method'), 'S256');
    const back = await walkToCallback(started.redirect, c.urls.callback);
    const r = await (twitterMethod as unknown as RedirectMethod<any>).finish(c, { query: queryOf(back), body: {} }, { ...started.flow, verifier: 'x'.repeat(43) });
    assert.ok(isRefusal(r), JSON.stringify(r));
  });
});

// Facebook and X through Carrel's pages and database: matched on the stored social id only.
describe('social sign-in through the login pages', { timeout: 120_000 }, () => {
  let ctx: TestContext;
  let inst: { id: string; code: string; key: string };
  let social: SocialServer;
  const system = { kind: 'system', label: 'test' } as const;
  const auth = (path: string) => `/auth/${inst.code}${path}`;
  const callbackOf = (m: string) => `http://carrel.test${auth(`/login/${m}/callback`)}`;

  before(async () => {
    ctx = await createTestContext({ config: CHEAP_ARGON2 });
    inst = await ctx.institution();
    const res = await client(ctx.server, inst.key).post('/users', jsonUser('pat', {
      first_name: 'Pat', last_name: 'Reader',
      user_identifier: [
        { id_type: { value: 'FACEBOOK_ID' }, value: 'fb-42', segment_type: 'External' },
        { id_type: { value: 'TWITTER_ID' }, value: '4242', segment_type: 'External' },
      ],
    }));
    assert.equal(res.statusCode, 200, res.body);
    social = await startSocialServer([callbackOf('fb'), callbackOf('x')]);
    const lm = ctx.app.services.loginMethods;
    await lm.create(system, inst.id, { code: 'fb', type: 'facebook', label: 'Facebook', config: { ...social.client, ...social.facebookEndpoints() } });
    await lm.create(system, inst.id, { code: 'x', type: 'twitter', label: 'X', config: { ...social.client, ...social.twitterEndpoints() } });
  });
  after(async () => {
    await social?.close();
    await ctx?.close();
  });

  async function via(method: string) {
    const b = browser(ctx.server);
    const start = await b.get(auth(`/login/${method}`));
    assert.equal(start.statusCode, 303, start.body);
    const back = await walkToCallback(start.headers.location as string, callbackOf(method));
    return { b, res: await b.get(`${back.pathname}${back.search}`) };
  }

  for (const [method, id] of [['fb', 'fb-42'], ['x', '4242']] as const) {
    it(`${method}: the stored social id signs the user in; another account finds no user`, async () => {
      social.nextAccount = { id };
      const { b, res } = await via(method);
      assert.equal(res.statusCode, 303, res.body);
      assert.match((await b.get(auth('/account'))).body, /Pat Reader/);
      // The same numbers as a primary id or another type's value do not count.
      social.nextAccount = { id: 'pat' };
      assert.equal((await via(method)).res.statusCode, 403);
    });
  }
});
