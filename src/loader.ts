import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * rootlet's entry (dist/rootlet.cjs). It runs the CLI bundle
 * (rootlet-main.cjs) through a V8 code cache kept per user and per command,
 * so that a start does not compile the functions the command runs: ~12 ms
 * of a `run` here (docs/decisions.md). Node 20 has no compile cache of its
 * own. The cache is only an optimisation: V8 checks it against the source
 * and rejects a stale or damaged one, which is then written anew.
 */
declare const ROOTLET_BUILD_ID: string;

const main = join(__dirname, 'rootlet-main.cjs');
// latin1, not utf8: the bundle is ASCII (scripts/build.mjs checks it), and node 20 reads
// 1.7 MB of it as latin1 in ~0.3 ms against ~6 ms as UTF-8, on every start.
const source = readFileSync(main, 'latin1');

function cacheFile(): string | undefined {
  const cmd = process.argv[2] ?? '';
  if (!/^[a-z]{2,12}$/.test(cmd)) return undefined;
  const home = process.env.HOME;
  const base = process.env.XDG_CACHE_HOME || (process.getuid?.() === 0 ? '/var/cache' : home ? join(home, '.cache') : undefined);
  return base && join(base, 'rootlet', 'code', `${ROOTLET_BUILD_ID}-${process.version}-${cmd}.v8`);
}

const file = cacheFile();
let cached: Buffer | undefined;
if (file) {
  try { cached = readFileSync(file); } catch { /* first run of this command */ }
}
const script = new Script(Module.wrap(source), { filename: main, cachedData: cached });
if (file && (!cached || script.cachedDataRejected)) {
  // At exit the cache holds every function this command compiled.
  process.once('exit', () => {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, file);
      // Caches of other builds or node versions are never read again: a new build's first run of a command clears them.
      const dir = dirname(file);
      const ours = `${ROOTLET_BUILD_ID}-${process.version}-`;
      for (const n of readdirSync(dir)) if (n.endsWith('.v8') && !n.startsWith(ours)) rmSync(join(dir, n), { force: true });
    } catch { /* no writable cache directory: start without one */ }
  });
}
const mod = new Module(main, module);
mod.filename = main;
const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
run.call(mod.exports, mod.exports, createRequire(main), mod, main, dirname(main));
