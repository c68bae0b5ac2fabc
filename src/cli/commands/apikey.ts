// `carrel apikey create|list|label|rotate|revoke|trust`: an institution's API keys. The key itself
// is printed once, by create and rotate; list shows what a person deciding what to revoke needs,
// never a secret or its hash. A revocation or rotation takes effect at once on every running
// server (see domain/access/api-keys.ts). Changes are audited, as on /api/v1/api-keys.
import type { Command } from 'commander';
import type { Actor } from '../../domain/access/actor.js';
import { withApp } from '../context.js';

const CLI_ACTOR: Actor = { kind: 'system', label: 'cli apikey' };

const TRUST_HELP =
  "op=auth with this key may name the end user's address in X-Carrel-Client-Address, so failures are throttled per end user, " +
  'not per key; only for an application that takes the address from its own connection';

const day = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

export function apiKeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('API keys');
  apikey
    .command('create')
    .description('create an API key; the key is the last line printed, and is shown only once')
    .requiredOption('--institution <code>', 'institution the key acts for')
    .option('--read-only', 'the key may read but not write')
    .option('--label <text>', 'what the key is for')
    .option('--trust-client-address', TRUST_HELP)
    .action(async (opts: { institution: string; readOnly?: boolean; label?: string; trustClientAddress?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const { key, listing } = await app.services.apiKeys.createFor(CLI_ACTOR, inst.id, {
          readOnly: opts.readOnly === true,
          label: opts.label ?? null,
          trustClientAddress: opts.trustClientAddress === true,
        });
        const id = listing.id;
        const trusted = opts.trustClientAddress ? ', trusted to send X-Carrel-Client-Address' : '';
        console.log(`created ${opts.readOnly ? 'read-only' : 'read-write'} key ${id} for ${inst.code}${trusted}`);
        console.log(key);
      }),
    );
  apikey
    .command('list')
    .description("list an institution's API keys (prefix, access, created, last used, revoked, label, id)")
    .requiredOption('--institution <code>', 'institution whose keys to list')
    .action(async (opts: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        // These columns are a contract for scripts (test/cli.test.ts): a rotation shows as a new prefix.
        console.log(['PREFIX', 'ACCESS', 'CREATED', 'LAST USED', 'REVOKED', 'LABEL', 'ID'].join('\t'));
        for (const k of await app.services.apiKeys.list(inst.id)) {
          const access = (k.readOnly ? 'read-only' : 'read-write') + (k.trustsClientAddress ? '+client-address' : '');
          console.log([k.prefix, access, day(k.createdAt), day(k.lastUsedAt), day(k.revokedAt), k.label ?? '-', k.id].join('\t'));
        }
      }),
    );
  apikey
    .command('trust <prefix-or-id>')
    .description(`mark a key trusted to send X-Carrel-Client-Address on op=auth (--off to withdraw): ${TRUST_HELP}`)
    .requiredOption('--institution <code>', 'institution the key belongs to')
    .option('--off', 'no longer trusted: op=auth with this key counts failures per key again')
    .action(async (prefixOrId: string, opts: { institution: string; off?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const key = await app.services.apiKeys.setTrustsClientAddress(inst.id, prefixOrId, opts.off !== true);
        console.log(`key ${key.prefix} (${key.id}) of ${inst.code} ${opts.off ? 'is no longer' : 'is'} trusted to send the client address`);
      }),
    );
  apikey
    .command('revoke <prefix-or-id>')
    .description('revoke an API key (by the prefix shown by list, or its id); every server refuses it from then on')
    .requiredOption('--institution <code>', 'institution the key belongs to')
    .action(async (prefixOrId: string, opts: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const { key, revoked } = await app.services.apiKeys.revokeFor(CLI_ACTOR, inst.id, prefixOrId);
        console.log(revoked ? `revoked key ${key.prefix} (${key.id}) of ${inst.code}` : `key ${key.prefix} (${key.id}) was already revoked`);
      }),
    );
  apikey
    .command('label <prefix-or-id> <label>')
    .description('say what a key is for ("" for no label)')
    .requiredOption('--institution <code>', 'institution the key belongs to')
    .action(async (prefixOrId: string, label: string, opts: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const key = await app.services.apiKeys.labelFor(CLI_ACTOR, inst.id, prefixOrId, label);
        console.log(`key ${key.prefix} (${key.id}) of ${inst.code} is labelled ${key.label ?? '(none)'}`);
      }),
    );
  apikey
    .command('rotate <prefix-or-id>')
    .description('give a key a new secret, the last line printed and shown only once; the old secret stops at once on every server')
    .requiredOption('--institution <code>', 'institution the key belongs to')
    .action(async (prefixOrId: string, opts: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const { key, listing } = await app.services.apiKeys.rotateFor(CLI_ACTOR, inst.id, prefixOrId);
        console.log(`rotated key ${listing.id} of ${inst.code}; its prefix is now ${listing.prefix}`);
        console.log(key);
      }),
    );
}
