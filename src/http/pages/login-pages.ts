// /auth/{institution}/...: the local login pages. Server-rendered forms that work without
// JavaScript, a CSRF token on every form, one session cookie (HttpOnly, SameSite=Lax, Secure
// outside localhost). A user who must change the password can reach nothing but that form.
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { isDatabaseUnavailable } from '../../db/database.js';
import type { Institution } from '../../model/institution.js';
import type { ResolvedSession } from '../../domain/identity/browser-sessions.js';
import { policyDescription } from '../../domain/identity/password-policy.js';
import { safeReturnTo } from '../../domain/sign-in/return-to.js';
import { AppError } from '../../errors.js';
import { clearSession, readSession, setSession } from '../session-cookie.js';
import { html, message, page, type Html } from './html.js';
import { authBase as base, csrfField, showPage as show } from './page-kit.js';
import { signInPages } from './sign-in-pages.js';
import { socialInvitePages } from './social-invite-pages.js';
import { samlDiscoveryPage } from './saml-discovery.js';

interface Params {
  institution: string;
}
type Form = Record<string, string | undefined>;

/** The institution's own rule (its minimum length and required classes), never a fixed 8. */
function passwordHint(i: Institution): string {
  const rule = policyDescription(i.settings);
  return `${rule[0]!.toUpperCase()}${rule.slice(1)}; not your name or an identifier, and not a commonly used password.`;
}

