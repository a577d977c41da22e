// What the scale figures (cases/92-94) share: rootlet and Podman as a pair
// of engines, possibly on a store of their own; a side-by-side row with a
// ratio column; a directory's size on disk; many commands at bounded
// concurrency; and removing every container of a store.
import { spawn, spawnSync } from 'node:child_process';
import { PODMAN_TUNING } from './sandbox.mjs';
import { median } from './measure.mjs';

/**
 * @typedef {object} ScaleEngine
 * @property {'rootlet'|'podman'} key
 * @property {string} label
 * @property {(args: string[]) => string[]} argv  the engine's command, on its store
 * @property {string} image
 * @property {string} [root]  the store directory, when it is not the sandbox's own
 */

/**
 * rootlet and Podman on the sandbox's stores, or, with `store` (a directory
 * under the sandbox), each on a store of its own there: rootlet with
 * --root/--runroot (so a namespace holder of its own), Podman with
 * --root/--runroot (its pause process is per user and stays shared).
 * @returns {{ rootlet: ScaleEngine, podman: ScaleEngine }}
 */
export function scaleEngines(sb, store) {
  if (!store) {
    return {
      rootlet: { key: 'rootlet', label: 'rootlet', argv: (a) => sb.rootletArgv(a), image: sb.image.rootlet, root: sb.path('data/rootlet') },
      podman: { key: 'podman', label: 'Podman', argv: (a) => sb.podmanArgv(a), image: sb.image.podman, root: sb.path('podman/storage') },
    };
  }
  // Podman refuses a runroot path longer than 50 characters: keep these short.
  const r = { root: sb.path(store, 'r'), run: sb.path(store, 'rr') };
  const p = { root: sb.path(store, 'p'), run: sb.path(store, 'pr') };
  return {
    rootlet: { key: 'rootlet', label: 'rootlet', argv: (a) => sb.rootletArgv(['--root', r.root, '--runroot', r.run, ...a]), image: sb.image.rootlet, root: r.root, runroot: r.run },
    podman: { key: 'podman', label: 'Podman', argv: (a) => ['podman', '--root', p.root, '--runroot', p.run, ...PODMAN_TUNING, ...a], image: sb.image.podman, root: p.root, runroot: p.run },
  };
}

/**
 * Bytes a directory takes (`du -sb`, apparent sizes); `partial` when du
 * could not read all of it. `prefix` runs du through something else, e.g.
 * an engine's `unshare`, where the files of the container's other users
 * are readable.
 */
export function duBytes(dir, { prefix = [], env, cwd } = {}) {
  const argv = [...prefix, 'du', '-sb', dir];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env, cwd });
  const bytes = Number((r.stdout ?? '').trim().split(/\s/).pop() === dir ? (r.stdout ?? '').trim().split(/\s/)[0] : NaN);
  if (!Number.isFinite(bytes)) {
    if (prefix.length) return duBytes(dir);
    throw new Error(`du -sb ${dir}: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`);
  }
  return { bytes, partial: r.status !== 0 };
}

/** duBytes of an engine's store, read inside its user namespace (`unshare`). */
export function storeBytes(sb, e) {
  return duBytes(e.root, { prefix: e.argv(['unshare']), env: sb.env, cwd: sb.root });
}

/** Runs a command without blocking the event loop; resolves to { code, signal, stdout, stderr, ms }. */
export function spawnCollect(argv, { env, cwd }) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { if (stdout.length < 65536) stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { if (stderr.length < 8192) stderr += d; });
    child.on('error', (err) => resolve({ code: -1, signal: null, stdout, stderr: err.message, ms: 0 }));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

/**
 * Runs fn over items with at most `concurrency` at once; resolves to the
 * results in the items' order. fn should not throw (collect failures instead).
 */
export async function runBounded(items, concurrency, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** The columns of a side-by-side figure (rows made by sideBySide). */
export const SIDE_COLUMNS = [
  { key: 'what', label: 'what' },
  { key: 'rootlet', label: 'rootlet', digits: 1 },
  { key: 'podman', label: 'Podman', digits: 1 },
  { key: 'ratio', label: 'rootlet / Podman', digits: 2 },
  { key: 'target', label: 'target' },
];

/**
 * One row comparing rootlet and Podman: medians of samples (ms), or single
 * values; the ratio is rootlet's over Podman's. `target(r)` gives the
 * target's text from the rootlet value and the ratio, e.g. "≤ 150 ms: met".
 */
export function sideBySide(what, rootlet, podman, { target, digits } = {}) {
  const value = (v) => (Array.isArray(v) ? (v.length ? median(v) : undefined) : v);
  const r = value(rootlet);
  const p = value(podman);
  const ratio = r !== undefined && p !== undefined && p > 0 ? r / p : undefined;
  const row = { what, rootlet: r, podman: p, ratio, target: target && r !== undefined ? target(r, ratio) : '' };
  if (Array.isArray(rootlet)) row.rootlet_samples = rootlet.map((v) => Math.round(v * 100) / 100);
  if (Array.isArray(podman)) row.podman_samples = podman.map((v) => Math.round(v * 100) / 100);
  if (digits !== undefined) row.digits = digits;
  return row;
}

/** "≤ N unit: met / not met" for a target on rootlet's own value. */
export const atMost = (limit, unit = 'ms') => (r) => `≤ ${limit} ${unit}: ${r <= limit ? 'met' : '**not met**'}`;

/** "≤ k× Podman: met / not met" for a target on the ratio. */
export const ratioAtMost = (k) => (_r, ratio) => `≤ ${k}× Podman: ${ratio !== undefined && ratio <= k ? 'met' : '**not met**'}`;

export const MB = 1e6;

/**
 * Removes every container of an engine's store, running or not (Podman
 * `rm -af -t 0`; rootlet has no -a: `rm -f` of every id `ps -aq` lists, in
 * batches), and checks none is left. Never throws: returns what went wrong.
 */
export function removeEveryContainer(sb, e) {
  const problems = [];
  const run = (args) => spawnSync(e.argv(args)[0], e.argv(args).slice(1), { env: sb.env, cwd: sb.root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ids = () => {
    const r = run(['ps', '-aq']);
    if (r.status !== 0) { problems.push(`${e.label} ps -aq: ${(r.stderr || '').trim()}`); return []; }
    return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  };
  if (e.key === 'podman') {
    const r = run(['rm', '-af', '-t', '0']);
    if (r.status !== 0) problems.push(`podman rm -af: ${(r.stderr || '').trim().split('\n').pop()}`);
  } else {
    const all = ids();
    for (let i = 0; i < all.length; i += 200) {
      const r = run(['rm', '-f', ...all.slice(i, i + 200)]);
      if (r.status !== 0) problems.push(`rootlet rm -f (${Math.min(200, all.length - i)} ids): ${(r.stderr || '').trim().split('\n').pop()}`);
    }
  }
  const left = ids();
  if (left.length) problems.push(`${e.label}: ${left.length} containers still there after removing all`);
  return problems;
}
