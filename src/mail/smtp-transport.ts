// The SMTP side of the outbox: nodemailer with a pooled connection to CARREL_SMTP_URL
// (smtp://user:pass@host:587, smtps://… for implicit TLS; nodemailer reads options such as
// ?requireTLS=true from the URL). The domain sees only MailTransport.
import nodemailer from 'nodemailer';
import type { MailTransport } from '../domain/mail/outbox.js';

export function createSmtpTransport(url: string, from: string): MailTransport {
  const pooled = url.includes('pool=') ? url : `${url}${url.includes('?') ? '&' : '?'}pool=true`;
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
