// The arrows between the layers run one way (docs/architecture.md):
//   model ← db ← domain ← http, cli        model ← alma ← domain, http
// This reads the import and re-export statements of every file under src/ (no compiler: a regex
// over `import … from '…'`, `export … from '…'`, bare `import '…'` and `import('…')`) and lists
// every file that breaks a rule, with the import that breaks it.
//
// `import type` / `export type` are erased when compiled (verbatimModuleSyntax), so they load
// nothing at run time; `import { type X }` is not erased (it leaves `import {}`), so it counts as
// a value import.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/**
 * Known violations, each to be removed by the change that fixes it. Keep every entry exact
 * (importing file, imported file, both relative to the repository).
 */
const ALLOWED: { from: string; to: string; why: string }[] = [];

/** Database drivers: only src/db may load them. */
const DRIVERS = ['pg', 'pg-copy-streams', '@electric-sql/pglite'];

type Layer = 'model' | 'db' | 'alma' | 'domain' | 'http' | 'cli' | 'other';

interface Import {
  /** The file that imports, relative to the repository. */
  from: string;
  /** What it names: a src/ file relative to the repository, or a package (or node: built-in). */
  to: string;
  /** True for `import type` / `export type`: nothing is loaded at run time. */
  typeOnly: boolean;
  statement: string;
}

