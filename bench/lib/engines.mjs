// The engines the lifecycle figures compare, as the commands each needs:
// start a detached container, list the running ones, remove some. Each
// engine runs against the sandbox's private store (lib/sandbox.mjs).
import { spawn } from 'node:child_process';
import { PODMAN_DEFAULT, PODMAN_TUNING } from './sandbox.mjs';

/**
 * @typedef {object} Engine
 * @property {string} key         short name, used in the JSON
 * @property {string} label       row label
 * @property {(args: string[]) => string[]} argv   the engine's command with these arguments
 * @property {string} image
 * @property {string[]} net       network flags for `run` (empty: the engine's default)
 * @property {string[]} [runFlags] more flags for `run`
 * @property {string[]} rmForce   `rm` flags that remove a running container at once
 */

/** @returns {Record<string, Engine>} rootletRunc only when rootlet's default runtime is not runc */
export function engines(sb) {
  const rootlet = { argv: (a) => sb.rootletArgv(a), image: sb.image.rootlet, rmForce: ['rm', '-f'] };
  // -t 0: a shell-less `sleep` as pid 1 ignores SIGTERM; without it Podman waits 10 s before SIGKILL.
  const podman = { argv: (a) => sb.podmanArgv(a), image: sb.image.podman, rmForce: ['rm', '-f', '-t', '0'] };
  const podmanVfs = { ...podman, argv: (a) => sb.podmanArgv(a, sb.podmanDefaultFlags) };
  // rootlet's default runtime (crun on this host since it hides the cgroup v2
  // tree in its namespace); Podman can only use runc here. Every label says
  // which runtime starts the containers.
  const rt = sb.defaultRuntime();
  const others = {};
  if (rt !== 'runc') {
    // The same engine on runc: how much of the difference to Podman is the runtime.
    others.rootletRunc = {
      key: 'rootletRunc', label: 'rootlet --runtime runc', net: ['--net', 'none'], runFlags: ['--runtime', 'runc'], ...rootlet,
    };
  }
  return {
    rootlet: { key: 'rootlet', label: `rootlet (${rt})`, net: ['--net', 'none'], ...rootlet },
    // rootlet without its default seccomp profile: the profile's cost, side by side.
    rootletNoSeccomp: {
      key: 'rootletNoSeccomp', label: `rootlet (${rt}) --security-opt seccomp=unconfined`, net: ['--net', 'none'],
      runFlags: ['--security-opt', 'seccomp=unconfined'], ...rootlet,
    },
    ...others,
    podman: { key: 'podman', label: 'Podman (overlay, runc), --net none', net: ['--net', 'none'], ...podman },
    podmanSlirp: { key: 'podmanSlirp', label: 'Podman (overlay, runc), default network', net: [], ...podman },
    // Both load a default seccomp profile; Podman's runc compiles it at each start, rootlet hands crun the filter it compiled before.
    podmanNoSeccomp: {
      key: 'podmanNoSeccomp', label: 'Podman (overlay, runc), --net none, no seccomp filter', net: ['--net', 'none'],
      runFlags: ['--security-opt', 'seccomp=unconfined'], ...podman,
    },
    podmanVfs: { key: 'podmanVfs', label: 'Podman as installed (vfs, runc), --net none', net: ['--net', 'none'], ...podmanVfs },
  };
}

export const PODMAN_NOTE = `Podman flags besides its private store: \`${PODMAN_TUNING.join(' ')}\` ` +
  `(as installed: \`${PODMAN_DEFAULT.join(' ')}\`).`;

/** argv of `run -d --name NAME … IMAGE CMD…` for an engine. */
export function runDetachedArgv(e, name, cmd) {
  return e.argv(['run', '-d', '--name', name, ...e.net, ...(e.runFlags ?? []), e.image, ...cmd]);
}

/** Runs a command to completion without blocking the event loop; resolves to { code, signal, stderr, ms }. */
export function spawnAsync(argv, { env, cwd, stderrLimit = 8192 }) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { if (stderr.length < stderrLimit) stderr += d; });
    child.on('error', (err) => resolve({ code: -1, signal: null, stderr: err.message, ms: 0 }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

/** Which of these names the engine has a container of (running or not; only running ones with all = false). */
export function existing(sb, e, names, all = true) {
  const lines = sb.exec(e.argv(['ps', ...(all ? ['-a'] : [])]), `${e.label} ps`).split('\n').slice(1);
  // NAMES is the last column for both engines.
  const have = new Set(lines.map((l) => l.trim().split(/\s+/).pop()).filter(Boolean));
  return names.filter((n) => have.has(n));
}

/**
 * Removes these containers, running or not, and checks that none is left;
 * never throws, returns what went wrong. For `finally`. `timing.rmMs`
 * gets the wall time of the one `rm -f` call.
 */
export function removeAll(sb, e, names, timing = {}) {
  const problems = [];
  const attempt = (what, fn) => {
    try { return fn(); } catch (err) { problems.push(`${what}: ${err.message}`); return undefined; }
  };
  // Only names that exist: with one missing name in the list, Podman 4.3's
  // `rm -f` exits 0 and removes none of the others.
  const left = attempt(`${e.label} ps -a`, () => existing(sb, e, names)) ?? names;
  if (!left.length) return problems;
  const t0 = process.hrtime.bigint();
  attempt(`${e.label} rm`, () => sb.exec(e.argv([...e.rmForce, ...left])));
  timing.rmMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const still = attempt(`${e.label} ps -a`, () => existing(sb, e, left)) ?? [];
  if (still.length) problems.push(`${e.label}: still there after rm -f: ${still.join(' ')}`);
  return problems;
}

/** The namespace holders' pids: started before any figure; never a leftover to kill. */
export function holders(sb) {
  return [sb.holderPid(), sb.podmanPausePid()].filter(Boolean);
}
