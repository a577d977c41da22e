// Bundles the CLI into one ES module (dist/rootlet.mjs) for a fast start, and
// each test file into build/test/. better-sqlite3's native addon is copied
// beside the bundle and loaded by path, so dist/ is self-contained.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = dirname(dirname(new URL(import.meta.url).pathname));
const banner = {
  js: "import { createRequire as __rootletCreateRequire } from 'node:module';\n" +
      "const require = __rootletCreateRequire(import.meta.url);",
};
// Our `import { x } from 'node:fs'` would make node build the builtin's ES
// module namespace, which reads every lazy getter (fs.promises loads all of
// streams, ...). Loading builtins through require() keeps them lazy: a
// measured ~10 ms of every start.
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' || args.kind === 'dynamic-import' ? { path: args.path, namespace: 'node-builtin' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

const common = {
  plugins: [builtinsViaRequire],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner,
  sourcemap: false,
  logLevel: 'warning',
  legalComments: 'none',
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(join(root, 'dist'), { recursive: true });
// Split: each command's code is a chunk loaded only when that command runs.
await build({
  ...common,
  entryPoints: { rootlet: join(root, 'src/main.ts') },
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
});
// The shebang goes on the entry only; every chunk keeps the require shim.
const entry = join(root, 'dist/rootlet.mjs');
writeFileSync(entry, '#!/usr/bin/env node\n' + readFileSync(entry, 'utf8'));
chmodSync(join(root, 'dist/rootlet.mjs'), 0o755);

const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
copyFileSync(addon, join(root, 'dist/better_sqlite3.node'));

// Tests: one bundle per test file, sharing the addon copied into build/.
const testRoot = join(root, 'test');
const entries = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.ts')) entries.push(p);
  }
};
if (existsSync(testRoot)) walk(testRoot);
rmSync(join(root, 'build'), { recursive: true, force: true });
if (entries.length) {
  await build({
    ...common,
    entryPoints: entries,
    outdir: join(root, 'build/test'),
    outbase: testRoot,
    outExtension: { '.js': '.mjs' },
  });
  copyFileSync(addon, join(root, 'build/better_sqlite3.node'));
}
