// `carrel code-table list|show|set`: an institution's code tables from the command line, the same
// use cases as PUT /almaws/v1/conf/code-tables/{name} and /api/v1/code-tables. `set` takes a file
// with Alma's code_table (JSON as GET answers it, a bare list of rows, or the XML document).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { codeTableFromJson, codeTableFromXml, codeTableToJson, type CodeTableInput } from '../../alma/code-table.js';
import type { Actor } from '../../domain/access/actor.js';
import { AppError } from '../../errors.js';
import { withApp } from '../context.js';

const actor: Actor = { kind: 'system', label: 'cli' };

function inputOf(file: string): CodeTableInput {
  const text = readFileSync(file, 'utf8');
  if (text.trimStart().startsWith('<')) return codeTableFromXml(text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new AppError('INVALID_BODY', { format: 'JSON', reason: err instanceof Error ? err.message : String(err) });
  }
  return codeTableFromJson(Array.isArray(body) ? { row: body } : body);
}

export function codeTableCommands(program: Command): void {
  const ct = program.command('code-table').description('code tables: user groups, identifier types, libraries, roles ...');

  ct.command('list')
    .description("list an institution's code tables with their row counts")
    .requiredOption('--institution <code>', 'institution')
    .action(async (o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        for (const t of await app.services.codeTableService.list(actor, inst.id)) {
          console.log(`${t.name}\t${t.rows} rows${t.editable ? '' : '\tfixed'}`);
        }
      }),
    );

  ct.command('show <name>')
    .description("a code table's rows, as Alma's code_table JSON")
    .requiredOption('--institution <code>', 'institution')
    .action(async (name: string, o: { institution: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        const t = await app.services.codeTableService.show(actor, inst.id, name);
        console.log(JSON.stringify(codeTableToJson(t.name, t.rows), null, 2));
      }),
    );

  ct.command('set <name>')
    .description("replace a code table's rows with those of a file and show the result (codes users hold cannot go: disable them)")
    .requiredOption('--institution <code>', 'institution')
    .requiredOption('--file <path>', 'code_table JSON ({"row": [...]}, or a list of rows) or XML')
    .action(async (name: string, o: { institution: string; file: string }, cmd: Command) =>
      withApp(cmd, async (app) => {
        const inst = await app.services.institutions.byCode(o.institution);
        const t = await app.services.codeTableService.replace(actor, inst.id, name, inputOf(o.file));
        console.log(`${t.name}: ${t.rows.length} rows`);
        console.log(JSON.stringify(codeTableToJson(t.name, t.rows), null, 2));
      }),
    );
}
