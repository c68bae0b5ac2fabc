// Configuration, parsed once from the environment (and an optional JSON file named by
// CARREL_CONFIG) into one frozen object. Nothing else in Carrel reads process.env.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; when absent Carrel runs on the embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Public base URL, for the `link` fields Alma clients follow. */
  publicUrl: string | undefined;
  /**
   * Reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (addresses, CIDRs, or
   * loopback, linklocal, uniquelocal); empty: none, the peer is the client.
   */
  trustedProxies: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  dbPoolSize: number;
  /** How long a statement waits for a database connection before failing with 503 (PostgreSQL). */
  dbConnectTimeoutMs: number;
  /** How long `carrel serve` waits at start for a database that cannot be reached yet (0: fail at once). */
  dbStartWaitSeconds: number;
  /** How long a verified API key is trusted without asking the database: the most a revocation can take. */
  apiKeyCacheMs: number;
  /** argon2id cost for new password hashes (OWASP: 19456 KiB, 2 passes, 1 lane). */
  argon2MemoryKiB: number;
  argon2TimeCost: number;
  argon2Parallelism: number;
  /** How long links stay valid: forgot-password, set-password (sent by staff), e-mail login. */
  resetLinkMinutes: number;
  setPasswordLinkHours: number;
  emailLoginLinkMinutes: number;
  /** How long Alma's social-login invitation (POST /users?social_authentication=true) stays usable. */
  socialInviteLinkHours: number;
  /** Failed logins from one client address (across accounts) before it is refused for the window. */
  loginAddressMaxFailures: number;
  loginAddressWindowMinutes: number;
  /** smtp://user:pass@host:port (or smtps://); without it mail stays in the outbox. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Print each outgoing mail (links included, never passwords) to the log: development only. */
  mailDevLog: boolean;
  mailIntervalMs: number;
  /** Largest SIS file accepted by upload (bytes); the rest of the API keeps bodyLimit. */
  uploadLimit: number;
  /** Records per transaction in an SIS load; 0 is the default, 500. */
  sisBatchSize: number;
  /** Login-page sessions end after this long without a request, and this long after sign-in whatever happens. */
  sessionIdleMinutes: number;
  sessionAbsoluteMinutes: number;
  /** How often an idle job worker looks at the queue. */
  workerPollMs: number;
  /** The built staff console (`npm run build` writes it), served at `/`; absent: `/` says to build it. */
  consoleDir: string;
}

// The console is built beside the compiled code (dist/src/config.js -> dist/web). Run from the
// sources (tsx: src/config.ts) the folder beside them is web/'s sources, so look in dist/web.
const HERE = fileURLToPath(import.meta.url);
const DEFAULT_CONSOLE_DIR = resolve(dirname(HERE), HERE.endsWith('.ts') ? '../dist/web' : '../web');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function bool(name: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no', ''].includes(s)) return false;
  throw new Error(`config ${name} must be true or false, got ${String(raw)}`);
}

const PROXY_KEYWORDS = ['loopback', 'linklocal', 'uniquelocal'];

function proxyList(name: string, raw: unknown): string[] {
  const list = (Array.isArray(raw) ? raw.map(String) : String(raw ?? '').split(',')).map((s) => s.trim()).filter(Boolean);
  for (const entry of list) {
    const [address = '', prefix, extra] = entry.split('/');
    const kind = isIP(address);
    const okPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (kind === 6 ? 128 : 32));
    if (!(PROXY_KEYWORDS.includes(entry) || (kind && okPrefix && extra === undefined))) {
      throw new Error(`config ${name}: ${entry} is not an address, a CIDR, or one of ${PROXY_KEYWORDS.join(', ')}`);
    }
  }
  return list;
}

