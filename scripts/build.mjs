// Builds the CLI as minified CommonJS (dist/rootlet-main.cjs, started by
// the small loader dist/rootlet.cjs through a V8 code cache) and each
// test file as an ES module bundle in build/test/. better-sqlite3's native
// addon is copied beside the bundle and loaded by path, so dist/ is
// self-contained.
//
// Why CommonJS for the CLI (measured, docs/decisions.md): node's ES module
// loader costs ~8 ms for the entry alone and more per chunk, while a CJS
// bundle is parsed lazily; `rootlet version` went from 58 ms (split ESM) to
// 43 ms, bare `node` being 30 ms. What only some commands need is kept out of
// the start-up by hand below: lazyLibs and lazyBuiltins.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';

const require = createRequire(import.meta.url);
const root = dirname(dirname(new URL(import.meta.url).pathname));
const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');

rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(join(root, 'dist'), { recursive: true });
const cli = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // A native addon with its own platform package: shipped beside the bundle in dist/node_modules.
  external: ['node-unix-socket'],
  // Source modules use import.meta.url to find files beside the bundle.
  define: { 'import.meta.url': '__rootletUrl' },
};
const cliBanner = 'const __rootletUrl = require("node:url").pathToFileURL(__filename).href;';

// Libraries that only compose, kube and build use live in files of their own beside the CLI bundle
// (dist/rootlet-lib-NAME.cjs), required the first time a module that imports them is initialised.
// Those modules are reached only through dynamic import(), so `ps`, `inspect` or `run` never read
// them: left in the bundle they cost every command ~15 ms (measured, docs/decisions.md).
// Each NAME maps to the import paths it serves, as written in the source (a RegExp).
const lazyLibs = {
  yaml: /^yaml$/,
  dockerfile: /^dockerfile-ast$/,
  kube: /^kubernetes-models\//,
  'compose-schema': /\/validate-compose\.generated\.js$/,
};
const lazyLibFile = (name) => `./rootlet-lib-${name}.cjs`;
const lazyLibUses = Object.fromEntries(Object.keys(lazyLibs).map((name) => [name, new Set()]));
const lazyLibPlugin = {
  name: 'lazy-libs',
  setup(b) {
    b.onResolve({ filter: /^\.\/rootlet-lib-/ }, (a) => ({ path: a.path, external: true }));
    for (const [name, filter] of Object.entries(lazyLibs)) {
      b.onResolve({ filter }, async (a) => {
        if (a.namespace === 'lazy-lib') return undefined;
        // Resolved as esbuild would, so that the library's chunk imports exactly this file.
        const resolved = await b.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, namespace: 'lazy-lib' });
        if (resolved.errors.length) return { errors: resolved.errors };
        lazyLibUses[name].add(resolved.path);
        return { path: resolved.path, namespace: 'lazy-lib', pluginData: name };
      });
    }
    b.onLoad({ filter: /.*/, namespace: 'lazy-lib' }, (a) => ({
      contents: `module.exports = require(${JSON.stringify(lazyLibFile(a.pluginData))})[${JSON.stringify(relative(root, a.path))}];`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};
// Node's own modules that take several ms to load (child_process brings net, dgram and the streams,
// crypto a dozen parts) load at their first use, not when the bundle starts: esbuild turns every
// import of a built-in into a require() at the top of the bundle. `inspect` or `ps` of an exited
// container then never loads them. A Proxy stands in for the module; the first property read
// loads it. esbuild copies a CommonJS module's property names into the importer's namespace when it
// starts, so the Proxy lists the names the built-in has in the node that builds (the one that runs
// it) without loading it.
const lazyBuiltins = /^(node:)?(child_process|crypto|net|dgram|http|https|tls|zlib|readline|worker_threads|stream|stream\/promises)$/;
const lazyBuiltinPlugin = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: lazyBuiltins }, (a) =>
      a.namespace === 'lazy-builtin' ? { path: a.path, external: true } : { path: a.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      contents: `let m;
const load = () => (m ??= require(${JSON.stringify(`node:${a.path}`)}));
const names = ${JSON.stringify(Object.keys(require(`node:${a.path}`)))};
module.exports = new Proxy({}, {
  get: (_, k) => load()[k],
  has: (_, k) => k in load(),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, k) => (names.includes(k) ? { configurable: true, enumerable: true, get: () => load()[k] } : undefined),
});`,
      loader: 'js',
    }));
  },
};
// The CLI itself, run by the loader through a V8 code cache (src/loader.ts).
await build({ ...cli, plugins: [lazyLibPlugin, lazyBuiltinPlugin], banner: { js: cliBanner }, entryPoints: [join(root, 'src/main.ts')], outfile: join(root, 'dist/rootlet-main.cjs') });
for (const [name, uses] of Object.entries(lazyLibUses)) {
  if (!uses.size) {
    console.error(`build: the lazily loaded library "${name}" is imported nowhere: drop it from lazyLibs in scripts/build.mjs`);
    process.exit(1);
  }
  // One module keyed by the path (relative to the checkout) of each file the CLI imports from it.
  const entry = `module.exports = {\n${[...uses].map((p) => `  ${JSON.stringify(relative(root, p))}: require(${JSON.stringify(p)}),`).join('\n')}\n};\n`;
  await build({ ...cli, stdin: { contents: entry, resolveDir: root, loader: 'js' }, outfile: join(root, 'dist', lazyLibFile(name)) });
}
// Names the code caches (src/loader.ts): V8 checks a cache against its source's length only.
const buildHash = createHash('sha256').update(readFileSync(join(root, 'dist/rootlet-main.cjs')));
for (const name of Object.keys(lazyLibs)) buildHash.update(readFileSync(join(root, 'dist', lazyLibFile(name))));
const buildId = buildHash.digest('hex').slice(0, 16);
await build({
  ...cli,
  // "--" ends node's own options: Node 20 otherwise takes a --env-file anywhere on the command line as its own.
  banner: { js: '#!/usr/bin/env -S node --' },
  define: { ROOTLET_BUILD_ID: JSON.stringify(buildId) },
  entryPoints: [join(root, 'src/loader.ts')],
  outfile: join(root, 'dist/rootlet.cjs'),
});
// What runs inside the user's namespace (layer extraction): kept out of the CLI's start-up.
await build({ ...cli, banner: { js: cliBanner }, entryPoints: [join(root, 'src/helper.ts')], outfile: join(root, 'dist/rootlet-helper.cjs') });
chmodSync(join(root, 'dist/rootlet.cjs'), 0o755);
// The loader reads the CLI bundle as latin1 (src/loader.ts): one read of an ASCII file
// costs ~0.3 ms, where node 20's UTF-8 read of the same 1.7 MB takes ~6 ms, and one
// non-ASCII character made it ~20 ms (a two-byte string). esbuild escapes non-ASCII
// characters everywhere but in regex literals: write those as \u escapes.
for (const name of ['rootlet-main.cjs', 'rootlet-helper.cjs']) {
  const text = readFileSync(join(root, 'dist', name), 'latin1');
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0) {
    console.error(`build: dist/${name} has a non-ASCII character near ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}: escape it in the source (\\uXXXX)`);
    process.exit(1);
  }
}
// Small C programs: the port forwarder (one per container that publishes ports), the console relay (-t with crun),
// the overlay mount made before the runtime starts (rootlet-mount-exec) and a pulled layer's fetch and extraction
// (rootlet-layer-fetch, with zlib, and OpenSSL's sha256 and TLS).
for (const [out, src, libs = []] of [
  ['rootlet-portfwd', 'src/engine/networks/portfwd.c'], ['rootlet-console', 'src/runtime/console.c'], ['rootlet-mount-exec', 'src/storage/mount-exec.c'],
  ['rootlet-layer-fetch', 'src/image/layer-fetch.c', ['-lz', '-lssl', '-lcrypto']],
]) {
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', join(root, 'dist', out), join(root, src), ...libs], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: cannot compile ${src}: install a C compiler and the headers it needs (apt-get install gcc libc6-dev zlib1g-dev libssl-dev)`);
    process.exit(1);
  }
}
copyFileSync(addon, join(root, 'dist/better_sqlite3.node'));
for (const pkg of readdirSync(join(root, 'node_modules')).filter((n) => n === 'node-unix-socket' || n.startsWith('node-unix-socket-'))) {
  cpSync(join(root, 'node_modules', pkg), join(root, 'dist/node_modules', pkg), { recursive: true, dereference: true });
}

