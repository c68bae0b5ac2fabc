// The mail outbox: a message is a row written in the same transaction as the reason for it (a
// link's token), so a rolled-back action sends nothing and a committed one is never lost. A sender
// delivers due rows over SMTP with retry and backoff; without SMTP they wait in the outbox, readable
// through the API, and in development each is printed to the log instead.
import { doublingDelayMs, outlastOutage } from '../../model/backoff.js';
import { isDatabaseUnavailable } from '../../model/db-errors.js';
import type { Db, Queryable } from '../../db/database.js';
import { claimDueMail, insertMail, listMail, markMailDone, markMailFailed, type MailRow, type MailStatus } from '../../db/queries/mail-outbox.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

/** How a message leaves: SMTP through nodemailer in production (src/mail/smtp-transport.ts). */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
  close?(): void;
}

export interface MailLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

const silent: MailLog = { info() {}, warn() {} };

export const MAX_ATTEMPTS = 8;
const LEASE_SECONDS = 300;
const BATCH = 50;
/**
 * How long a sent message waits for the database to come back to be marked sent. Past it the row
 * stays pending and the message goes again when its lease ends: at least once, as SMTP is.
 */
const MARK_SENT_PATIENCE_MS = 30_000;

/** 1, 2, 4 … minutes, at most an hour, between attempts. */
export const backoffMs = (attempts: number) => doublingDelayMs(attempts, 60_000, 3_600_000);

// A plain address and nothing else: no display name, no CR/LF, no second recipient.
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/** Header values are refused, not cleaned, when they could smuggle a header (CR/LF and friends). */
export function assertMailHeaders(m: Pick<OutgoingMail, 'to' | 'subject'>): void {
  if (typeof m.to !== 'string' || m.to.length > 254 || CONTROL.test(m.to) || !ADDRESS.test(m.to)) {
    throw new AppError('INVALID_VALUE', { field: 'e-mail to', value: '(refused)', reason: 'not a single plain e-mail address' });
  }
  if (typeof m.subject !== 'string' || m.subject.length > 300 || CONTROL.test(m.subject)) {
    throw new AppError('INVALID_VALUE', { field: 'e-mail subject', value: '(refused)', reason: 'control characters or too long' });
  }
}

/** Once a message has left, the links in it are of no use to anyone reading the outbox. */
export const redactLinks = (s: string) => s.replace(/([?&]token=)[A-Za-z0-9_-]+/g, '$1[redacted]');

export interface MailServiceDeps {
  db: Db;
  clock: () => Date;
  transport: MailTransport | null;
  devLog: boolean;
}

export function createMailService({ db, clock, transport, devLog }: MailServiceDeps) {
  async function deliver(m: MailRow, log: MailLog): Promise<'sent' | 'logged' | 'retry' | 'failed'> {
    if (!transport) {
      // Development only (config mailDevLog): the link is in the log so a developer can follow it.
      log.info({ mail: { id: m.id, to: m.toAddress, subject: m.subject, text: m.text } }, 'mail (not sent: no SMTP configured)');
      await markMailDone(db, m.id, { status: 'logged', now: clock(), text: m.text, html: m.html });
      return 'logged';
    }
    try {
      await transport.send({ to: m.toAddress, subject: m.subject, text: m.text, html: m.html });
    } catch (err) {
      const giveUp = m.attempts >= MAX_ATTEMPTS;
      const error = String((err as Error)?.message ?? err).slice(0, 500);
      await markMailFailed(db, m.id, { error, nextAttemptAt: new Date(clock().getTime() + backoffMs(m.attempts)), giveUp });
      log.warn({ mailId: m.id, attempts: m.attempts, error }, giveUp ? 'mail failed for good' : 'mail failed; will retry');
      return giveUp ? 'failed' : 'retry';
    }
    // The message has left: a lost connection now must not make it go twice.
    await outlastOutage(
      () => markMailDone(db, m.id, { status: 'sent', now: clock(), text: redactLinks(m.text), html: m.html && redactLinks(m.html) }),
      { firstMs: 250, maxMs: 4000, patienceMs: MARK_SENT_PATIENCE_MS },
    );
    return 'sent';
  }

  async function deliverPendingMail(log: MailLog = silent): Promise<Record<'sent' | 'logged' | 'retry' | 'failed', number>> {
    const counts = { sent: 0, logged: 0, retry: 0, failed: 0 };
    if (!transport && !devLog) return counts;
    for (;;) {
      const due = await claimDueMail(db, clock(), LEASE_SECONDS, BATCH);
      for (const m of due) counts[await deliver(m, log)] += 1;
      if (due.length < BATCH) return counts;
    }
  }

  return {
    /** Queues a message in the caller's transaction. */
    async enqueue(tx: Queryable, institutionId: string | null, mail: OutgoingMail): Promise<number> {
      assertMailHeaders(mail);
      return insertMail(tx, { institutionId, toAddress: mail.to, subject: mail.subject, text: mail.text, html: mail.html, now: clock() });
    },

    deliverPendingMail,

    /** Whether anything would leave the outbox (SMTP, or the development log). */
    get delivering(): boolean {
      return transport !== null || devLog;
    },

    /** Runs deliverPendingMail, then again intervalMs after each round ends, until stopped. */
    start(opts: { intervalMs: number; log?: MailLog }): { stop(): Promise<void> } {
      const log = opts.log ?? silent;
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> | undefined;
      let stopped = false;
      // A database outage fails every round: said once, and once when it is over.
      let failing = false;
      const round = async () => {
        running = deliverPendingMail(log).then(
          () => {
            if (failing) log.info({}, 'mail sender working again');
            failing = false;
          },
          (err: unknown) => {
            if (!failing || !isDatabaseUnavailable(err)) log.warn({ error: String(err) }, 'mail sender round failed');
            failing = true;
          },
        );
        await running;
        running = undefined;
        if (stopped) return;
        timer = setTimeout(() => void round(), opts.intervalMs);
        timer.unref();
      };
      void round();
      return {
        async stop() {
          stopped = true;
          clearTimeout(timer);
          await running;
          transport?.close?.();
        },
      };
    },

    async list(actor: Actor, institutionId: string, opts: { status?: MailStatus | undefined; limit: number; offset: number }) {
      authorize(actor, 'credentials:manage', institutionId);
      return listMail(db, institutionId, opts);
    },
  };
}

export type MailService = ReturnType<typeof createMailService>;
