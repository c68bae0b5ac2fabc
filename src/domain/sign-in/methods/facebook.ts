// Facebook Login: OAuth 2 (no PKCE on the confidential web flow), then the Graph API's /me; the
// app-scoped user id is the subject, matched only on FACEBOOK_ID. Calls to the Graph API carry
// appsecret_proof (HMAC of the token with the app secret), as Facebook advises for server calls.
import { createHmac } from 'node:crypto';
import { oauth2Method, textOf, verifiedFrom, type Provider } from './oauth2.js';

const GRAPH = 'https://graph.facebook.com/v21.0';

export const facebook: Provider = {
  name: 'Facebook',
  defaults: {
    authorization_endpoint: 'https://www.facebook.com/v21.0/dialog/oauth',
    token_endpoint: `${GRAPH}/oauth/access_token`,
    profile_endpoint: `${GRAPH}/me`,
    scope: 'public_profile email',
  },
  pkce: false,
  clientAuth: 'post',
  profileUrl(base, accessToken, clientSecret) {
    const url = new URL(base);
    url.searchParams.set('fields', 'id,first_name,last_name,email');
    url.searchParams.set('appsecret_proof', createHmac('sha256', clientSecret).update(accessToken).digest('hex'));
    return url;
  },
  profile(body) {
    return verifiedFrom(this, textOf(body, 'id'), {
      first_name: textOf(body, 'first_name'),
      last_name: textOf(body, 'last_name'),
      email: textOf(body, 'email'),
    });
  },
};

export default oauth2Method('facebook', facebook, 'FACEBOOK_ID');
