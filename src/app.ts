// createApp(config): the one composition root. The server, the CLI and the worker all build this
// and nothing else; none of them constructs a service on its own.
import { join } from 'node:path';
import type { Config } from './config.js';
import { openDb, type Db } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createApiKeyService } from './domain/access/api-keys.js';
import { createCodeTableCache } from './domain/institutions/code-tables.js';
import { createCodeTableService } from './domain/institutions/code-table-service.js';
import { createInstitutionService } from './domain/institutions/institution-service.js';
import { createNamedUsers } from './domain/institutions/named-users.js';
import { createBrowserSessions } from './domain/identity/browser-sessions.js';
import { createIdentityService } from './domain/identity/identity-service.js';
import { createSignInEvents } from './domain/identity/sign-in-events.js';
import { createUserHistory } from './domain/audit/user-history.js';
import { createOutage } from './domain/identity/outage.js';
import { createMailService } from './domain/mail/outbox.js';
import { createUserService } from './domain/users/user-service.js';
import { createUserDocuments } from './domain/users/user-documents.js';
import { createIdentifierPreview } from './domain/users/identifier-preview.js';
import { createRegistration } from './domain/users/registration.js';
import { createFileStore } from './domain/jobs/file-store.js';
import { createJobService } from './domain/jobs/job-service.js';
import { createJobRegistry } from './domain/jobs/registry.js';
import { sweepWorkDirs } from './domain/jobs/work-dirs.js';
import { createSisModule } from './domain/sis/sis-module.js';
import { createSocialInviteBinder } from './domain/sign-in/social-invite.js';
import { createEmailLinkSignIn } from './domain/sign-in/email-link-sign-in.js';
import { createJitCreator } from './domain/sign-in/jit.js';
import { createLoginMethodService } from './domain/sign-in/login-methods.js';
import { createSignIn } from './domain/sign-in/sign-in.js';
import { createFederation } from './domain/sign-in/methods/saml/federation.js';
import { useFederationIdps } from './domain/sign-in/methods/saml/idp-source.js';
import { createSmtpTransport } from './mail/smtp-transport.js';
import { publicBaseUrl } from './public-url.js';

export interface AppOptions {
  db?: Db;
  migrate?: boolean;
  clock?: () => Date;
  /**
   * Listen for API-key revocations made elsewhere (a connection of its own on PostgreSQL). Only a
   * process that authenticates keys needs it; one-shot commands and the lone worker do not.
   */
  authenticatesKeys?: boolean;
  /**
   * Where the domain's operational lines go (the named-user licence's warnings): JSON lines on
   * stderr when absent.
   */
  log?: (level: 'info' | 'warn', msg: string, detail: Record<string, unknown>) => void;
}

