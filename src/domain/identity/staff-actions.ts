// What User Administrators and User Managers (and read-write API keys) do to other people's
// credentials: set a password, send a set-password link, import a legacy hash, see and end
// sessions, and the report of INTERNAL users no password lets in. Each is authorized here with
// 'credentials:manage' and audited without the secret.
import type { Db, Queryable } from '../../db/database.js';
import { listInternalUsersWithoutPassword, upsertPassword } from '../../db/queries/identity-credentials.js';
import { listLiveSessions, revokeSessions, type SessionRow } from '../../db/queries/identity-sessions.js';
import { invalidateTokens } from '../../db/queries/identity-tokens.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError, assertThat } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { Institution } from '../../model/institution.js';
import type { User } from '../../model/user.js';
import type { Credentials } from './credentials.js';
import { auditIdentity } from './identity-audit.js';
import { parseHash } from './legacy-hashes.js';
import { mayHavePassword, type Links } from './links.js';
import type { PasswordHasher } from './password-hasher.js';

export interface StaffDeps {
  db: Db;
  clock: () => Date;
  hasher: PasswordHasher;
  credentials: Credentials;
  links: Links;
}

export interface LinkSent {
  to: string;
  expiresAt: Date;
  outboxId: number;
}

export function createStaffActions({ db, clock, hasher, credentials, links }: StaffDeps) {
  async function institutionFor(actor: Actor, institutionId: string): Promise<Institution> {
    authorize(actor, 'credentials:manage', institutionId);
    const institution = await findInstitutionById(db, institutionId);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
    return institution;
  }

  /** The user by any identifier, locked for the rest of the transaction. */
  async function userFor(tx: Queryable, institutionId: string, ref: string): Promise<User> {
    const found = await findUserByIdentifier(tx, institutionId, ref);
    if (!found) throw new AppError('USER_NOT_FOUND', { id: ref });
    return (await findUserById(tx, found.id, true))!;
  }

  function assertMayHavePassword(user: User, institution: Institution) {
    assertThat(user.recordType !== 'CONTACT', 'ACTION_NOT_SUPPORTED', {
      action: `a password for CONTACT user ${user.primaryId} (contacts do not sign in; change the record type first)`,
    });
    assertThat(mayHavePassword(user, institution), 'ACTION_NOT_SUPPORTED', {
      action: `a local password for EXTERNAL user ${user.primaryId} (toggle it to INTERNAL, or allow external users a fallback password)`,
    });
  }

  async function sendLinkTo(tx: Queryable, actor: Actor, user: User, institution: Institution, bulk: boolean): Promise<LinkSent> {
    assertMayHavePassword(user, institution);
    const sent = await links.sendPasswordLink(tx, 'set_password', user, institution);
    await auditIdentity(tx, actor, 'credential.link_sent', user, {
      kind: 'set_password',
      expiresAt: sent.expiresAt,
      outboxId: sent.outboxId,
      ...(bulk ? { bulk: true } : {}),
    });
    return sent;
  }

  return {
    /** A password chosen by staff; by default the user must change it at the next login. */
    async setPassword(actor: Actor, institutionId: string, ref: string, input: { password: string; forceChange?: boolean | undefined }): Promise<void> {
      const institution = await institutionFor(actor, institutionId);
      const forceChange = input.forceChange ?? true;
      await db.transaction(async (tx) => {
        const user = await userFor(tx, institutionId, ref);
        assertMayHavePassword(user, institution);
        await credentials.storePassword(tx, user, input.password, { forceChange }, institution.settings);
        await auditIdentity(tx, actor, 'credential.password_set', user, { forceChange, via: 'api/v1' });
      });
    },

    async sendSetPasswordLink(actor: Actor, institutionId: string, ref: string): Promise<LinkSent> {
      const institution = await institutionFor(actor, institutionId);
      return db.transaction(async (tx) => sendLinkTo(tx, actor, await userFor(tx, institutionId, ref), institution, false));
    },

    /**
     * A hash from another system (see legacy-hashes.ts for the formats). It is verified at the
     * user's next login and replaced by argon2id then; the policy is applied at that login too.
     */
    async importPasswordHash(actor: Actor, institutionId: string, ref: string, input: { hash: string; forceChange?: boolean | undefined }) {
      const institution = await institutionFor(actor, institutionId);
      const parsed = parseHash(input.hash);
      // An argon2id hash at exactly today's cost is as good as one Carrel made.
      const current = parsed.algorithm === 'argon2id' && input.hash.includes(
        `$m=${hasher.params.memoryKiB},t=${hasher.params.timeCost},p=${hasher.params.parallelism}$`,
      );
      return db.transaction(async (tx) => {
        const user = await userFor(tx, institutionId, ref);
        assertMayHavePassword(user, institution);
        await upsertPassword(tx, {
          userId: user.id,
          institutionId,
          algorithm: parsed.algorithm,
          hash: input.hash,
          legacy: !current,
          mustChange: input.forceChange ?? false,
          now: clock(),
        });
        await invalidateTokens(tx, user.id, null);
        await auditIdentity(tx, actor, 'credential.hash_imported', user, { algorithm: parsed.algorithm, forceChange: input.forceChange ?? false });
        return { userId: user.id, primaryId: user.primaryId, algorithm: parsed.algorithm };
      });
    },

    async listSessions(actor: Actor, institutionId: string, ref: string): Promise<SessionRow[]> {
      await institutionFor(actor, institutionId);
      const user = await findUserByIdentifier(db, institutionId, ref);
      if (!user) throw new AppError('USER_NOT_FOUND', { id: ref });
      return listLiveSessions(db, user.id, clock());
    },

    /** Ends one session (sessionId) or all of the user's sessions; returns how many ended. */
    async revokeSessions(actor: Actor, institutionId: string, ref: string, sessionId?: string): Promise<number> {
      await institutionFor(actor, institutionId);
      return db.transaction(async (tx) => {
        const user = await userFor(tx, institutionId, ref);
        const count = await revokeSessions(tx, user.id, clock(), { sessionId });
        if (sessionId && count === 0) throw new AppError('NOT_FOUND', { entity: 'Live session', id: sessionId });
        await auditIdentity(tx, actor, 'session.revoked', user, sessionId ? { sessionId, count } : { count });
        return count;
      });
    },

    async usersWithoutPassword(actor: Actor, institutionId: string, page: { limit: number; offset: number }) {
      await institutionFor(actor, institutionId);
      return listInternalUsersWithoutPassword(db, institutionId, page);
    },

    /**
     * The bulk action of the report: a set-password link to every ACTIVE user on it (or to those
     * named) who has an e-mail address; the others are listed with the reason.
     */
    async sendLinksToUsersWithoutPassword(actor: Actor, institutionId: string, refs?: string[]) {
      const institution = await institutionFor(actor, institutionId);
      let userIds: string[] | undefined;
      if (refs) {
        assertThat(refs.length <= 1000, 'INVALID_PARAMETER', { reason: 'at most 1000 users per call' });
        userIds = [];
        for (const ref of refs) {
          const u = await findUserByIdentifier(db, institutionId, ref);
          if (u) userIds.push(u.id);
        }
      }
      const rows = [];
      for (let offset = 0; ; offset += 500) {
        const page = await listInternalUsersWithoutPassword(db, institutionId, { limit: 500, offset, ...(userIds ? { userIds } : {}) });
        rows.push(...page.rows);
        if (page.rows.length < 500) break;
      }
      const sent: { userId: string; to: string }[] = [];
      const skipped: { userId: string; reason: string }[] = [];
      for (const row of rows) {
        if (row.status !== 'ACTIVE') skipped.push({ userId: row.primaryId, reason: 'inactive' });
        else if (!row.email) skipped.push({ userId: row.primaryId, reason: 'no e-mail address' });
        else {
          try {
            const result = await db.transaction(async (tx) => sendLinkTo(tx, actor, (await findUserById(tx, row.id, true))!, institution, true));
            sent.push({ userId: row.primaryId, to: result.to });
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            skipped.push({ userId: row.primaryId, reason: err.message });
          }
        }
      }
      return { sent, skipped };
    },
  };
}
