// The e-mail-link method: the login page asks for a user name, card number or e-mail address and
// mails a single-use link (token kind 'email_login', src/domain/identity/links.ts) that signs in
// once. The answer is the same whether or not the account exists. The work is the sign-in
// service's (./../sign-in.ts: requestEmailLink, finishEmailLink): this module holds the settings.
import { Type } from 'typebox';
import { defineMethod } from '../method.js';

export const emailLink = defineMethod({
  type: 'email-link',
  kind: 'link',
  config: Type.Object(
    {
      /** Also find the account by its e-mail address (not only by an identifier). Default true. */
      by_email: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  secrets: [],
});
