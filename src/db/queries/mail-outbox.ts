// SQL for mail_outbox. Messages are claimed with a lease (next_attempt_at moved ahead) rather than
// a held row lock, so no transaction stays open while an SMTP server answers, and a sender that
// dies mid-send leaves the message to be retried when the lease ends.
import type { Queryable, Row } from '../database.js';

export type MailStatus = 'pending' | 'sent' | 'logged' | 'failed';

export interface MailRow {
  id: number;
  institutionId: string | null;
  toAddress: string;
  subject: string;
  text: string;
  html: string | null;
  status: MailStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

const COLUMNS = `id, institution_id AS "institutionId", to_address AS "toAddress", subject, text, html, status, attempts,
  next_attempt_at AS "nextAttemptAt", last_error AS "lastError", created_at AS "createdAt", sent_at AS "sentAt"`;

const toMail = (r: Row) => ({ ...(r as unknown as MailRow), id: Number(r.id) });

export async function insertMail(
  db: Queryable,
  m: { institutionId: string | null; toAddress: string; subject: string; text: string; html: string | null; now: Date },
): Promise<number> {
  const r = await db.one<{ id: number }>(
    `INSERT INTO mail_outbox (institution_id, to_address, subject, text, html, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
    [m.institutionId, m.toAddress, m.subject, m.text, m.html, m.now],
  );
  return Number(r.id);
}

/** Up to `limit` due messages, each leased for leaseSeconds and counted as an attempt. */
export async function claimDueMail(db: Queryable, now: Date, leaseSeconds: number, limit: number): Promise<MailRow[]> {
  const rows = await db.query(
    `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $1::timestamptz + make_interval(secs => $2)
     WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1
                  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING ${COLUMNS}`,
    [now, leaseSeconds, limit],
  );
  return rows.map(toMail).sort((a, b) => a.id - b.id);
}

/** Delivered (or printed): the body is replaced by the caller's redacted copy. */
export async function markMailDone(
  db: Queryable,
  id: number,
  m: { status: 'sent' | 'logged'; now: Date; text: string; html: string | null },
): Promise<void> {
  await db.query(
    `UPDATE mail_outbox SET status = $2, sent_at = $3, text = $4, html = $5, last_error = NULL WHERE id = $1`,
    [id, m.status, m.now, m.text, m.html],
  );
}

export async function markMailFailed(db: Queryable, id: number, m: { error: string; nextAttemptAt: Date; giveUp: boolean }): Promise<void> {
  await db.query(
    `UPDATE mail_outbox SET last_error = $2, next_attempt_at = $3, status = CASE WHEN $4 THEN 'failed' ELSE status END
     WHERE id = $1`,
    [id, m.error, m.nextAttemptAt, m.giveUp],
  );
}

export async function listMail(
  db: Queryable,
  institutionId: string,
  opts: { status?: MailStatus | undefined; limit: number; offset: number },
): Promise<{ total: number; rows: MailRow[] }> {
  const where = 'institution_id = $1 AND ($2::text IS NULL OR status = $2)';
  const params = [institutionId, opts.status ?? null];
  const [count, rows] = await Promise.all([
    db.one<{ n: number }>(`SELECT count(*)::int AS n FROM mail_outbox WHERE ${where}`, params),
    db.query(`SELECT ${COLUMNS} FROM mail_outbox WHERE ${where} ORDER BY id DESC LIMIT ${Number(opts.limit)} OFFSET ${Number(opts.offset)}`, params),
  ]);
  return { total: count.n, rows: rows.map(toMail) };
}
