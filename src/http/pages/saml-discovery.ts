// /auth/{institution}/saml/{method}/discovery: the person finds their home organisation among a
// federation's IdPs (thousands: a search box and at most 50 names at a time) and goes to the
// method's start page with ?idp={entity id}. Thin: the list comes from the kept aggregate. A
// return URL (`return`, the login page's) rides along when safeReturnTo accepts it, else is dropped.
import type { FastifyInstance } from 'fastify';
import type { App } from '../../app.js';
import { safeReturnTo, withReturn } from '../../domain/sign-in/return-to.js';
import { AppError } from '../../errors.js';
import { html, message } from './html.js';
import { authBase as base, showPage as show } from './page-kit.js';

interface Params {
  institution: string;
  method: string;
}
const SHOWN = 50;

export function samlDiscoveryPage(app: App) {
  const { institutions, signIn, samlFederation } = app.services;
  return async (server: FastifyInstance) => {
    server.get<{ Params: Params; Querystring: { q?: unknown; return?: unknown } }>('/:institution/saml/:method/discovery', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutions.forPages(req.params.institution);
      const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 100) : '';
      const back = safeReturnTo(req.query.return, i.code);
      let live;
      try {
        live = await signIn.live(i, req.params.method);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'LOGIN_METHOD_NOT_FOUND')) throw err;
      }
      if (!live || live.method.type !== 'saml' || !live.method.config.federation_metadata_url) {
        return show(reply, i, 'Not found', html`${message('error', 'There is no such way to sign in here.')}
<p class="links"><a href="${base(i)}/login">Back to sign in</a></p>`, 404);
      }
      const { method } = live;
      const { idps, total } = await samlFederation.discover(method.id, method.config, q, SHOWN);
      const start = `${base(i)}/login/${encodeURIComponent(method.code)}`;
      const list = idps.map((idp) => html`<li><a href="${withReturn(`${start}?idp=${encodeURIComponent(idp.entityId)}`, back)}">${idp.displayName || idp.entityId}</a></li>`);
      const more = total > idps.length ? html`<p>${total - idps.length} more: type more of the name.</p>` : '';
      const none = total === 0 ? message('notice', q ? 'No organisation matches that name.' : 'The list of organisations is not available yet. Try again later, or sign in with a library password.') : '';
      return show(reply, i, method.label, html`<form method="get" action="${base(i)}/saml/${encodeURIComponent(method.code)}/discovery">
<label for="q">Your university or organisation</label>
<input type="search" id="q" name="q" value="${q}" autofocus>
${back ? html`<input type="hidden" name="return" value="${back}">` : ''}
<button type="submit">Search</button>
</form>
${none}<ul class="idps">${list}</ul>${more}
<p class="links"><a href="${withReturn(`${base(i)}/login?auth=local`, back)}">Sign in with a library password</a></p>`);
    });
  };
}
