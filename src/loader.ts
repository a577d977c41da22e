import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { leadingOptions } from './cli/leading-options.js';

/**
 * rootlet's entry (dist/rootlet.cjs). It runs the CLI bundle
 * (rootlet-main.cjs) through a V8 code cache kept per user and per command,
 * so that a start does not compile the functions the command runs: ~12 ms
 * of a `run` here (docs/decisions.md). Node 20 has no compile cache of its
 * own. The cache is only an optimisation: V8 checks it against the source
 * and rejects a stale or damaged one, which is then written anew. The
 * libraries that only some commands use (dist/rootlet-lib-*.cjs, see
 * scripts/build.mjs) go through the same cache when the bundle requires them.
 */
declare const ROOTLET_BUILD_ID: string;

type ModuleFunction = (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

// V8 checks a cache against its source's length only: the build id, a hash of the bundle and
// its libraries, keeps a cache from being used with another build's code.
const cacheDir = (() => {
  const home = process.env.HOME;
  const base = process.env.XDG_CACHE_HOME || (process.getuid?.() === 0 ? '/var/cache' : home ? join(home, '.cache') : undefined);
  return base && join(base, 'rootlet', 'code');
})();
// The command as main.ts reads it: after global options (`rootlet --root /x ps` uses ps's cache).
const command = leadingOptions(process.argv.slice(2)).command ?? '';
const cacheable = !!cacheDir && /^[a-z]{2,12}$/.test(command);
const toWrite: Array<{ script: Script; file: string }> = [];

/** Compiles a CommonJS file with its code cache (`part` names it within this command's caches). */
function compile(path: string, source: string, part: string): Script {
  const file = cacheable ? join(cacheDir!, `${ROOTLET_BUILD_ID}-${process.version}-${command}${part}.v8`) : undefined;
  let cached: Buffer | undefined;
  if (file) {
    try { cached = readFileSync(file); } catch { /* first run of this command */ }
  }
  const script = new Script(Module.wrap(source), { filename: path, cachedData: cached });
  // At exit the cache holds every function this command compiled.
  if (file && (!cached || script.cachedDataRejected)) toWrite.push({ script, file });
  return script;
}

function runModule(path: string, script: Script, require: NodeJS.Require): Module {
  const mod = new Module(path, module);
  mod.filename = path;
  (script.runInThisContext() as ModuleFunction).call(mod.exports, mod.exports, require, mod, path, dirname(path));
  return mod;
}

process.once('exit', () => {
  if (!toWrite.length) return;
  try {
    mkdirSync(cacheDir!, { recursive: true, mode: 0o700 });
    for (const { script, file } of toWrite) {
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, file);
    }
    // Caches of other builds or node versions are never read again: a new build's first run of a command clears them.
    const ours = `${ROOTLET_BUILD_ID}-${process.version}-`;
    for (const n of readdirSync(cacheDir!)) if (n.endsWith('.v8') && !n.startsWith(ours)) rmSync(join(cacheDir!, n), { force: true });
  } catch { /* no writable cache directory: start without one */ }
});

const main = join(__dirname, 'rootlet-main.cjs');
const mainRequire = createRequire(main);
const libs = new Map<string, unknown>();
/** The bundle's require: its libraries through the code cache, anything else as node would. */
const requireForMain = Object.assign((id: string): unknown => {
  const lib = /^\.\/rootlet-lib-([a-z-]+)\.cjs$/.exec(id);
  if (!lib) return mainRequire(id);
  if (!libs.has(id)) {
    const path = join(__dirname, id);
    libs.set(id, runModule(path, compile(path, readFileSync(path, 'utf8'), `.${lib[1]}`), createRequire(path)).exports);
  }
  return libs.get(id);
}, mainRequire) as NodeJS.Require;

// latin1, not utf8: the bundle is ASCII (scripts/build.mjs checks it), and node 20 reads
// it as latin1 in ~0.3 ms against ~6 ms as UTF-8, on every start.
runModule(main, compile(main, readFileSync(main, 'latin1'), ''), requireForMain);
