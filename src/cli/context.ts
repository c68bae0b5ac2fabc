// What every command needs: the config from global options and env, and an app that is closed
// whatever happens. Command modules in ./commands register themselves with these.
import type { Command } from 'commander';
import { createApp, type App } from '../app.js';
import { loadConfig, type Config } from '../config.js';

export function configFrom(cmd: Command, extra: Partial<Config> = {}): Readonly<Config> {
  const o = cmd.optsWithGlobals<{ dataDir?: string; databaseUrl?: string }>();
  return loadConfig(process.env, {
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
    ...extra,
  });
}

/** Runs a one-shot command against the app and closes it, whatever happens. */
export async function withApp(cmd: Command, fn: (app: App) => Promise<void>): Promise<void> {
  const app = await createApp(configFrom(cmd, { logLevel: 'warn' }), { authenticatesKeys: false });
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}
