#!/usr/bin/env node
// `carrel`: the command line, also the contract for scripts and checks (keep these names).
import { Command, Option } from 'commander';
import { createApp } from '../app.js';
import { migrate } from '../db/migrate.js';
import { AppError } from '../errors.js';
import { apiKeyCommands } from './commands/apikey.js';
import { codeTableCommands } from './commands/code-tables.js';
import { loginMethodCommands } from './commands/login-methods.js';
import { outageCommands } from './commands/outage.js';
import { generationRules, identitySettingsPatch, usersCommand } from './commands/users.js';
import { namedUserCommand } from './commands/named-users.js';
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
  .option(
    '--generate-identifier <RECORD_TYPE=TYPE:PREFIX:PADDING:CHECK...>',
    'generate this identifier for new users without one, e.g. PUBLIC=BARCODE:2319:8:mod10 (CHECK none, luhn or mod10; "PUBLIC=" to stop)',
  )
  .option('--unique-across-network <bool>', 'primary ids and identifiers unique across the whole network')
  .option('--named-user-license <n>', 'the network\'s named-user licence ("" for none)')
  .option('--break-glass-notify <addresses>', 'the network: e-mail these (comma-separated; "" for none) at every break-glass sign-in')
  .option('--named-user-warn-percent <n>', 'the network: warn from this share of the named-user licence (1 to 100)')
  .option('--named-user-at-limit <warn|refuse>', 'the network: at the licence, only warn or refuse new named users')
  .option('--named-user-notify <addresses>', 'the network: e-mail these (comma-separated) at the warning line and the licence')
  .option('--external-password-fallback <bool>', 'EXTERNAL users may also hold a local password')
  .option('--password-min-length <n>', 'password policy: minimum length (never below 8)')
  .option('--password-classes <list>', 'password policy: required classes, of lower,upper,digit,symbol ("" for none)')
  .option('--login-max-failures <n>', 'failed logins before an account locks (Alma: 15)')
  .option('--login-lock-minutes <n>', 'how long a locked account stays locked (Alma: 30)')
  .action(async (code: string, opts: Record<string, string | string[] | undefined>, cmd: Command) =>
    withApp(cmd, async (app) => {
      const { institutions } = app.services;
      // Checked (types, ranges, code values) and audited by the domain, as on /api/v1.
      const patch: Record<string, unknown> = {};
      if (typeof opts.primaryIdRegex === 'string') patch.primaryIdentifierRegex = opts.primaryIdRegex || null;
      if (typeof opts.preferredIdentifier === 'string') patch.preferredIdentifier = opts.preferredIdentifier || null;
      if (Array.isArray(opts.mandatoryIdentifier)) {
        // A merge: PUBLIC=BARCODE sets PUBLIC's, PUBLIC= clears it, other record types are kept.
        patch.mandatoryIdentifier = Object.fromEntries(opts.mandatoryIdentifier.map((pair) => {
          const [recordType = '', idType] = pair.split('=');
          return [recordType, idType || null];
        }));
      }
      if (Array.isArray(opts.generateIdentifier)) {
        // The settings patch merges per record type: a rule the option removed is sent as null.
        const current = (await institutions.byCode(code)).settings.identifierGeneration;
        const rules = generationRules(current, opts.generateIdentifier);
        patch.identifierGeneration = { ...Object.fromEntries(Object.keys(current).map((recordType) => [recordType, null])), ...rules };
      }
      Object.assign(patch, identitySettingsPatch(opts));
      const updated = await institutions.updateSettings(code, patch);
      console.log(JSON.stringify(updated.settings, null, 2));
      const list = (v: string) => v.split(',').map((a) => a.trim()).filter(Boolean);
      const networkPatch: Record<string, unknown> = {
        ...(opts.uniqueAcrossNetwork !== undefined ? { uniqueIdsAcrossNetwork: opts.uniqueAcrossNetwork === 'true' } : {}),
        ...(typeof opts.namedUserLicense === 'string' ? { namedUserLicense: opts.namedUserLicense === '' ? null : Number(opts.namedUserLicense) } : {}),
        ...(typeof opts.breakGlassNotify === 'string' ? { breakGlassNotify: list(opts.breakGlassNotify) } : {}),
        ...(typeof opts.namedUserWarnPercent === 'string' ? { namedUserWarnPercent: Number(opts.namedUserWarnPercent) } : {}),
        ...(typeof opts.namedUserAtLimit === 'string' ? { namedUserAtLimit: opts.namedUserAtLimit } : {}),
        ...(typeof opts.namedUserNotify === 'string' ? { namedUserNotify: list(opts.namedUserNotify) } : {}),
      };
      if (Object.keys(networkPatch).length) {
        const network = await institutions.updateNetworkSettings(code, networkPatch);
        console.log(JSON.stringify(network, null, 2));
      }
    }),
  );

apiKeyCommands(program);
usersCommand(program);
profileCommands(program);
loginMethodCommands(program);
codeTableCommands(program);
sisCommands(program);
workerCommand(program);
outageCommands(program);
namedUserCommand(program);

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof AppError ? `error: ${err.message}` : err);
  process.exitCode = 1;
});
