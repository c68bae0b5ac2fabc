// `carrel profile ...`: integration profiles from the command line (the same use cases as
// /api/v1/integration-profiles). --csv-mapping takes JSON, or @file for a JSON file.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Actor } from '../../domain/access/actor.js';
import type { IntegrationProfile, ProfileInput } from '../../model/profile.js';
import { withApp } from '../context.js';

const actor: Actor = { kind: 'system', label: 'cli' };

interface ProfileOptions {
  institution: string;
  name?: string;
  recordType?: string;
  matchBy?: string;
  mode?: string;
  format?: string;
  csvMapping?: string;
  dropFolder?: string;
  pollSeconds?: string;
  deactivateMissing?: boolean;
  settleSeconds?: string;
  apiKeyEditsAreManual?: boolean;
}

function inputOf(o: ProfileOptions): ProfileInput {
  const input: ProfileInput = {};
  if (o.name !== undefined) input.name = o.name;
  if (o.recordType !== undefined) input.recordType = o.recordType;
  if (o.matchBy !== undefined) input.matchBy = o.matchBy;
  if (o.mode !== undefined) input.mode = o.mode;
  if (o.format !== undefined) input.format = o.format;
  if (o.csvMapping !== undefined) input.csvMapping = o.csvMapping.startsWith('@') ? readFileSync(o.csvMapping.slice(1), 'utf8') : o.csvMapping;
  if (o.dropFolder !== undefined) input.dropFolder = o.dropFolder || null;
  if (o.pollSeconds !== undefined) input.pollSeconds = Number(o.pollSeconds);
  if (o.deactivateMissing !== undefined) input.deactivateMissing = o.deactivateMissing;
  // Only the settings given: the others stay as they are (validateProfile merges them).
  const settings: Record<string, unknown> = {};
  if (o.settleSeconds !== undefined) settings.settleSeconds = Number(o.settleSeconds);
  if (o.apiKeyEditsAreManual !== undefined) settings.apiKeyEditsAreManual = o.apiKeyEditsAreManual;
  if (Object.keys(settings).length) input.settings = settings;
  return input;
}

function show(p: IntegrationProfile): string {
  return JSON.stringify({ ...p, id: undefined, institutionId: undefined }, null, 2);
}

function withProfileOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--institution <code>', 'institution of the profile')
    .option('--name <text>', 'display name')
    .option('--record-type <type>', 'PUBLIC, STAFF or CONTACT')
    .option('--match-by <id>', 'primary_id or an identifier type (UNIV_ID, BARCODE, ...)')
    .option('--mode <mode>', 'import (create only) or synchronize (update and add)')
    .option('--format <format>', 'alma_xml, csv or jsonl')
    .option('--csv-mapping <json|@file>', '{"Column header": "field path", ...}')
    .option('--drop-folder <dir>', 'absolute path polled for files ("" to clear)')
    .option('--poll-seconds <n>', 'how often the drop folder is polled')
    .option('--deactivate-missing', "deactivate the profile's users missing from a full file")
    .option('--no-deactivate-missing', 'do not deactivate (the default)')
    .option('--settle-seconds <n>', 'a dropped file is taken once unchanged for this long')
    .option('--api-key-edits-are-manual', "loads keep protected fields an API key edited, as staff edits (the default)")
    .option('--no-api-key-edits-are-manual', 'loads set protected fields an API key edited from the file');
}

export function profileCommands(program: Command): void {
  const profile = program.command('profile').description('SIS integration profiles');

  withProfileOptions(profile.command('create <code>').description('create an integration profile')).action(
    async (code: string, o: ProfileOptions, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        const created = await app.services.profiles.create(actor, inst.id, { ...inputOf(o), code });
        console.log(`created integration profile ${created.code}`);
        console.log(show(created));
      }),
  );

  withProfileOptions(profile.command('update <code>').description('change an integration profile')).action(
    async (code: string, o: ProfileOptions, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        console.log(show(await app.services.profiles.update(actor, inst.id, code, inputOf(o))));
      }),
  );

  profile
    .command('list')
    .description("list an institution's integration profiles")
    .requiredOption('--institution <code>', 'institution')
    .action(async (o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        for (const p of await app.services.profiles.list(actor, inst.id)) {
          console.log(`${p.code}\t${p.mode}\t${p.format}\t${p.recordType}\tmatch by ${p.matchBy}${p.dropFolder ? `\t${p.dropFolder}` : ''}`);
        }
      }),
    );

  profile
    .command('show <code>')
    .requiredOption('--institution <code>', 'institution')
    .action(async (code: string, o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        console.log(show(await app.services.profiles.get(actor, inst.id, code)));
      }),
    );

  profile
    .command('delete <code>')
    .description('delete an integration profile (its users stay)')
    .requiredOption('--institution <code>', 'institution')
    .action(async (code: string, o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        await app.services.profiles.remove(actor, inst.id, code);
        console.log(`deleted integration profile ${code}`);
      }),
    );
}
