// `npm run build`: the JavaScript that production runs (`carrel`, the package's bin).
//   node scripts/build.mjs [--out-dir DIR]     (default dist/; DIR must lie inside this checkout so
//                                               that the built code finds node_modules)
// It also builds the staff console (web/, Vite) into OUT/web, which `carrel serve` serves at /.
// Besides tsc it does what tsc does not: starts from an empty directory (a module moved or
// deleted in src/ must not linger in the build), copies what the program reads at run time
// (every file in src/ that is not TypeScript: the .sql migrations), keeps the bin executable, and
// refuses a tree that would need TypeScript at run time (an import of a .ts file or of tsx), that
// imports a file the build does not hold, or a package that is not among the dependencies (a
// production install omits devDependencies).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import esbuild from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: join(root, 'dist') } } });
const outDir = resolve(values['out-dir']);

// Every file in src/ that is not TypeScript is one the program opens itself at run time (today
// the .sql migrations): it goes beside the compiled code, src/x -> OUT/src/x.
const isSource = (name) => /\.[cm]?ts$/.test(name);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// package.json's bin names the file in dist/; the same file in any other out dir.
const BIN = relative('dist', pkg.bin.carrel);

const inside = (dir, path) => !relative(dir, path).startsWith('..');
if (!inside(root, outDir) || outDir === root) {
  fail(`--out-dir must be a directory inside ${root} (the built code resolves its packages from node_modules there)`);
}
// The out dir is emptied first: never one that holds the sources or the packages (the
// benchmarks build into their own directory under bench/data/).
const benchData = join(root, 'bench', 'data');
for (const kept of ['src', 'test', 'bench', 'scripts', 'docs', 'node_modules', '.git', '.ci']) {
  if (inside(join(root, kept), outDir) && !(inside(benchData, outDir) && outDir !== benchData)) fail(`--out-dir may not be in ${kept}/`);
}
rmSync(outDir, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) fail(`tsc failed (exit ${tsc.status ?? tsc.signal})`);
cpSync(join(root, 'src'), join(outDir, 'src'), { recursive: true, filter: (path) => statSync(path).isDirectory() || !isSource(path) });
bundleTypebox();
const bin = join(outDir, BIN);
if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')) fail(`${BIN} lost its #!/usr/bin/env node line`);
chmodSync(bin, 0o755);

// The console: Vite bundles web/ (React, its CSS) into static files; nothing of it is imported
// at run time, so its packages are devDependencies, like TypeScript's.
try {
  const { build } = await import('vite');
  await build({ configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir: join(outDir, 'web'), emptyOutDir: true } });
} catch (err) {
  fail(`the console (web/) did not build: ${err instanceof Error ? err.message : err}`);
}

const dependencies = new Set(Object.keys(pkg.dependencies ?? {}));
const problems = checkImports(join(outDir, 'src'));
if (problems.length) fail(`the build is not self-contained:\n  ${problems.join('\n  ')}`);

/**
 * typebox ships as about 680 ES modules, and Node 20 loads them one by one: a third of a second
 * before any command runs (a nightly `carrel import` and every start pay it). The parts the
 * program imports ('typebox' and 'typebox/value') become one module, OUT/src/vendor/typebox.js,
 * and the built code's imports point at it. One module for both keeps one copy of typebox's
 * internals. Run from src/ (tests, tsx), the package is imported as usual.
 */
function bundleTypebox() {
  const vendor = join(outDir, 'src', 'vendor', 'typebox.js');
  esbuild.buildSync({
    stdin: { contents: "export * from 'typebox';\nexport { Value } from 'typebox/value';\n", resolveDir: root, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: vendor,
    logLevel: 'error',
  });
  const rewrite = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) rewrite(path);
      else if (name.endsWith('.js') && path !== vendor) {
        const code = readFileSync(path, 'utf8');
        const to = relative(dirname(path), vendor);
        const next = code.replace(/^(\s*(?:import|export)\b[^'"\n]*?\bfrom\s*)(['"])typebox(?:\/value)?\2/gm, (_, head, q) => `${head}${q}${to.startsWith('.') ? to : `./${to}`}${q}`);
        if (next !== code) writeFileSync(path, next);
      }
    }
  };
  rewrite(join(outDir, 'src'));
}

function checkImports(dir) {
  const problems = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      problems.push(...checkImports(path));
      continue;
    }
    if (!name.endsWith('.js')) continue;
    const code = readFileSync(path, 'utf8');
    // Static imports and re-exports (line by line, as tsc writes them; not words in comments),
    // side-effect imports, and import() of a literal specifier.
    const specs = /^\s*(?:import|export|\})[^'"\n]*?\bfrom\s*(['"])([^'"\n]+)\1|^\s*import\s*(['"])([^'"\n]+)\3|\bimport\(\s*(['"])([^'"\n]+)\5\s*\)/gm;
    for (const m of code.matchAll(specs)) {
      const spec = m[2] ?? m[4] ?? m[6];
      const where = relative(outDir, path);
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (/\.[cm]?tsx?$/.test(spec)) problems.push(`${where} imports a TypeScript file: ${spec}`);
      else if (spec.startsWith('.')) {
        if (!existsSync(resolve(dirname(path), spec))) problems.push(`${where} imports ${spec}, which is not in the build`);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(pkg) && !dependencies.has(pkg)) {
        problems.push(`${where} imports ${spec}, which is not in package.json's dependencies`);
      }
    }
  }
  return problems;
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}