function int(name: string, raw: unknown, min: number, max: number): number {
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`config ${name} must be an integer from ${min} to ${max}, got ${String(raw)}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const file = env.CARREL_CONFIG ? (JSON.parse(readFileSync(env.CARREL_CONFIG, 'utf8')) as Partial<Config>) : {};
  const pick = <K extends keyof Config>(key: K, envName: string): unknown => overrides[key] ?? env[envName] ?? file[key];
  const logLevel = String(pick('logLevel', 'LOG_LEVEL') ?? 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new Error(`config logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  const databaseUrl = (pick('databaseUrl', 'DATABASE_URL') as string | undefined) || undefined;
  const config: Config = {
    port: int('port', pick('port', 'PORT') ?? 3000, 0, 65535),
    host: String(pick('host', 'HOST') ?? '127.0.0.1'),
    databaseUrl,
    dataDir: resolve(String(pick('dataDir', 'CARREL_DATA_DIR') ?? './data')),
    publicUrl: (pick('publicUrl', 'CARREL_PUBLIC_URL') as string | undefined) || undefined,
    trustedProxies: proxyList('trustedProxies', pick('trustedProxies', 'CARREL_TRUSTED_PROXIES')),
    logLevel: logLevel as Config['logLevel'],
    bodyLimit: int('bodyLimit', pick('bodyLimit', 'CARREL_BODY_LIMIT') ?? 1_048_576, 1024, 1_073_741_824),
    dbPoolSize: int('dbPoolSize', pick('dbPoolSize', 'CARREL_DB_POOL_SIZE') ?? 10, 1, 200),
    dbConnectTimeoutMs: int('dbConnectTimeoutMs', pick('dbConnectTimeoutMs', 'CARREL_DB_CONNECT_TIMEOUT_MS') ?? 10_000, 100, 600_000),
    dbStartWaitSeconds: int('dbStartWaitSeconds', pick('dbStartWaitSeconds', 'CARREL_DB_START_WAIT_SECONDS') ?? 60, 0, 86_400),
    apiKeyCacheMs: int('apiKeyCacheMs', pick('apiKeyCacheMs', 'CARREL_API_KEY_CACHE_MS') ?? 5_000, 0, 600_000),
    argon2MemoryKiB: int('argon2MemoryKiB', pick('argon2MemoryKiB', 'CARREL_ARGON2_MEMORY_KIB') ?? 19_456, 8, 4_194_304),
    argon2TimeCost: int('argon2TimeCost', pick('argon2TimeCost', 'CARREL_ARGON2_TIME_COST') ?? 2, 1, 100),
    argon2Parallelism: int('argon2Parallelism', pick('argon2Parallelism', 'CARREL_ARGON2_PARALLELISM') ?? 1, 1, 64),
    resetLinkMinutes: int('resetLinkMinutes', pick('resetLinkMinutes', 'CARREL_RESET_LINK_MINUTES') ?? 60, 1, 10_080),
    setPasswordLinkHours: int('setPasswordLinkHours', pick('setPasswordLinkHours', 'CARREL_SET_PASSWORD_LINK_HOURS') ?? 24, 1, 720),
    emailLoginLinkMinutes: int('emailLoginLinkMinutes', pick('emailLoginLinkMinutes', 'CARREL_EMAIL_LOGIN_LINK_MINUTES') ?? 15, 1, 1440),
    socialInviteLinkHours: int('socialInviteLinkHours', pick('socialInviteLinkHours', 'CARREL_SOCIAL_INVITE_LINK_HOURS') ?? 168, 1, 720),
    loginAddressMaxFailures: int('loginAddressMaxFailures', pick('loginAddressMaxFailures', 'CARREL_LOGIN_ADDRESS_MAX_FAILURES') ?? 100, 1, 1_000_000),
    loginAddressWindowMinutes: int('loginAddressWindowMinutes', pick('loginAddressWindowMinutes', 'CARREL_LOGIN_ADDRESS_WINDOW_MINUTES') ?? 15, 1, 1440),
    smtpUrl: (pick('smtpUrl', 'CARREL_SMTP_URL') as string | undefined) || undefined,
    mailFrom: String(pick('mailFrom', 'CARREL_MAIL_FROM') ?? 'Carrel <no-reply@localhost>'),
    mailDevLog: bool('mailDevLog', pick('mailDevLog', 'CARREL_MAIL_DEV_LOG') ?? env.NODE_ENV === 'development'),
    mailIntervalMs: int('mailIntervalMs', pick('mailIntervalMs', 'CARREL_MAIL_INTERVAL_MS') ?? 5_000, 100, 3_600_000),
    uploadLimit: int('uploadLimit', pick('uploadLimit', 'CARREL_UPLOAD_LIMIT') ?? 2 * 1024 ** 3, 1024, Number.MAX_SAFE_INTEGER),
    sisBatchSize: int('sisBatchSize', pick('sisBatchSize', 'CARREL_SIS_BATCH_SIZE') ?? 0, 0, 10_000),
    sessionIdleMinutes: int('sessionIdleMinutes', pick('sessionIdleMinutes', 'CARREL_SESSION_IDLE_MINUTES') ?? 30, 1, 10_080),
    sessionAbsoluteMinutes: int('sessionAbsoluteMinutes', pick('sessionAbsoluteMinutes', 'CARREL_SESSION_ABSOLUTE_MINUTES') ?? 720, 1, 43_200),
    workerPollMs: int('workerPollMs', pick('workerPollMs', 'CARREL_WORKER_POLL_MS') ?? 1_000, 10, 600_000),
    consoleDir: resolve(String(pick('consoleDir', 'CARREL_CONSOLE_DIR') ?? DEFAULT_CONSOLE_DIR)),
  };
  return Object.freeze(config);
}
