// Break-glass accounts: the local accounts kept for an SSO outage (the back-up admin). They are
// marked on their credential; every sign-in of one, by any method, is audited as
// 'break_glass.sign_in' and e-mailed to the addresses the network sets (breakGlassNotify, the
// consortium office), so that an account nobody should be using in normal times cannot be used
// quietly. noteSignIn is the one function every sign-in path calls after a success.
import type { Db } from '../../db/database.js';
import { isBreakGlass, listBreakGlassAccounts, setBreakGlass } from '../../db/queries/identity-credentials.js';
import { findInstitutionById, findNetworkById } from '../../db/queries/institutions.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { MailService } from '../mail/outbox.js';
import type { User } from '../../model/user.js';
import { auditIdentity } from './identity-audit.js';
import { mayHavePassword } from './links.js';

export interface SignInMeta {
  /** The login method's code ('password' for the local form). */
  method: string;
  address: string | null;
  userAgent?: string | null | undefined;
  sessionId?: string | undefined;
}

export interface BreakGlassAccount {
  primaryId: string;
  firstName: string | null;
  lastName: string | null;
  /** A stored password the local form would accept now: an ACTIVE user who may hold one (login.ts). */
  usablePassword: boolean;
  lastSignIn: Date | null;
}

export function createBreakGlass({ db, mail, clock }: { db: Db; mail: MailService; clock: () => Date }) {
  return {
    /** Marks (or unmarks) a user as a break-glass account. */
    async setBreakGlass(actor: Actor, institutionId: string, ref: string, on: boolean): Promise<void> {
      authorize(actor, 'credentials:manage', institutionId);
      await db.transaction(async (tx) => {
        const user = await findUserByIdentifier(tx, institutionId, ref);
        if (!user) throw new AppError('USER_NOT_FOUND', { id: ref.slice(0, 60) });
        const before = await setBreakGlass(tx, user.id, institutionId, on, clock());
        await auditIdentity(tx, actor, 'credential.break_glass', user, {}, before === on ? {} : { breakGlass: { before, after: on } });
      });
    },

    isBreakGlass: (userId: string) => isBreakGlass(db, userId),

    /**
     * Who the institution's break-glass accounts are, for the outage procedure: the same
     * permission as marking one, and only this institution's.
     */
    async list(actor: Actor, institutionId: string): Promise<BreakGlassAccount[]> {
      authorize(actor, 'credentials:manage', institutionId);
      const institution = await findInstitutionById(db, institutionId);
      if (!institution) return [];
      const rows = await listBreakGlassAccounts(db, institutionId);
      return rows.map((r) => ({
        primaryId: r.primaryId,
        firstName: r.firstName,
        lastName: r.lastName,
        usablePassword: r.hasPassword && r.status === 'ACTIVE' && mayHavePassword(r, institution),
        lastSignIn: r.lastSignIn,
      }));
    },

    /**
     * After a successful sign-in: nothing for an ordinary account; for a break-glass one, the audit
     * event and a mail to each address the network names, in one transaction (the outbox sends it).
     * Returns how many mails were queued, or undefined for an ordinary account.
     */
    async noteSignIn(user: Pick<User, 'id' | 'primaryId' | 'institutionId' | 'firstName' | 'lastName'>, meta: SignInMeta): Promise<number | undefined> {
      if (!(await isBreakGlass(db, user.id))) return undefined;
      return announce(user, meta);
    },

    /** noteSignIn for a caller that already read the flag (a browser sign-in reads it with the session policy). */
    announce,
  };

  /** A break-glass account's sign-in: the audit event and the mails, in one transaction. */
  async function announce(user: Pick<User, 'id' | 'primaryId' | 'institutionId' | 'firstName' | 'lastName'>, meta: SignInMeta): Promise<number> {
    const institution = await findInstitutionById(db, user.institutionId);
    const network = institution?.networkId ? await findNetworkById(db, institution.networkId) : undefined;
    const to = [...new Set(network?.settings.breakGlassNotify ?? [])];
    const when = clock().toISOString();
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
    const text = [
      `The break-glass account ${user.primaryId}${name ? ` (${name})` : ''} of ${institution?.name ?? 'an institution'} (${institution?.code ?? '?'}) signed in.`,
      '',
      `When: ${when}`,
      `Method: ${meta.method}`,
      `From address: ${meta.address ?? 'unknown'}`,
      `Browser: ${(meta.userAgent ?? 'unknown').slice(0, 200)}`,
      '',
      'Break-glass accounts are for an outage of the campus sign-in. If nobody expected this, end the',
      "account's sessions and change its password now.",
    ].join('\n');
    await db.transaction(async (tx) => {
      await auditIdentity(tx, { kind: 'self' }, 'break_glass.sign_in', user, {
        method: meta.method,
        address: meta.address,
        notified: to.length,
        ...(meta.sessionId ? { sessionId: meta.sessionId } : {}),
      });
      for (const address of to) {
        await mail.enqueue(tx, user.institutionId, { to: address, subject: `Break-glass sign-in: ${user.primaryId} at ${institution?.code ?? ''}`, text, html: null });
      }
    });
    return to.length;
  }
}

export type BreakGlass = ReturnType<typeof createBreakGlass>;
