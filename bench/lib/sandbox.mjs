// The bench's private world: one directory holding rootlet's store, Podman's
// store and both tools' runtime and config directories, so that a run
// neither sees nor touches the user's own containers, and leaves nothing.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Podman as close to rootlet as this host allows, and at its fastest:
 * runc because crun refuses hybrid cgroups under Podman (rootlet hides the
 * cgroup v2 tree in its namespace, Podman does not); native overlay
 * (Podman picks vfs here by itself, which copies the image for every
 * container); no events log, which rootlet has no equivalent of; cgroupfs,
 * as rootlet skips systemd too.
 */
export const PODMAN_TUNING = [
  '--storage-driver', 'overlay', '--runtime', 'runc',
  '--cgroup-manager', 'cgroupfs', '--events-backend', 'none',
];

/**
 * Podman as it comes on this host (its own choice of storage is vfs, which
 * copies the image for every container), but for runc, which it needs here.
 * The reference figure (268 ms) is this configuration.
 */
export const PODMAN_DEFAULT = ['--storage-driver', 'vfs', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];

export class Sandbox {
  /**
   * @param {string} root empty directory of the bench user's
   * @param {string} bin rootlet's dist/rootlet.cjs
   * @param {string} scripts rootlet's scripts/ directory
   */
  constructor(root, bin, scripts) {
    this.root = root;
    this.bin = bin;
    this.scripts = scripts;
    for (const d of ['home', 'data', 'config', 'run', 'podman']) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
    // Written from scratch, never inherited: the measured commands must not
    // pay for anything of the caller's environment (NODE_EXTRA_CA_CERTS,
    // NODE_OPTIONS). The XDG directories hold both tools' state: rootlet's
    // under rootlet/, Podman's under containers/ and libpod/. HOME too, so
    // that no cache lands in the user's real home.
    this.env = {
      HOME: join(root, 'home'),
      USER: process.env.USER ?? 'bench',
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      XDG_DATA_HOME: join(root, 'data'),
      XDG_CONFIG_HOME: join(root, 'config'),
      XDG_RUNTIME_DIR: join(root, 'run'),
    };
    // Podman refuses a runroot path longer than 50 characters: keep these short.
    this.podmanFlags = ['--root', this.path('podman/storage'), '--runroot', this.path('podman/run'), ...PODMAN_TUNING];
    this.podmanDefaultFlags = ['--root', this.path('podman/vfs'), '--runroot', this.path('podman/vrun'), ...PODMAN_DEFAULT];
    this.image = { rootlet: 'busybox', podman: 'localhost/busybox' };
  }

  path(...parts) {
    return join(this.root, ...parts);
  }

  /** argv of a rootlet command, as a user runs it (node reads the bundle). */
  rootletArgv(args) {
    return [process.execPath, this.bin, ...args];
  }

  podmanArgv(args, flags = this.podmanFlags) {
    return ['podman', ...flags, ...args];
  }

  /** Runs a command to completion in the sandbox's environment; throws with its stderr unless it exits 0. */
  exec(argv, what = argv.join(' ')) {
    const r = spawnSync(argv[0], argv.slice(1), { env: this.env, cwd: this.root, encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) throw new Error(`${what}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  rootlet(...args) {
    return this.exec(this.rootletArgv(args), `rootlet ${args.join(' ')}`);
  }

  podman(...args) {
    return this.exec(this.podmanArgv(args), `podman ${args.join(' ')}`);
  }

  rootletInfo() {
    return JSON.parse(this.rootlet('info', '--format', 'json'));
  }

  /** The OCI runtime rootlet gives a new container when none is asked for (`rootlet info`'s runtime.name). */
  defaultRuntime() {
    if (!this._runtime) {
      const rt = this.rootletInfo().runtime;
      if (!rt?.name) throw new Error(`rootlet has no usable OCI runtime: ${rt?.error ?? 'rootlet info names none'}`);
      this._runtime = rt.name;
    }
    return this._runtime;
  }

  /** rootlet's user-namespace holder (started on first use). */
  holderPid() {
    const pid = this.rootletInfo().paths.namespaceHolderPid;
    if (!pid) throw new Error('rootlet info names no namespace holder');
    this.recordPid(pid);
    return pid;
  }

  /** Podman's pause process, which holds its user namespace the way rootlet's holder does. */
  podmanPausePid() {
    try {
      const pid = Number(readFileSync(join(this.env.XDG_RUNTIME_DIR, 'libpod/tmp/pause.pid'), 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Lets bench/run.sh kill a holder that outlives a killed driver. */
  recordPid(pid) {
    if (process.env.BENCH_PIDS) appendFileSync(process.env.BENCH_PIDS, `${pid}\n`);
  }

  /** The busybox image, made from busybox-static and imported into both tools. */
  prepareImage() {
    const tar = this.path('busybox.tar');
    this.exec(['bash', join(this.scripts, 'make-busybox-rootfs.sh'), tar], 'make-busybox-rootfs.sh');
    this.rootlet('import', tar, this.image.rootlet);
    this.holderPid();
    this.podman('import', '--quiet', tar, this.image.podman);
    this.exec(this.podmanArgv(['import', '--quiet', tar, this.image.podman], this.podmanDefaultFlags), 'podman (vfs) import');
    const pause = this.podmanPausePid();
    if (pause) this.recordPid(pause);
  }

  /** Removes both stores and stops both namespaces; tries everything, reports what failed. */
  destroy() {
    const failures = [];
    const attempt = (what, fn) => {
      try { fn(); } catch (err) { failures.push(`${what}: ${err.message}`); }
    };
    let holder;
    attempt('rootlet info', () => { holder = this.holderPid(); });
    attempt('rootlet system reset', () => this.rootlet('system', 'reset', '--force'));
    const pause = this.podmanPausePid();
    attempt('podman (vfs) system reset', () => this.exec(this.podmanArgv(['system', 'reset', '--force'], this.podmanDefaultFlags)));
    attempt('podman system reset', () => this.podman('system', 'reset', '--force'));
    for (const pid of [holder, pause]) {
      if (pid && isCatatonit(pid)) attempt(`kill ${pid}`, () => process.kill(pid, 'SIGKILL'));
    }
    // Whatever is left belongs to the user (the images are all root-owned inside,
    // i.e. the user's own uid outside); bench/run.sh removes the stage as root anyway.
    attempt('rm', () => rmSync(this.root, { recursive: true, force: true }));
    if (existsSync(this.root)) failures.push(`${this.root} is still there`);
    return failures;
  }
}

function isCatatonit(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('catatonit');
  } catch {
    return false;
  }
}
