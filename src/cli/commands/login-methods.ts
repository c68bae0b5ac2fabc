// `carrel login-method ...`: an institution's login methods from the command line (the same use
// cases as /api/v1/login-methods). --config takes JSON, or @file for a JSON file. Secrets are
// shown as "set"; an update that does not give one keeps it.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Actor } from '../../domain/access/actor.js';
import type { LoginMethodInput, LoginMethodView } from '../../domain/sign-in/login-methods.js';
import { withApp } from '../context.js';

const actor: Actor = { kind: 'system', label: 'cli' };

interface MethodOptions {
  institution: string;
  type?: string;
  label?: string;
  match?: string;
  config?: string;
  jitRecordType?: string;
  jitUserGroup?: string;
  jit?: boolean;
  enabled?: boolean;
  position?: string;
}

function inputOf(o: MethodOptions): LoginMethodInput {
  const input: LoginMethodInput = {};
  if (o.type !== undefined) input.type = o.type;
  if (o.label !== undefined) input.label = o.label;
  if (o.match !== undefined) input.match = o.match;
  if (o.config !== undefined) input.config = o.config.startsWith('@') ? readFileSync(o.config.slice(1), 'utf8') : o.config;
  if (o.jit === false) input.jit = null;
  else if (o.jitRecordType !== undefined || o.jitUserGroup !== undefined) {
    input.jit = { recordType: o.jitRecordType ?? 'PUBLIC', userGroup: o.jitUserGroup ?? null };
  }
  if (o.enabled !== undefined) input.enabled = o.enabled;
  if (o.position !== undefined) input.position = Number(o.position);
  return input;
}

function show(m: LoginMethodView): string {
  return JSON.stringify(m, null, 2);
}

function withMethodOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--institution <code>', 'institution of the method')
    .option('--type <type>', 'saml, cas, ldap, oidc, google, facebook, twitter or email-link')
    .option('--label <text>', "the login page's button")
    .option('--match <idtype>', 'primary_id or an identifier type code (UNIV_ID, GOOGLE_ID ...)')
    .option('--config <json|@file>', "the type's settings as a JSON object")
    .option('--jit-record-type <type>', 'create unknown users just in time, of this record type (PUBLIC, STAFF)')
    .option('--jit-user-group <code>', 'user group of users created just in time')
    .option('--no-jit', 'never create unknown users (the default)')
    .option('--enabled', 'offer the method on the login page (the default)')
    .option('--disabled', 'do not offer the method')
    .option('--position <n>', 'order on the login page');
}

/** commander keeps --disabled apart from --enabled: one flag for the service. */
function enabledOf(o: MethodOptions & { disabled?: boolean }): MethodOptions {
  return o.disabled ? { ...o, enabled: false } : o;
}

export function loginMethodCommands(program: Command): void {
  const lm = program.command('login-method').description('login methods: SAML, CAS, LDAP, OIDC, social, e-mail link');

  withMethodOptions(lm.command('create <code>').description('create a login method')).action(
    async (code: string, o: MethodOptions & { disabled?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        const created = await app.services.loginMethods.create(actor, inst.id, { ...inputOf(enabledOf(o)), code });
        console.log(`created login method ${created.code}`);
        console.log(show(created));
      }),
  );

  withMethodOptions(lm.command('update <code>').description('change a login method (the options given)')).action(
    async (code: string, o: MethodOptions & { disabled?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        console.log(show(await app.services.loginMethods.update(actor, inst.id, code, inputOf(enabledOf(o)))));
      }),
  );

  lm.command('list')
    .description("list an institution's login methods")
    .requiredOption('--institution <code>', 'institution')
    .action(async (o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        for (const m of await app.services.loginMethods.list(actor, inst.id)) {
          console.log(`${m.code}\t${m.type}\tmatch ${m.match}\t${m.enabled ? 'enabled' : 'disabled'}\t${m.label}`);
        }
      }),
    );

  lm.command('show <code>')
    .description('show a login method and the URLs campus IT registers')
    .requiredOption('--institution <code>', 'institution')
    .action(async (code: string, o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        console.log(show(await app.services.loginMethods.show(actor, inst.id, code)));
      }),
    );

  lm.command('delete <code>')
    .description('delete a login method')
    .requiredOption('--institution <code>', 'institution')
    .action(async (code: string, o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        await app.services.loginMethods.remove(actor, inst.id, code);
        console.log(`deleted login method ${code}`);
      }),
    );
}