const stderrLog: NonNullable<AppOptions['log']> = (level, msg, detail) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...detail })}\n`);

export async function createApp(config: Readonly<Config>, opts: AppOptions = {}) {
  // Work folders of jobs whose process died (SIGKILL, a crash) hold patron data: gone at start.
  const spoolDir = join(config.dataDir, 'spool');
  sweepWorkDirs(spoolDir);
  const db =
    opts.db ??
    (await openDb({ databaseUrl: config.databaseUrl, dataDir: join(config.dataDir, 'pg'), poolSize: config.dbPoolSize, connectTimeoutMs: config.dbConnectTimeoutMs }));
  if (opts.migrate !== false) {
    // A database this call opened is closed again when it cannot be migrated (it may not be up
    // yet: `carrel serve` tries again), so a failed start leaves no pool behind.
    await migrate(db).catch(async (err: unknown) => {
      if (!opts.db) await db.close().catch(() => {});
      throw err;
    });
  }
  const codeTables = createCodeTableCache(db);
  // The identity module's clock: tests move it to expire links and locks.
  const clock = opts.clock ?? (() => new Date());
  const mail = createMailService({
    db,
    clock,
    transport: config.smtpUrl ? createSmtpTransport(config.smtpUrl, config.mailFrom) : null,
    devLog: config.mailDevLog,
  });
  const identity = createIdentityService({
    db,
    mail,
    clock,
    options: {
      argon2: { memoryKiB: config.argon2MemoryKiB, timeCost: config.argon2TimeCost, parallelism: config.argon2Parallelism },
      resetLinkMinutes: config.resetLinkMinutes,
      setPasswordLinkHours: config.setPasswordLinkHours,
      emailLoginLinkMinutes: config.emailLoginLinkMinutes,
      socialInviteLinkHours: config.socialInviteLinkHours,
      loginAddressMaxFailures: config.loginAddressMaxFailures,
      loginAddressWindowMinutes: config.loginAddressWindowMinutes,
      publicUrl: publicBaseUrl(config),
    },
  });
  // Named users against the network's licence: the gate every user write obeys, the report, the history.
  const namedUsers = createNamedUsers({ db, mail, clock, log: opts.log ?? stderrLog });
  // The job queue knows no kind of job: each module registers its own (kind, payload schema,
  // permission, counters, handler); the job service and the worker ask the registry.
  const jobKinds = createJobRegistry();
  const files = createFileStore(db);
  const jobs = createJobService({ db, files, registry: jobKinds });
  // SIS profiles, loads and exports, and their two kinds of job.
  const sisModule = createSisModule(db, codeTables, { files, jobs }, {
    uploadLimit: config.uploadLimit,
    batchSize: config.sisBatchSize,
    spoolDir,
    baseUrl: publicBaseUrl(config),
    licence: namedUsers.gate,
  });
  jobKinds.register(...sisModule.jobKinds);
  // The SSO-outage toggle and its revert, as jobs.
  const outage = createOutage({ db, clock, jobs, identity });
  jobKinds.register(...outage.jobKinds);
  const apiKeys = createApiKeyService(db, { cacheMs: config.apiKeyCacheMs });
  if (opts.authenticatesKeys !== false) await apiKeys.listen();
  const users = createUserService({ db, codeTables, credentials: identity.credentialPort, invites: identity.socialInvitePort, licence: namedUsers.gate });
  const browserSessions = createBrowserSessions(db, identity, clock, {
    idleMinutes: config.sessionIdleMinutes,
    absoluteMinutes: config.sessionAbsoluteMinutes,
  });
  // Alma's social invitation: the link's single use and the social id's binding in one transaction.
  const socialInvites = createSocialInviteBinder(db, users, { take: identity.takeSocialInvite });
  const signIn = createSignIn({ db, clock, publicUrl: publicBaseUrl(config), sessions: browserSessions, throttle: identity.loginThrottle, jit: createJitCreator(users, codeTables), invites: socialInvites });
  const samlFederation = createFederation(db, clock);
  useFederationIdps(samlFederation.store);
  const services = {
    institutions: createInstitutionService(db, codeTables),
    users,
    // Desk registration (users:register): a PUBLIC patron with a generated barcode.
    registration: createRegistration({ db, users, codeTables }),
    // The value each identifier generation rule gives next (config:manage), without taking it.
    identifierPreview: createIdentifierPreview({ db, codeTables }),
    userDocuments: createUserDocuments({ db, codeTables }),
    identity,
    browserSessions,
    // Login methods (SAML, CAS, LDAP, OIDC, social, e-mail link) and the sign-in through them.
    loginMethods: createLoginMethodService({ db, codeTables, publicUrl: publicBaseUrl(config), clock, changed: signIn.forgetMethods }),
    signIn,
    socialInvites,
    emailLinkSignIn: createEmailLinkSignIn({ db, clock, publicUrl: publicBaseUrl(config), identity, mail, signIn }),
    signInEvents: createSignInEvents(db),
    userHistory: createUserHistory(db),
    outage,
    // SAML federation aggregates: refreshed by the worker's idle hook, read by the SAML module.
    samlFederation,
    namedUsers,
    mail,
    apiKeys,
    codeTables,
    // Reading and replacing code tables (Alma's PUT /conf/code-tables/{name}, /api/v1/code-tables).
    codeTableService: createCodeTableService({ db, codeTables }),
    jobs,
    ...sisModule.services,
  };
  return {
    config,
    db,
    services,
    /** The kinds of job this process runs: what a worker is created with. */
    jobKinds,
    dropFolders: sisModule.dropFolders,
    /** What the job worker does between jobs (drop folders, housekeeping). */
    workerIdle: async () => {
      await sisModule.idle();
      await samlFederation.refreshDue();
      // The named-user history: today's counts, once a day.
      await namedUsers.snapshotDue();
    },
    close: async () => {
      await identity.close();
      await db.close();
    },
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
