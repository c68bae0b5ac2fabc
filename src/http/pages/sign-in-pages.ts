// /auth/{institution}/login/{method}[/callback] and /auth/{institution}/saml/{method}/{metadata,acs}:
// the pages of the login methods. Thin: the sign-in service decides (src/domain/sign-in/sign-in.ts);
// these read the request, set the cookies and say the outcome in words that name no internals.
// Registered inside loginPages (same CSRF, form parsing and error page).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { SignInMeta } from '../../domain/identity/browser-sessions.js';
import { FLOW_MINUTES, type RefusalKind, type SignInOutcome } from '../../domain/sign-in/sign-in.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import { clearFlow, readFlow, readSession, setFlow, setSession } from '../session-cookie.js';
import { html, message, type Html } from './html.js';
import { authBase as base, csrfField, showPage as show } from './page-kit.js';

interface Params {
  institution: string;
  method: string;
}
type Form = Record<string, string | undefined>;

/** A SAML response with a signed assertion and its certificates runs to tens of kilobytes. */
const ACS_BODY_LIMIT = 1024 * 1024;

const REFUSALS: Record<RefusalKind, { status: number; title: string; text: string }> = {
  unavailable: {
    status: 503,
    title: 'Campus sign-in is not answering',
    text: 'The campus sign-in service is not answering right now. Try again in a few minutes, or sign in with your library password if you have one.',
  },
  failed: { status: 401, title: 'Sign-in did not work', text: 'The sign-in could not be completed. Please start again.' },
  unknown_user: {
    status: 403,
    title: 'No library account',
    text: 'You signed in, but there is no library account for you here. Please contact the library.',
  },
  inactive: { status: 403, title: 'Account not active', text: 'Your library account is not active. Please contact the library.' },
  expired: { status: 403, title: 'Account expired', text: 'Your library account has expired. Please contact the library.' },
  in_use: { status: 409, title: 'Account in use', text: 'This account is already signed in somewhere else. Sign out there first.' },
  invite_failed: {
    status: 403,
    title: 'Invitation not accepted',
    text: 'This invitation has expired or was already used, or that account is already linked to another library account. Please contact the library for a new invitation.',
  },
};

/** Flat string fields of a query or form (repeated fields: the first). */
function fields(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const s = Array.isArray(x) ? x[0] : x;
      if (typeof s === 'string') out[k] = s;
    }
  }
  return out;
}