export function loginPages(app: App): FastifyPluginAsync {
  const { institutions, browserSessions, identity, signIn } = app.services;

  async function institutionOf(req: FastifyRequest<{ Params: Params }>): Promise<Institution> {
    return institutions.forPages(req.params.institution);
  }

  function loginForm(reply: FastifyReply, i: Institution, opts: { error?: string; notice?: string; identifier?: string; returnTo?: string | undefined }) {
    return html`${message('error', opts.error)}${message('notice', opts.notice)}
<form method="post" action="${base(i)}/login">
${csrfField(reply)}<input type="hidden" name="return" value="${opts.returnTo ?? ''}">
<label for="identifier">User name or library card number</label>
<input type="text" id="identifier" name="identifier" autocomplete="username" required value="${opts.identifier ?? ''}" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="links"><a href="${base(i)}/forgot-password">Forgot your password?</a></p>`;
  }

  function newPasswordFields(i: Institution, withCurrent: boolean): Html {
    return html`${withCurrent ? html`<label for="current">Current password</label>
<input type="password" id="current" name="current" autocomplete="current-password" required>` : ''}
<label for="password">New password</label>
<input type="password" id="password" name="password" autocomplete="new-password" required aria-describedby="hint">
<p class="hint" id="hint">${passwordHint(i)}</p>
<label for="confirm">New password again</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required>`;
  }

  function changeForm(reply: FastifyReply, i: Institution, opts: { error?: string; forced: boolean }) {
    return html`${message('notice', opts.forced ? 'You must choose a new password before you continue.' : undefined)}
${message('error', opts.error)}
<form method="post" action="${base(i)}/change-password">
${csrfField(reply)}${newPasswordFields(i, true)}
<button type="submit">Change password</button>
</form>`;
  }

  /** A policy refusal says what to fix; anything else about a password says nothing. */
  function passwordProblem(err: unknown): string {
    if (err instanceof AppError && err.code === 'PASSWORD_POLICY') return err.message;
    if (err instanceof AppError && err.code === 'AUTHENTICATION_FAILED') return 'The current password is not right.';
    throw err;
  }

  async function signedIn(req: FastifyRequest): Promise<ResolvedSession | undefined> {
    return browserSessions.resolve(readSession(req));
  }

  return async (server) => {
    await server.register(formbody, { bodyLimit: 16 * 1024 });
    await server.register(csrf, {
      cookieKey: 'carrel_csrf',
      cookieOpts: { path: '/auth', httpOnly: true, sameSite: 'strict', signed: false },
      getToken: (req) => (req.body as Form | undefined)?._csrf,
    });
    server.addHook('onRequest', async (_req, reply) => {
      reply.header('referrer-policy', 'no-referrer');
    });

    server.setErrorHandler(async (err: FastifyError, req: FastifyRequest<{ Params: Params }>, reply) => {
      const i = await institutions.forPages(req.params.institution ?? '').catch(() => undefined);
      const name = i?.name ?? 'Carrel';
      const status = err.code?.startsWith('FST_CSRF') ? 403
        : err instanceof AppError ? (err.code === 'NOT_FOUND' ? 404 : err.status)
        : isDatabaseUnavailable(err) ? 503 : (err.statusCode ?? 500);
      const text =
        status === 403
          ? 'This form has expired or did not come from this site. Please go back, reload the page and try again.'
          : status === 404
            ? 'There is no such library here.'
            : status < 500
              ? 'The request could not be understood.'
              : 'Something went wrong on our side. Please try again later.';
      if (status >= 500) req.log.error({ err }, 'login page failed');
      return reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
        .send(page({ title: status === 404 ? 'Not found' : 'Sorry', institutionName: name, body: message('error', text) }));
    });

    // The login methods' pages share this scope's CSRF, form parsing and error page.
    await server.register(signInPages(app));
    await server.register(socialInvitePages(app));
    await server.register(samlDiscoveryPage(app));

    server.get<{ Params: Params }>('/:institution/login', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutionOf(req);
      const s = await signedIn(req);
      if (s && s.user.institutionId === i.id) return reply.redirect(`${base(i)}/${s.mustChange ? 'change-password' : 'account'}`, 303);
      const q = req.query as Form;
      const notice = { reset: 'Your password is set. Sign in with it now.', logout: 'You are signed out.', unlock: 'You can sign in again now.' }[q.done ?? ''];
      // ?auth=local always shows the local form: the way in when the campus sign-in is down.
      if (q.auth !== 'local') {
        const { methods, localPasswords } = await signIn.choices(i);
        const withReturn = (code: string) => `${base(i)}/login/${encodeURIComponent(code)}${q.return ? `?return=${encodeURIComponent(q.return)}` : ''}`;
        const local = localPasswords || i.settings.externalPasswordFallback;
        // The only way in, and nobody here signs in with a local password: straight to it.
        if (methods.length === 1 && !local && !notice) return reply.redirect(withReturn(methods[0]!.code), 303);
        if (methods.length) {
          // Campus sign-in first; the local form after it for those who have a password.
          return show(reply, i, 'Sign in', html`${message('notice', notice)}
${methods.map((m) => html`<a class="method" href="${withReturn(m.code)}">${m.label}</a>`)}
${local ? html`<h2>Or with a library password</h2>${loginForm(reply, i, { returnTo: q.return })}` : html`<p class="links"><a href="${base(i)}/login?auth=local">Sign in with a library password</a></p>`}`);
        }
      }
      return show(reply, i, 'Sign in', loginForm(reply, i, { notice, returnTo: q.return }));
    });

    server.post<{ Params: Params; Body: Form }>('/:institution/login', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutionOf(req);
      const result = await browserSessions.signIn(i.id, req.body.identifier, req.body.password, {
        clientAddress: req.ip,
        userAgent: req.headers['user-agent'] ?? null,
        previousCookie: readSession(req),
      });
      if (result.kind === 'failed') {
        // One answer for an unknown user, a wrong password and a locked account.
        return show(reply, i, 'Sign in', loginForm(reply, i, { error: 'The user name or password is not right, or signing in is paused for a while. If you cannot get in, "Forgot your password?" mails you a link that lets you in.', identifier: req.body.identifier, returnTo: req.body.return }), 401);
      }
      if (result.kind === 'refused_in_use') {
        return show(reply, i, 'Sign in', loginForm(reply, i, { error: 'This account is already signed in somewhere else. Sign out there first.' }), 409);
      }
      setSession(req, reply, result.cookie, i.code);
      const next = result.mustChange ? 'change-password' : 'account';
      const back = !result.mustChange && !result.inUseElsewhere ? safeReturnTo(req.body.return, i.code) : null;
      return reply.redirect(back ?? `${base(i)}/${next}${result.inUseElsewhere ? '?shared=1' : ''}`, 303);
    });

    server.get<{ Params: Params }>('/:institution/account', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutionOf(req);
      const s = await signedIn(req);
      if (!s || s.user.institutionId !== i.id) return reply.redirect(`${base(i)}/login`, 303);
      if (s.mustChange) return reply.redirect(`${base(i)}/change-password`, 303);
      const shared = (req.query as Form).shared === '1';
      const name = [s.user.firstName, s.user.lastName].filter(Boolean).join(' ') || s.user.primaryId;
      return show(reply, i, 'Signed in', html`${message('error', shared ? 'Warning: this account is also signed in somewhere else right now. A shared account should be used by one person at a time.' : undefined)}
<p>You are signed in as <strong>${name}</strong> (${s.user.primaryId}).</p>
<p class="links"><a href="${base(i)}/change-password">Change your password</a></p>
<form method="post" action="${base(i)}/logout">${csrfField(reply)}<button type="submit">Sign out</button></form>`);
    });

    server.post<{ Params: Params }>('/:institution/logout', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutionOf(req);
      await browserSessions.signOut(readSession(req));
      clearSession(reply, i.code);
      return reply.redirect(`${base(i)}/login?done=logout`, 303);
    });

    server.get<{ Params: Params }>('/:institution/change-password', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutionOf(req);
      const s = await signedIn(req);
      if (!s || s.user.institutionId !== i.id) return reply.redirect(`${base(i)}/login`, 303);
      return show(reply, i, 'Choose a new password', changeForm(reply, i, { forced: s.mustChange }));
    });

    server.post<{ Params: Params; Body: Form }>('/:institution/change-password', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutionOf(req);
      const s = await signedIn(req);
      if (!s || s.user.institutionId !== i.id) return reply.redirect(`${base(i)}/login`, 303);
      if (req.body.password !== req.body.confirm) {
        return show(reply, i, 'Choose a new password', changeForm(reply, i, { forced: s.mustChange, error: 'The two new passwords are not the same.' }), 400);
      }
      try {
        await browserSessions.changePassword(s, req.body.current, req.body.password, req.ip);
      } catch (err) {
        return show(reply, i, 'Choose a new password', changeForm(reply, i, { forced: s.mustChange, error: passwordProblem(err) }), 400);
      }
      return reply.redirect(`${base(i)}/account`, 303);
    });

    server.get<{ Params: Params }>('/:institution/forgot-password', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutionOf(req);
      return show(reply, i, 'Forgot your password?', html`<p>Enter your user name or library card number. If the account has an e-mail address, we send a link to set a new password, and one to sign in again with the password you have if signing in is blocked. The links work for one hour.</p>
<form method="post" action="${base(i)}/forgot-password">
${csrfField(reply)}
<label for="identifier">User name or library card number</label>
<input type="text" id="identifier" name="identifier" autocomplete="username" required autofocus>
<button type="submit">Send the link</button>
</form>
<p class="links"><a href="${base(i)}/login">Back to sign in</a></p>`);
    });

    server.post<{ Params: Params; Body: Form }>('/:institution/forgot-password', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutionOf(req);
      await identity.requestPasswordReset(i.id, req.body.identifier ?? '', req.ip);
      // The same words whether or not the account exists.
      return show(reply, i, 'Check your e-mail', html`${message('notice', 'If that account exists and has an e-mail address, a link to set a new password is on its way.')}
<p class="links"><a href="${base(i)}/login">Back to sign in</a></p>`);
    });

    server.get<{ Params: Params; Querystring: Form }>('/:institution/set-password', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutionOf(req);
      return show(reply, i, 'Set your password', setForm(reply, i, req.query.token ?? ''));
    });

    // The unlock link (mailed with every reset link): a button, not the GET, does it, so a mail
    // scanner that follows links does not spend it.
    server.get<{ Params: Params; Querystring: Form }>('/:institution/unlock', { schema: { hide: true } }, async (req, reply) => {
      const i = await institutionOf(req);
      return show(reply, i, 'Sign in again', html`<p>This lifts the block on signing in to your account, from this device, without changing your password.</p>
<form method="post" action="${base(i)}/unlock">
${csrfField(reply)}<input type="hidden" name="token" value="${req.query.token ?? ''}">
<button type="submit">Let me sign in again</button>
</form>`);
    });

    server.post<{ Params: Params; Body: Form }>('/:institution/unlock', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutionOf(req);
      try {
        await identity.unlockWithToken(i.id, req.body.token ?? '', req.ip);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'LINK_INVALID')) throw err;
        return show(reply, i, 'Sign in again', html`${message('error', 'This link has expired or was already used. Ask for a new one.')}
<p class="links"><a href="${base(i)}/forgot-password">Send a new link</a></p>`, 400);
      }
      return reply.redirect(`${base(i)}/login?done=unlock`, 303);
    });

    function setForm(reply: FastifyReply, i: Institution, token: string, error?: string) {
      return html`${message('error', error)}
<form method="post" action="${base(i)}/set-password">
${csrfField(reply)}<input type="hidden" name="token" value="${token}">${newPasswordFields(i, false)}
<button type="submit">Set password</button>
</form>`;
    }

    server.post<{ Params: Params; Body: Form }>('/:institution/set-password', { schema: { hide: true }, preHandler: server.csrfProtection }, async (req, reply) => {
      const i = await institutionOf(req);
      const token = req.body.token ?? '';
      if (req.body.password !== req.body.confirm) {
        return show(reply, i, 'Set your password', setForm(reply, i, token, 'The two passwords are not the same.'), 400);
      }
      try {
        await identity.resetPasswordWithToken(i.id, token, req.body.password);
      } catch (err) {
        if (err instanceof AppError && err.code === 'LINK_INVALID') {
          return show(reply, i, 'Set your password', html`${message('error', 'This link has expired or was already used. Ask for a new one.')}
<p class="links"><a href="${base(i)}/forgot-password">Send a new link</a></p>`, 400);
        }
        return show(reply, i, 'Set your password', setForm(reply, i, token, passwordProblem(err)), 400);
      }
      return reply.redirect(`${base(i)}/login?done=reset`, 303);
    });
  };
}
