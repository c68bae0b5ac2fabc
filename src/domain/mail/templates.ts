// The mails Carrel sends, as plain text and simple HTML, with the institution's name. Links go
// to the login pages: ${publicUrl}/auth/{institution code}/set-password?token=…
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export interface PasswordLinkMail {
  kind: 'reset' | 'set_password';
  institutionName: string;
  /** The person's name as the institution knows it, or their user name. */
  greetingName: string;
  link: string;
  expiresAt: Date;
  /** With a reset: a link that lifts a sign-in block without changing the password (identity/throttle.ts). */
  unlockLink?: string;
}

function validity(expiresAt: Date, now: Date): string {
  const minutes = Math.max(1, Math.round((expiresAt.getTime() - now.getTime()) / 60_000));
  return minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`;
}

export function passwordLinkMail(m: PasswordLinkMail, now: Date): MailContent {
  const reset = m.kind === 'reset';
  const subject = `${reset ? 'Reset your password' : 'Set your password'} · ${m.institutionName}`;
  const intro = reset
    ? 'Someone (we hope you) asked to reset the password of your library account.'
    : 'Library staff asked us to send you a link to set the password of your library account.';
  const action = reset ? 'Choose a new password here:' : 'Set your password here:';
  const valid = `The link works once, for ${validity(m.expiresAt, now)}. A newer link, or a new password, makes it stop working.`;
  const ignore = reset ? 'If you did not ask for this, ignore this mail: your password stays as it is.' : '';
  const unlock = m.unlockLink
    ? 'You still know your password but cannot sign in (someone may have tried to guess it)? This link lets you sign in again, from where you open it, and keeps your password:'
    : '';
  const unlockLines = m.unlockLink ? ['', unlock, '', m.unlockLink] : [];
  const text = [`Hello ${m.greetingName},`, '', intro, action, '', m.link, ...unlockLines, '', valid, ignore, '', `${m.institutionName}`]
    .filter((line, i, all) => line !== '' || all[i - 1] !== '')
    .join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>Hello ${esc(m.greetingName)},</p>
<p>${esc(intro)}</p>
<p>${esc(action)}<br><a href="${esc(m.link)}">${esc(m.link)}</a></p>${m.unlockLink ? `\n<p>${esc(unlock)}<br><a href="${esc(m.unlockLink)}">${esc(m.unlockLink)}</a></p>` : ''}
<p>${esc(valid)}</p>${ignore ? `\n<p>${esc(ignore)}</p>` : ''}
<p>${esc(m.institutionName)}</p>
</body></html>`;
  return { subject, text, html };
}

export interface EmailLoginMail {
  institutionName: string;
  greetingName: string;
  link: string;
  expiresAt: Date;
}

/** The e-mail-link login method's mail: a link that signs in once. */
export function emailLoginMail(m: EmailLoginMail, now: Date): MailContent {
  const subject = `Your sign-in link · ${m.institutionName}`;
  const intro = 'Someone (we hope you) asked for a link to sign in to your library account.';
  const valid = `The link works once, for ${validity(m.expiresAt, now)}. A newer link makes it stop working.`;
  const ignore = 'If you did not ask for this, ignore this mail: nobody can sign in without the link.';
  const text = [`Hello ${m.greetingName},`, '', intro, 'Sign in here:', '', m.link, '', valid, ignore, '', m.institutionName].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>Hello ${esc(m.greetingName)},</p>
<p>${esc(intro)}</p>
<p>Sign in here:<br><a href="${esc(m.link)}">${esc(m.link)}</a></p>
<p>${esc(valid)}</p>
<p>${esc(ignore)}</p>
<p>${esc(m.institutionName)}</p>
</body></html>`;
  return { subject, text, html };
}

export interface SocialInviteMail {
  institutionName: string;
  greetingName: string;
  link: string;
  expiresAt: Date;
}

/** Alma's social-login invitation: the patron signs in once with a social account to bind it. */
export function socialInviteMail(m: SocialInviteMail, now: Date): MailContent {
  const subject = `Sign in to your library account with Google, Facebook or X · ${m.institutionName}`;
  const intro = 'Your library account is ready. You can sign in to it with an account you already have (Google, Facebook or X).';
  const action = 'Open this link and choose the account to use; from then on it signs you in:';
  const valid = `The link works once, for ${validity(m.expiresAt, now)}.`;
  const text = [`Hello ${m.greetingName},`, '', intro, action, '', m.link, '', valid, '', m.institutionName].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>Hello ${esc(m.greetingName)},</p>
<p>${esc(intro)}</p>
<p>${esc(action)}<br><a href="${esc(m.link)}">${esc(m.link)}</a></p>
<p>${esc(valid)}</p>
<p>${esc(m.institutionName)}</p>
</body></html>`;
  return { subject, text, html };
}

export interface NamedUserLicenceMail {
  /** 'warning': the count reached the warning line; 'limit': it reached the licence. */
  level: 'warning' | 'limit';
  networkName: string;
  networkCode: string;
  count: number;
  licence: number;
  warnLine: number;
  /** What happens at the licence: 'warn' (allowed, logged) or 'refuse' (new named users refused). */
  atLimit: 'warn' | 'refuse';
}

/** To the network's namedUserNotify addresses, once each time the count crosses a line upward. */
export function namedUserLicenceMail(m: NamedUserLicenceMail): MailContent {
  const subject =
    m.level === 'limit'
      ? `Named-user licence reached: ${m.count} of ${m.licence} · ${m.networkName}`
      : `Named users near the licence: ${m.count} of ${m.licence} · ${m.networkName}`;
  const lines = [
    `The network ${m.networkName} (${m.networkCode}) has ${m.count} named users (active users with an active named-user role).`,
    `Its licence allows ${m.licence}; the warning line is ${m.warnLine}.`,
    '',
    m.level === 'limit'
      ? m.atLimit === 'refuse'
        ? 'New named users are now refused (a new staff user, a named-user role added, a user reactivated) until one is freed. Existing named users keep working.'
        : 'New named users are still accepted (the network only warns), and each one past the licence is logged and audited.'
      : 'Nothing is refused yet. Free staff accounts that are no longer used, or extend the licence.',
    '',
    'The named users and their last sign-in: GET /api/v1/named-users/users (or .csv).',
  ];
  const text = lines.join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
${lines.filter(Boolean).map((l) => `<p>${esc(l)}</p>`).join('\n')}
</body></html>`;
  return { subject, text, html };
}