export function signInPages(app: App) {
  const { institutions, signIn, emailLinkSignIn } = app.services;

  const meta = (req: FastifyRequest): SignInMeta => ({
    clientAddress: req.ip,
    userAgent: req.headers['user-agent'] ?? null,
    previousCookie: readSession(req),
  });

  function refusal(reply: FastifyReply, i: Institution, kind: RefusalKind) {
    const r = REFUSALS[kind];
    return show(reply, i, r.title, html`${message('error', r.text)}
<p class="links"><a href="${base(i)}/login?auth=local">Sign in with a library password</a></p>
<p class="links"><a href="${base(i)}/login">Back to sign in</a></p>`, r.status);
  }

  function noSuchMethod(reply: FastifyReply, i: Institution) {
    return show(reply, i, 'Not found', html`${message('error', 'There is no such way to sign in here.')}
<p class="links"><a href="${base(i)}/login">Back to sign in</a></p>`, 404);
  }

  /** The outcome of any method: the session and where to go, or the refusal's page. */
  function land(req: FastifyRequest, reply: FastifyReply, i: Institution, outcome: SignInOutcome) {
    clearFlow(reply, i.code);
    if (outcome.kind === 'refused') return refusal(reply, i, outcome.refusal);
    setSession(req, reply, outcome.cookie, i.code);
    if (outcome.mustChange) return reply.redirect(`${base(i)}/change-password`, 303);
    if (outcome.inUseElsewhere) return reply.redirect(`${base(i)}/account?shared=1`, 303);
    return reply.redirect(outcome.returnTo ?? `${base(i)}/account`, 303);
  }

  /** LOGIN_METHOD_NOT_FOUND becomes the page that says so; anything else goes to the error page. */
  async function orNotFound(reply: FastifyReply, i: Institution, fn: () => Promise<unknown>) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError && err.code === 'LOGIN_METHOD_NOT_FOUND') return noSuchMethod(reply, i);
      throw err;
    }
  }

  function passwordForm(reply: FastifyReply, i: Institution, code: string, label: string, opts: { error?: string; username?: string; returnTo?: string }): Html {
    return html`${message('error', opts.error)}
<form method="post" action="${base(i)}/login/${encodeURIComponent(code)}">
${csrfField(reply)}<input type="hidden" name="return" value="${opts.returnTo ?? ''}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" required value="${opts.username ?? ''}" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">${label}</button>
</form>
<p class="links"><a href="${base(i)}/login">Other ways to sign in</a></p>`;
  }

  function linkRequestForm(reply: FastifyReply, i: Institution, code: string, returnTo: string | undefined): Html {
    return html`<p>Enter your user name, library card number or e-mail address. We send a link to the e-mail address of your library account; it signs you in once.</p>
<form method="post" action="${base(i)}/login/${encodeURIComponent(code)}">
${csrfField(reply)}<input type="hidden" name="return" value="${returnTo ?? ''}">
<label for="identifier">User name, card number or e-mail address</label>
<input type="text" id="identifier" name="identifier" autocomplete="username" required autofocus>
<button type="submit">E-mail me a link</button>
</form>
<p class="links"><a href="${base(i)}/login">Other ways to sign in</a></p>`;
  }

  /**
   * The mailed link opens this page; its button signs in. A GET never uses the link: mail
   * scanners fetch links before the person clicks, and would use it up.
   */
  function linkConfirmForm(reply: FastifyReply, i: Institution, code: string, token: string, returnTo: string | undefined): Html {
    return html`<form method="post" action="${base(i)}/login/${encodeURIComponent(code)}">
${csrfField(reply)}<input type="hidden" name="token" value="${token}"><input type="hidden" name="return" value="${returnTo ?? ''}">
<button type="submit">Sign in</button>
</form>`;
  }

  /** The callback of a redirect method (GET, or POST for form_post): the flow by its cookie. */
  async function callback(req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) {
    const i = await institutions.forPages(req.params.institution);
    const query = fields(req.query);
    const body = fields(req.body);
    return orNotFound(reply, i, async () => {
      const m = await signIn.live(i, req.params.method);
      if (m.module.kind === 'link') {
        if (req.method !== 'GET') return noSuchMethod(reply, i);
        return show(reply, i, m.method.label, linkConfirmForm(reply, i, m.method.code, query.token ?? '', query.return));
      }
      // A POST callback (OIDC form_post) is cross-site: the Lax cookie does not come, state does.
      const flowId = readFlow(req) ?? (req.method === 'POST' ? body.state : undefined);
      return land(req, reply, i, await signIn.finish(i, req.params.method, flowId, { query, body }, meta(req)));
    });
  }

  return async (server: FastifyInstance) => {
    server.get<{ Params: Params }>('/:institution/login/:method', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutions.forPages(req.params.institution);
      const { return: returnTo, ...params } = fields(req.query);
      return orNotFound(reply, i, async () => {
        const m = await signIn.live(i, req.params.method);
        if (m.module.kind === 'password') {
          return show(reply, i, m.method.label, passwordForm(reply, i, m.method.code, 'Sign in', { returnTo }));
        }
        if (m.module.kind === 'link') return show(reply, i, m.method.label, linkRequestForm(reply, i, m.method.code, returnTo));
        if (m.module.kind !== 'redirect') return noSuchMethod(reply, i);
        const begun = await signIn.begin(i, m.method.code, returnTo, meta(req), { params });
        if ('kind' in begun) return refusal(reply, i, begun.refusal);
        setFlow(req, reply, i.code, begun.flowId, FLOW_MINUTES * 60);
        return reply.redirect(begun.redirect, 303);
      });
    });

    server.post<{ Params: Params; Body: Form }>(
      '/:institution/login/:method',
      { schema: { hide: true }, preHandler: server.csrfProtection },
      async (req, reply) => {
        const i = await institutions.forPages(req.params.institution);
        const body = fields(req.body);
        return orNotFound(reply, i, async () => {
          const m = await signIn.live(i, req.params.method);
          if (m.module.kind === 'link') {
            if (body.token !== undefined) return land(req, reply, i, await emailLinkSignIn.finish(i, m.method.code, body.token, body.return, meta(req)));
            await emailLinkSignIn.request(i, m.method.code, body.identifier, body.return, meta(req));
            // The same words whether or not the account exists.
            return show(reply, i, 'Check your e-mail', html`${message('notice', 'If that names a library account with an e-mail address, a sign-in link is on its way. It works once, for a short while.')}
<p class="links"><a href="${base(i)}/login">Back to sign in</a></p>`);
          }
          if (m.module.kind !== 'password') return noSuchMethod(reply, i);
          const outcome = await signIn.verifyPassword(i, m, body.username, body.password, body.return, meta(req));
          if (outcome.kind === 'refused' && outcome.refusal === 'failed') {
            // One answer for an unknown name and a wrong password.
            return show(reply, i, m.method.label, passwordForm(reply, i, m.method.code, 'Sign in', {
              error: 'The user name or password is not right.',
              username: body.username,
              returnTo: body.return,
            }), 401);
          }
          return land(req, reply, i, outcome);
        });
      },
    );

    server.get<{ Params: Params }>('/:institution/login/:method/callback', { schema: { hide: true } }, callback);
    server.post<{ Params: Params }>('/:institution/login/:method/callback', { schema: { hide: true }, bodyLimit: ACS_BODY_LIMIT }, callback);

    server.get<{ Params: Params }>('/:institution/saml/:method/metadata', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutions.forPages(req.params.institution);
      return orNotFound(reply, i, async () => {
        const m = await signIn.live(i, req.params.method);
        if (m.module.kind !== 'redirect' || !m.module.metadata) return noSuchMethod(reply, i);
        const xml = await m.module.metadata(signIn.contextOf(i, m));
        return reply.header('cache-control', 'max-age=300').type('application/samlmetadata+xml; charset=utf-8').send(xml);
      });
    });

    // The SAML ACS: a cross-site POST from the IdP, so no Lax cookie and no CSRF token: the flow
    // is found by RelayState and the module checks InResponseTo against the request it made.
    server.post<{ Params: Params }>('/:institution/saml/:method/acs', { schema: { hide: true }, bodyLimit: ACS_BODY_LIMIT }, async (req, reply) => {
      const i = await institutions.forPages(req.params.institution);
      const body = fields(req.body);
      return orNotFound(reply, i, async () =>
        land(req, reply, i, await signIn.finish(i, req.params.method, body.RelayState, { query: fields(req.query), body }, meta(req))),
      );
    });
  };
}