function layerOf(file: string): Layer {
  // The error catalog imports nothing and every layer throws or renders its codes: it belongs
  // with the model.
  if (file === 'src/errors.ts' || file.startsWith('src/model/')) return 'model';
  for (const l of ['db', 'alma', 'domain', 'http', 'cli'] as const) if (file.startsWith(`src/${l}/`)) return l;
  // src/app.ts (the composition root), src/config.ts, src/public-url.ts, src/mail (an adapter).
  return 'other';
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const SPECIFIER = String.raw`['"]([^'"]+)['"]`;
const CLAUSE = String.raw`(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?)`;
const STATEMENT = new RegExp(
  [
    String.raw`^[ \t]*(import|export)\s+(type\s+)?${CLAUSE}\s*from\s*${SPECIFIER}`, // import … from / export … from
    String.raw`^[ \t]*import\s*${SPECIFIER}`, // import './side-effect.js'
    String.raw`\bimport\(\s*${SPECIFIER}\s*\)`, // import('…') with a literal
  ].join('|'),
  'gm',
);

/**
 * Comments that start a line out, so an example in a comment is not read as an import (only at
 * a line's start: a slash and a star inside a string or a regex must not start a comment).
 */
function withoutComments(text: string): string {
  return text.replace(/^[ \t]*\/\*[\s\S]*?\*\//gm, '').replace(/^[ \t]*\/\/.*$/gm, '');
}

function importsOf(path: string): Import[] {
  const from = relative(root, path);
  const out: Import[] = [];
  for (const m of withoutComments(readFileSync(path, 'utf8')).matchAll(STATEMENT)) {
    const spec = m[3] ?? m[4] ?? m[5]!;
    const typeOnly = m[2] !== undefined;
    let to = spec;
    if (spec.startsWith('.')) to = relative(root, resolve(dirname(path), spec)).replace(/\.js$/, '.ts');
    out.push({ from, to, typeOnly, statement: m[0].replace(/\s+/g, ' ').trim() });
  }
  return out;
}

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(packageOf(spec));
const isDriver = (spec: string) => DRIVERS.includes(packageOf(spec));
const isSrc = (to: string) => to.startsWith('src/');

/** Every rule: returns why an import is refused, or null. */
function violation(i: Import): string | null {
  const from = layerOf(i.from);
  const to = isSrc(i.to) ? layerOf(i.to) : null;
  switch (from) {
    case 'model':
      if (to !== null && to !== 'model') return `the model imports nothing of ${to}`;
      if (isDriver(i.to)) return 'the model loads no database driver';
      return null;
    case 'alma':
      if (to !== null && to !== 'model' && to !== 'alma') return `the Alma format imports only the model, not ${to}`;
      if (isDriver(i.to)) return 'the Alma format loads no database driver';
      return null;
    case 'db':
      if (to !== null && to !== 'model' && to !== 'db') return `db imports only the model and its own files, not ${to}`;
      if (to === null && !isBuiltin(i.to) && !isDriver(i.to)) return `db imports only node built-ins and the driver, not ${i.to}`;
      return null;
    case 'domain':
      if (to === 'http' || to === 'cli' || i.to === 'src/app.ts') return `the domain imports no ${to ?? 'app'}`;
      if (isDriver(i.to)) return 'the domain loads no database driver';
      // database.ts loads `pg`: its types are welcome, its values are not (the driver-free
      // predicates are in src/model/db-errors.ts).
      if (i.to === 'src/db/database.ts' && !i.typeOnly) return 'the domain imports only types from db/database.ts (it loads the driver)';
      return null;
    default:
      return null;
  }
}

const files = tsFiles(src);
const imports = files.flatMap(importsOf);
const allowed = (i: Import) => ALLOWED.some((a) => a.from === i.from && a.to === i.to);

describe('architecture: the arrows between layers run one way', () => {
  test('the import reader sees the statements it must see', () => {
    // Guards the regex itself: if it silently matched nothing, every rule below would pass.
    assert.ok(files.length > 50, `found only ${files.length} files under src/`);
    const of = (file: string) => imports.filter((i) => i.from === file);
    const database = of('src/db/database.ts');
    assert.ok(database.some((i) => i.to === 'pg' && !i.typeOnly), 'src/db/database.ts imports pg');
    assert.ok(
      of('src/domain/users/write-users.ts').some((i) => i.to === 'src/db/database.ts' && i.typeOnly),
      'write-users.ts imports types from db/database.ts',
    );
    assert.ok(of('src/http/server.ts').length > 5);
  });

  test('no file breaks a layer rule', () => {
    const offenders = imports
      .map((i) => ({ i, why: violation(i) }))
      .filter((v): v is { i: Import; why: string } => v.why !== null && !allowed(v.i))
      .map(({ i, why }) => `${i.from}: ${why}\n    ${i.statement}`);
    assert.deepEqual(offenders, [], `imports against the arrows (docs/architecture.md):\n  ${offenders.join('\n  ')}`);
  });

  test('no domain file loads a driver or the HTTP layer at run time, even through another file', () => {
    // The direct rule above, followed through value imports: a domain module that imports a
    // query module that imports database.ts as a value would load `pg` all the same.
    const valueEdges = new Map<string, Import[]>();
    for (const i of imports) if (!i.typeOnly) valueEdges.set(i.from, [...(valueEdges.get(i.from) ?? []), i]);
    const offenders: string[] = [];
    for (const start of files.map((f) => relative(root, f)).filter((f) => layerOf(f) === 'domain')) {
      const seen = new Set<string>([start]);
      const path = new Map<string, string>([[start, start]]);
      const queue = [start];
      while (queue.length) {
        const at = queue.shift()!;
        for (const e of valueEdges.get(at) ?? []) {
          const bad = isDriver(e.to) || (isSrc(e.to) && layerOf(e.to) === 'http');
          if (bad && !allowed(e)) offenders.push(`${start} loads ${e.to} via ${path.get(at)} → ${e.to}`);
          if (isSrc(e.to) && !seen.has(e.to)) {
            seen.add(e.to);
            path.set(e.to, `${path.get(at)} → ${e.to}`);
            queue.push(e.to);
          }
        }
      }
    }
    assert.deepEqual(offenders, [], offenders.join('\n'));
  });

  test('every allow-list entry still names an import that exists (remove it when fixed)', () => {
    for (const a of ALLOWED) {
      assert.ok(
        imports.some((i) => i.from === a.from && i.to === a.to),
        `ALLOWED entry ${a.from} → ${a.to} no longer matches an import: delete it`,
      );
    }
  });
});
