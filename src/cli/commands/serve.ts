// `carrel serve`: the HTTP server on the configured database, until SIGINT or SIGTERM.
import { createApp, type App } from '../../app.js';
import type { Config } from '../../config.js';
import { outlastOutage } from '../../model/backoff.js';
import { buildServer } from '../../http/server.js';
import { isLoopbackHost, publicBaseUrl } from '../../public-url.js';
import { issueDemoKeys, issueDemoStaffPassword, seedDemo } from '../demo.js';
import { startWorker } from './worker.js';

/**
 * Said at start-up when Carrel listens beyond this machine knowing neither its public URL nor its
 * proxies: links then name the configured host:port, and behind a proxy every client shares the
 * proxy's address in the login throttle.
 */
export function exposureWarning(config: Pick<Config, 'publicUrl' | 'trustedProxies' | 'host' | 'port'>): string | undefined {
  if (config.publicUrl || config.trustedProxies.length || isLoopbackHost(config.host)) return undefined;
  return (
    `WARNING: listening on ${config.host} with neither CARREL_PUBLIC_URL nor CARREL_TRUSTED_PROXIES set. ` +
    `Links in answers and e-mails will use ${publicBaseUrl(config)}, and behind a reverse proxy every client will ` +
    'share the proxy\'s address in the login throttle. Set CARREL_PUBLIC_URL to the address clients use, and ' +
    'CARREL_TRUSTED_PROXIES to the proxy\'s address(es) if there is one.'
  );
}

/**
 * The app, once its database answers. A service started beside its database (a container, a host
 * booting) may come up first: it waits, trying again 1 s, 2 s, 4 s … 30 s apart, for at most
 * `dbStartWaitSeconds`, and says so, rather than exiting for its supervisor to restart it blind.
 */
export async function startApp(config: Readonly<Config>, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<App> {
  return outlastOutage(() => createApp(config), {
    firstMs: 1000,
    maxMs: 30_000,
    patienceMs: config.dbStartWaitSeconds * 1000,
    onWait: (err, _attempt, waitMs) => log(`the database cannot be reached yet (${err.message}); trying again in ${waitMs / 1000} s`),
  });
}

export async function serve(config: Readonly<Config>, opts: { demo: boolean; worker?: boolean }): Promise<void> {
  const app = await startApp(config);
  const server = await buildServer(app);
  // The outbox is drained only when SMTP (or, in development, the log) is configured.
  const mailSender = app.services.mail.delivering ? app.services.mail.start({ intervalMs: config.mailIntervalMs, log: server.log }) : undefined;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    server.log.info({ signal }, 'shutting down');
    await server.close();
    await mailSender?.stop();
    // A running job is handed back to the queue at its next batch boundary.
    await worker?.stop();
    // The embedded database must be closed cleanly or its last writes may not reach the disk.
    await app.close();
  };
  // The job worker (SIS loads, exports, drop folders) unless --no-worker.
  const worker = opts.worker === false ? undefined : startWorker(app, (msg, extra, level = 'info') => server.log[level](extra ?? {}, msg));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  let keys: { code: string; key: string }[] = [];
  let staff: Awaited<ReturnType<typeof issueDemoStaffPassword>>;
  if (opts.demo) {
    const created = await seedDemo(app);
    keys = await issueDemoKeys(app);
    staff = await issueDemoStaffPassword(app);
    if (created) server.log.info('created the demo network');
  }
  const address = await server.listen({ port: config.port, host: config.host });
  const warning = exposureWarning(config);
  if (warning) {
    server.log.warn(warning);
    process.stderr.write(`${warning}\n`);
  }
  const where = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  const lines = [
    `Carrel is serving on ${address} (database: ${where})`,
    `  Staff console:  ${address}/${staff ? `?institution=${staff.institution}` : ''}`,
    `  Alma Users API: ${address}/almaws/v1/users`,
    `  API docs:       ${address}/api/docs`,
  ];
  if (staff) lines.push(`  Demo staff user (console; new password at every start): ${staff.primaryId} / ${staff.password} at ${staff.institution}`);
  if (keys.length) {
    lines.push('  Demo API keys (read-write; new ones at every start):');
    for (const k of keys) lines.push(`    ${k.code.padEnd(16)} ${k.key}`);
    lines.push(`  Try: curl -H 'Authorization: apikey ${keys[1]?.key ?? keys[0]!.key}' -H 'Accept: application/json' ${address}/almaws/v1/users`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
