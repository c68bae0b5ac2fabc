// `carrel apikey create|list|revoke`: an institution's API keys. The key itself is printed once,
// by create; list shows what a person deciding what to revoke needs, never a secret or its hash.
// A revocation takes effect at once on every running server (see domain/access/api-keys.ts).
import type { Command } from 'commander';
import { withApp } from '../context.js';

const day = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

export function apiKeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('API keys');
  apikey
    .command('create')
    .description('create an API key; the key is the last line printed, and is shown only once')
    .requiredOption('--institution <code>', 'institution the key acts for')
    .option('--read-only', 'the key may read but not write')
    .option('--label <text>', 'what the key is for')
    .action(async (opts: { institution: string; readOnly?: boolean; label?: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const { id, key } = await app.services.apiKeys.create(inst.id, { readOnly: opts.readOnly === true, label: opts.label });
        console.log(`created ${opts.readOnly ? 'read-only' : 'read-write'} key ${id} for ${inst.code}`);
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
        console.log(['PREFIX', 'ACCESS', 'CREATED', 'LAST USED', 'REVOKED', 'LABEL', 'ID'].join('\t'));
        for (const k of await app.services.apiKeys.list(inst.id)) {
          const access = k.readOnly ? 'read-only' : 'read-write';
          console.log([k.prefix, access, day(k.createdAt), day(k.lastUsedAt), day(k.revokedAt), k.label ?? '-', k.id].join('\t'));
        }
      }),
    );
  apikey
    .command('revoke <prefix-or-id>')
    .description('revoke an API key (by the prefix shown by list, or its id); every server refuses it from then on')
    .requiredOption('--institution <code>', 'institution the key belongs to')
    .action(async (prefixOrId: string, opts: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(opts.institution);
        const { key, revoked } = await app.services.apiKeys.revoke(inst.id, prefixOrId);
        console.log(revoked ? `revoked key ${key.prefix} (${key.id}) of ${inst.code}` : `key ${key.prefix} (${key.id}) was already revoked`);
      }),
    );
}
