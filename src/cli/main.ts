#!/usr/bin/env node
// `carrel`: the command line, also the contract for scripts and checks (keep these names).
import { Command, Option } from 'commander';
import { createApp } from '../app.js';
import { migrate } from '../db/migrate.js';
import { AppError } from '../errors.js';
import { apiKeyCommands } from './commands/apikey.js';
import { loginMethodCommands } from './commands/login-methods.js';
import { outageCommands } from './commands/outage.js';
import { identitySettingsPatch, usersCommand } from './commands/users.js';
import { sisCommands } from './commands/sis.js';
import { profileCommands } from './commands/sis-profiles.js';
import { workerCommand } from './commands/worker.js';
import { configFrom, withApp } from './context.js';

const program = new Command()
  .name('carrel')
  .description('Identity and user management for library networks')
  .addOption(new Option('--data-dir <dir>', 'embedded database directory').env('CARREL_DATA_DIR'))
  .addOption(new Option('--database-url <url>', 'PostgreSQL connection string (else embedded PGlite)').env('DATABASE_URL'))
  .showHelpAfterError();

program
  .command('serve')
  .description('serve the HTTP API')
  .addOption(new Option('--port <n>', 'port to listen on').env('PORT'))
  .addOption(new Option('--host <addr>', 'address to listen on').env('HOST'))
  .option('--demo', 'create the demo network on an empty database and print its API keys')
  .option('--no-worker', 'do not run the job worker in this process (run `carrel worker` elsewhere)')
  .action(async (opts: { port?: string; host?: string; demo?: boolean; worker?: boolean }, cmd: Command) => {
    const config = configFrom(cmd, {
      ...(opts.port ? { port: Number(opts.port) } : {}),
      ...(opts.host ? { host: opts.host } : {}),
      // The demo is development: its mail (set-password links) goes to the log.
      ...(opts.demo ? { mailDevLog: true } : {}),
    });
    // Loaded here, not above: the HTTP server (Fastify, the routes, Swagger) is most of what a
    // start-up loads, and the one-shot commands (`carrel import` …) need none of it.
    const { serve } = await import('./commands/serve.js');
    await serve(config, { demo: opts.demo === true, worker: opts.worker !== false });
  });

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async (_opts: unknown, cmd: Command) => {
    // createApp migrates on start; this command opens without it to report what it applies.
    const app = await createApp(configFrom(cmd, { logLevel: 'warn' }), { migrate: false, authenticatesKeys: false });
    try {
      const { applied } = await migrate(app.db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await app.close();
    }
  });

const institution = program.command('institution').description('network zones and member institutions');
institution
  .command('create <code>')
  .description('create an institution (a network zone with --network-zone, a member with --network)')
  .requiredOption('--name <name>', 'display name')
  .option('--network-zone', 'create a new network with this institution as its network zone')
  .option('--network <code>', 'join the network of this network zone')
  .action(async (code: string, opts: { name: string; networkZone?: boolean; network?: string }, cmd: Command) =>
    withApp(cmd, async (app) => {
      const created = await app.services.institutions.create({ code, name: opts.name, networkZone: opts.networkZone, network: opts.network });
      console.log(`created institution ${created.code}${created.isNetworkZone ? ' (network zone)' : ''}`);
    }),
  );
institution
  .command('list')
  .description('list institutions')
  .action(async (_o: unknown, cmd: Command) =>
    withApp(cmd, async (app) => {
      for (const i of await app.services.institutions.list()) {
        console.log(`${i.code}\t${i.isNetworkZone ? 'network zone' : i.networkId ? 'member' : 'standalone'}\t${i.name}`);
      }
    }),
  );
institution
  .command('settings <code>')
  .description("change an institution's user rules")
  .option('--primary-id-regex <re>', 'primary ids must match this ("" to clear)')
  .option('--mandatory-identifier <RECORD_TYPE=ID_TYPE...>', 'identifier type required per record type ("PUBLIC=" to clear)')
  .option('--preferred-identifier <type>', 'identifier shown for the user')
  .option('--unique-across-network <bool>', 'primary ids and identifiers unique across the whole network')
  .option('--named-user-license <n>', "the network's named-user licence")
  .option('--break-glass-notify <addresses>', 'the network: e-mail these (comma-separated; "" for none) at every break-glass sign-in')
  .option('--external-password-fallback <bool>', 'EXTERNAL users may also hold a local password')
  .option('--password-min-length <n>', 'password policy: minimum length (never below 8)')
  .option('--password-classes <list>', 'password policy: required classes, of lower,upper,digit,symbol ("" for none)')
  .option('--login-max-failures <n>', 'failed logins before an account locks (Alma: 15)')
  .option('--login-lock-minutes <n>', 'how long a locked account stays locked (Alma: 30)')
  .action(async (code: string, opts: Record<string, string | string[] | undefined>, cmd: Command) =>
    withApp(cmd, async (app) => {
      const { institutions } = app.services;
      const current = await institutions.byCode(code);
      const patch: Parameters<typeof institutions.updateSettings>[1] = {};
      if (typeof opts.primaryIdRegex === 'string') patch.primaryIdentifierRegex = opts.primaryIdRegex || null;
      if (typeof opts.preferredIdentifier === 'string') patch.preferredIdentifier = opts.preferredIdentifier || null;
      if (Array.isArray(opts.mandatoryIdentifier)) {
        const mandatory = { ...current.settings.mandatoryIdentifier };
        for (const pair of opts.mandatoryIdentifier) {
          const [recordType, idType] = pair.split('=') as [keyof typeof mandatory, string | undefined];
          if (idType) mandatory[recordType] = idType;
          else delete mandatory[recordType];
        }
        patch.mandatoryIdentifier = mandatory;
      }
      Object.assign(patch, identitySettingsPatch(opts));
      const updated = await institutions.updateSettings(code, patch);
      console.log(JSON.stringify(updated.settings, null, 2));
      if (opts.uniqueAcrossNetwork !== undefined || opts.namedUserLicense !== undefined || opts.breakGlassNotify !== undefined) {
        const network = await institutions.updateNetworkSettings(code, {
          ...(opts.uniqueAcrossNetwork !== undefined ? { uniqueIdsAcrossNetwork: opts.uniqueAcrossNetwork === 'true' } : {}),
          ...(opts.namedUserLicense !== undefined ? { namedUserLicense: Number(opts.namedUserLicense) } : {}),
          ...(typeof opts.breakGlassNotify === 'string'
            ? { breakGlassNotify: opts.breakGlassNotify.split(',').map((a) => a.trim()).filter(Boolean) }
            : {}),
        });
        console.log(JSON.stringify(network, null, 2));
      }
    }),
  );

apiKeyCommands(program);
usersCommand(program);
profileCommands(program);
loginMethodCommands(program);
sisCommands(program);
workerCommand(program);
outageCommands(program);

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof AppError ? `error: ${err.message}` : err);
  process.exitCode = 1;
});
