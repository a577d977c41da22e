import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The bundle under test (staged by scripts/test.sh), else this checkout's dist/ (tests run from build/test/<dir>/). */
export const BIN = process.env.ROOTLET_BIN ?? resolve(here, '../../../dist/rootlet.cjs');
/** The helper bundle the CLI runs inside the namespace. */
export const HELPER = join(dirname(BIN), 'rootlet-helper.cjs');
/** A word for sh -c, single-quoted. */
export const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

export const SCRIPTS = process.env.ROOTLET_SCRIPTS ?? resolve(here, '../../../scripts');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function toResult(r: SpawnSyncReturns<string>): Result {
  return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * An isolated rootlet store (data, runtime and config directories of its
 * own, hence its own namespace holder) for one test file.
 */
export class Sandbox {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(name: string) {
    const base = join(process.env.HOME ?? tmpdir(), 'rootlet-tests');
    mkdirSync(base, { recursive: true, mode: 0o700 });
    this.root = mkdtempSync(join(base, `${name}-`));
    const run = join(this.root, 'run');
    mkdirSync(run, { mode: 0o700 });
    this.env = {
      ...process.env,
      XDG_DATA_HOME: join(this.root, 'data'),
      XDG_CONFIG_HOME: join(this.root, 'config'),
      XDG_RUNTIME_DIR: run,
    };
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Runs rootlet to completion. */
  run(args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Result {
    return toResult(spawnSync(process.execPath, ['--', BIN, ...args], {
      env: { ...this.env, ...opts.env },
      input: opts.input,
      cwd: opts.cwd ?? this.root,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 120_000,
    }));
  }

  /** Runs rootlet and fails the test with its stderr unless it exits 0. */
  ok(args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`rootlet ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts rootlet in the background (for signal and concurrency tests). */
  spawn(args: string[], opts: { stdin?: 'pipe' | 'ignore' } = {}) {
    return spawn(process.execPath, ['--', BIN, ...args], { env: this.env, cwd: this.root, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  }

  /** Imports the busybox test image as `name`. */
  importBusybox(name = 'busybox'): string {
    return this.ok(['import', busyboxTarball(), name]).trim();
  }

  /** Everything the store holds: a refused command must leave all of it as it was. */
  storeState() {
    const list = (p: string) => (existsSync(this.path(p)) ? readdirSync(this.path(p)).sort() : []);
    return {
      images: this.ok(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
      layers: list('data/rootlet/layers'),
      blobs: list('data/rootlet/blobs/sha256'),
      tmp: list('data/rootlet/tmp'),
    };
  }

  /** Removes everything the sandbox made, holder included. */
  destroy(): void {
    this.run(['system', 'reset', '--force']);
    const r = spawnSync('rm', ['-rf', this.root]);
    if (r.status !== 0 && existsSync(this.root)) rmSync(this.root, { recursive: true, force: true });
  }
}

let tarball: string | undefined;

/** A root filesystem tarball made from busybox-static, built once per test process. */
export function busyboxTarball(): string {
  if (tarball && existsSync(tarball)) return tarball;
  const dir = mkdtempSync(join(tmpdir(), 'rootlet-busybox-'));
  const out = join(dir, 'busybox.tar');
  const r = spawnSync('bash', [join(SCRIPTS, 'make-busybox-rootfs.sh'), out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build the busybox image: ${r.stderr}`);
  tarball = out;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return out;
}

/** Mount points of this user's namespace holders and of the host that mention a path. */
export function mountsMentioning(text: string): string[] {
  const r = spawnSync('sh', ['-c', 'cat /proc/*/mountinfo 2>/dev/null'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return (r.stdout ?? '').split('\n').filter((l) => l.includes(text));
}

/** Processes of this user that networking starts (stacks, forwarders) for the sandbox at `root`, with their command lines. */
export function netProcesses(root: string): string[] {
  const r = spawnSync('ps', ['-u', String(process.getuid!()), '-o', 'pid=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /pasta|passt|slirp4netns|rootlet-portfwd/.test(l) && l.includes(root) && !/defunct/.test(l));
}

/**
 * netProcesses without the networks' shared stacks (those name a network's
 * namespace file, net-ID): what containers leave behind, forwarders and
 * stacks of their own. The default network's stack stays up between
 * containers (src/engine/networks/endpoints.ts, lingers).
 */
export function containerNetProcesses(root: string): string[] {
  return netProcesses(root).filter((l) => !isNetworkStack(l));
}

/** Whether a `ps`/`pgrep -a` line is a network's shared stack (it names the network's namespace file, net-ID). */
export function isNetworkStack(line: string): boolean {
  return /(pasta|passt|slirp4netns)\S* .*\/netns\/net-/.test(line);
}

/** Runs a command as another user through the test-only sudo rule. */
export function asUser(user: string, cmd: string[], env: Record<string, string> = {}): Result {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return toResult(spawnSync('sudo', ['-n', '-u', user, 'env', ...envArgs, ...cmd], { encoding: 'utf8', timeout: 120_000 }));
}

/** Polls until `fn` holds, failing the test after `ms`. */
export async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A refusal as every front door must make it: exit 125, exactly one line on stderr, no trace, and the line matches. */
export function refusedOneLine(r: Result, want: RegExp, what: string): void {
  assert.equal(r.code, 125, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  assert.ok(!r.stderr.includes('    at '), `${what}: ${r.stderr}`);
  assert.match(lines[0]!, /^Error: /, what);
  assert.match(lines[0]!, want, what);
}
