// /auth/{institution}/social-invite?token=…: the page Alma's social-login invitation mail opens.
// It lists the institution's social methods; choosing one begins that method's flow with the
// invitation kept in it, and the method's own callback binds and signs in (sign-in.ts). Nothing
// is used until the provider has verified the person: the link survives a change of mind.
// Registered inside loginPages (same CSRF, form parsing and error page).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { App } from '../../app.js';
import { FLOW_MINUTES } from '../../domain/sign-in/sign-in.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import { readSession, setFlow } from '../session-cookie.js';
import { html, message } from './html.js';
import { authBase as base, csrfField, showPage as show } from './page-kit.js';

interface Params {
  institution: string;
}
type Form = Record<string, string | undefined>;

export function socialInvitePages(app: App) {
  const { institutions, identity, signIn, socialInvites } = app.services;

  function invalid(reply: FastifyReply, i: Institution) {
    return show(reply, i, 'Invitation not valid', html`${message('error', 'This invitation has expired or was already used. Please contact the library for a new one.')}
<p class="links"><a href="${base(i)}/login">Sign in</a></p>`, 400);
  }

  /** The invitation's id, or undefined when the link is not (or no longer) valid. */
  async function live(i: Institution, token: unknown) {
    try {
      return await identity.peekSocialInvite(i.id, token);
    } catch (err) {
      if (err instanceof AppError && err.code === 'LINK_INVALID') return undefined;
      throw err;
    }
  }

  return async (server: FastifyInstance) => {
    server.get<{ Params: Params; Querystring: Form }>('/:institution/social-invite', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutions.forPages(req.params.institution);
      const token = req.query.token ?? '';
      const invite = await live(i, token);
      if (!invite) return invalid(reply, i);
      const methods = await socialInvites.methods(i);
      if (!methods.length) {
        return show(reply, i, 'Choose an account', message('error', 'This library offers no social sign-in at the moment. Please contact the library.'), 503);
      }
      const buttons = methods.map((m) => html`<form method="post" action="${base(i)}/social-invite">
${csrfField(reply)}<input type="hidden" name="token" value="${token}"><input type="hidden" name="method" value="${m.code}">
<button type="submit">${m.label}</button>
</form>`);
      return show(reply, i, 'Choose an account', html`<p>Choose the account you want to sign in with from now on. You sign in with it once now to link it to your library account.</p>
${buttons}`);
    });

    server.post<{ Params: Params; Body: Form }>('/:institution/social-invite', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutions.forPages(req.params.institution);
      const invite = await live(i, req.body.token);
      if (!invite) return invalid(reply, i);
      const method = (await socialInvites.methods(i)).find((m) => m.code === req.body.method);
      if (!method) return invalid(reply, i);
      const begun = await signIn.begin(i, method.code, null, { clientAddress: req.ip, userAgent: req.headers['user-agent'] ?? null, previousCookie: readSession(req) }, { invite: invite.tokenId });
      if ('kind' in begun) {
        return show(reply, i, 'Not answering', html`${message('error', 'That sign-in service is not answering right now. Please try again in a few minutes.')}`, 503);
      }
      setFlow(req, reply, i.code, begun.flowId, FLOW_MINUTES * 60);
      return reply.redirect(begun.redirect, 303);
    });
  };
}
