// Configuration, parsed once from the environment (and an optional JSON file named by
// CARREL_CONFIG) into one frozen object. Nothing else in Carrel reads process.env.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; when absent Carrel runs on the embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Public base URL, for the `link` fields Alma clients follow. */
  publicUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  dbPoolSize: number;
  apiKeyCacheMs: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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
    logLevel: logLevel as Config['logLevel'],
    bodyLimit: int('bodyLimit', pick('bodyLimit', 'CARREL_BODY_LIMIT') ?? 1_048_576, 1024, 1_073_741_824),
    dbPoolSize: int('dbPoolSize', pick('dbPoolSize', 'CARREL_DB_POOL_SIZE') ?? 10, 1, 200),
    apiKeyCacheMs: int('apiKeyCacheMs', pick('apiKeyCacheMs', 'CARREL_API_KEY_CACHE_MS') ?? 10_000, 0, 600_000),
  };
  return Object.freeze(config);
}
