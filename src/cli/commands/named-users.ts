// `carrel named-users [--institution CODE] [--snapshot]`: named users per institution and per
// network against the licence (domain/institutions/named-users.ts); --snapshot also writes
// today's history row now (the worker does it daily). The named-user settings are options of
// `institution settings` (src/cli/main.ts, checked by the domain's settings rules).
import type { Command } from 'commander';
import type { Actor } from '../../domain/access/actor.js';
import { withApp } from '../context.js';

const CLI_ACTOR: Actor = { kind: 'system', label: `cli named-users (${process.env.USER ?? 'operator'})` };

export function namedUserCommand(program: Command): void {
  program
    .command('named-users')
    .description('named users (active users with an active named-user role) per institution and network, against the licence')
    .option('--institution <code>', 'only this institution and its network')
    .option('--snapshot', "also write today's counts into the history")
    .action(async (opts: { institution?: string; snapshot?: boolean }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const { namedUsers } = app.services;
        if (opts.snapshot) {
          const { day, institutions } = await namedUsers.snapshot(CLI_ACTOR);
          console.log(`snapshot ${day}: ${institutions} institutions`);
        }
        const { networks, standalone } = await namedUsers.overview(CLI_ACTOR, opts.institution);
        for (const n of networks) {
          const licence = n.licence === null ? 'no licence tracked' : `licence ${n.licence}, warn from ${n.warnLine}, at the licence: ${n.atLimit}`;
          console.log(`network ${n.code}\t${n.count}\t${n.state}\t${licence}`);
          for (const i of n.institutions) console.log(`  ${i.code}\t${i.count}`);
        }
        for (const i of standalone) console.log(`${i.code}\t${i.count}\t(no network)`);
      }),
    );
}