// Manual pages and shell completion scripts, generated from the command definitions that --help prints
// (src/cli/manpages.ts, src/cli/completion.ts); scripts/install.sh puts them where man and the shells look.
const cliMain = join(root, 'dist/rootlet-main.cjs');
const generated = [
  [['__manpages', join(root, 'dist/man/man1')]],
  [['completion', 'bash'], 'dist/completion/rootlet.bash'],
  [['completion', 'zsh'], 'dist/completion/_rootlet'],
  [['completion', 'fish'], 'dist/completion/rootlet.fish'],
];
mkdirSync(join(root, 'dist/completion'), { recursive: true });
for (const [args, out] of generated) {
  const r = spawnSync(process.execPath, [cliMain, ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`build: rootlet ${args.join(' ')} failed: ${r.stderr}`);
    process.exit(1);
  }
  if (out) writeFileSync(join(root, out), r.stdout);
}

// Tests: one ES module bundle per test file, sharing the addon copied into build/.
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
    entryPoints: entries,
    outdir: join(root, 'build/test'),
    outbase: testRoot,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    external: ['node-unix-socket'],
    // dockerode (the API tests' client) brings ssh2's optional native addons: copied beside the bundles, loaded if they load.
    loader: { '.node': 'file' },
    // ...and CommonJS modules that read __dirname, which an ES module bundle has not.
    define: { __dirname: 'import.meta.dirname' },
    banner: { js: "import { createRequire as __rootletCreateRequire } from 'node:module';\nconst require = __rootletCreateRequire(import.meta.url);" },
  });
  copyFileSync(addon, join(root, 'build/better_sqlite3.node'));
  // The contract tests attach in-process: the socket addon beside them too.
  cpSync(join(root, 'dist/node_modules'), join(root, 'build/node_modules'), { recursive: true });
  // The network tests' UDP server, static: it runs in the busybox test image.
  mkdirSync(join(root, 'build/test/fixtures'), { recursive: true });
  const r = spawnSync('cc', ['-static', '-O2', '-o', join(root, 'build/test/fixtures/udp-echo'), join(testRoot, 'fixtures/udp-echo.c')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('build: cannot compile test/fixtures/udp-echo.c statically: apt-get install gcc libc6-dev');
    process.exit(1);
  }
  // The security tests' probe for a syscall the default seccomp profile refuses.
  const p = spawnSync('cc', ['-static', '-O2', '-o', join(root, 'build/test/fixtures/syscall-probe'), join(testRoot, 'fixtures/syscall-probe.c')], { stdio: 'inherit' });
  if (p.status !== 0) {
    console.error('build: cannot compile test/fixtures/syscall-probe.c statically: apt-get install gcc libc6-dev');
    process.exit(1);
  }
}
