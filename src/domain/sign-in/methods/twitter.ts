// X (Twitter) OAuth 2.0: authorization code with PKCE, the app authenticates with HTTP Basic at
// the token endpoint, then /2/users/me; the numeric user id is the subject (a handle can change
// hands, the id cannot), matched only on TWITTER_ID.
import { oauth2Method, textOf, verifiedFrom, type Provider } from './oauth2.js';

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

export default oauth2Method('twitter', twitter, 'TWITTER_ID');
