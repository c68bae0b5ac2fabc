// X (Twitter) OAuth 2.0: authorization code with PKCE, the app authenticates with HTTP Basic at
// the token endpoint, then /2/users/me; the numeric user id is the subject (a handle can change
// hands, the id cannot), matched only on TWITTER_ID.
import type { Static } from 'typebox';
import { defineMethod } from '../method.js';
import { checkEndpoints, finishOauth2, oauth2Config, startOauth2, textOf, verifiedFrom, type Oauth2Settings, type Provider } from './oauth2.js';

export const twitter: Provider = {
  name: 'X',
  defaults: {
    authorization_endpoint: 'https://x.com/i/oauth2/authorize',
    token_endpoint: 'https://api.x.com/2/oauth2/token',
    profile_endpoint: 'https://api.x.com/2/users/me',
    scope: 'users.read tweet.read',
  },
  pkce: true,
  clientAuth: 'basic',
  profileUrl: (base) => new URL(base),
  profile(body) {
    const data = body && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
    return verifiedFrom(this, textOf(data, 'id'), { username: textOf(data, 'username'), name: textOf(data, 'name') });
  },
};

const Config = oauth2Config();

export default defineMethod({
  type: 'twitter',
  kind: 'redirect',
  config: Config,
  secrets: ['client_secret'],
  match: 'TWITTER_ID',
  check: (c: Static<typeof Config>) => checkEndpoints(c as Oauth2Settings),
  start: (ctx, flowId) => startOauth2(twitter, ctx as never, flowId),
  finish: (ctx, callback, flow) => finishOauth2(twitter, ctx as never, callback, flow),
});
