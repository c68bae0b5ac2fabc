// The SMTP side of the outbox: nodemailer with a pooled connection to CARREL_SMTP_URL
// (smtp://user:pass@host:587, smtps://… for implicit TLS; nodemailer reads options such as
// ?requireTLS=true from the URL). The domain sees only MailTransport.
import { createRequire } from 'node:module';
import type { MailTransport } from '../domain/mail/outbox.js';

// Loaded when a transport is made (a Carrel that sends mail), not by every command's start-up.
const require = createRequire(import.meta.url);

export function createSmtpTransport(url: string, from: string): MailTransport {
  const pooled = url.includes('pool=') ? url : `${url}${url.includes('?') ? '&' : '?'}pool=true`;
  const nodemailer = require('nodemailer') as typeof import('nodemailer');
  const transporter = nodemailer.createTransport(pooled);
  return {
    async send(mail) {
      await transporter.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
        // Content is ours, but never let a message pull in files or URLs.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    },
    close: () => transporter.close(),
  };
}
