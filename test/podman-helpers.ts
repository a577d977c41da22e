import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Result } from './helpers.js';

/**
 * Podman with a store, runtime directory and pause process of its own
 * under the test's directory, so the user's own Podman setup is untouched.
 * Podman 4.3 needs runc here (crun refuses this host's hybrid cgroups).
 */
export class Podman {
  private readonly global: string[];
  private readonly env: NodeJS.ProcessEnv;
  constructor(private readonly dir: string) {
    for (const d of ['run', 'config', 'tmp']) mkdirSync(`${dir}/${d}`, { recursive: true, mode: 0o700 });
    this.env = { ...process.env, XDG_RUNTIME_DIR: `${dir}/run`, XDG_CONFIG_HOME: `${dir}/config` };
    this.global = ['--root', `${dir}/root`, '--runroot', `${dir}/rr`, '--tmpdir', `${dir}/tmp`, '--runtime', 'runc',
      '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  }

  /** Its output as text, and as bytes (`raw`) for archives. */
  run(args: string[], input?: Buffer): Result & { raw: Buffer } {
    const r = spawnSync('podman', [...this.global, ...args], { env: this.env, input, timeout: 300_000, maxBuffer: 256 << 20 });
    return { code: r.status ?? 128, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '', raw: r.stdout ?? Buffer.alloc(0) };
  }

  ok(args: string[]): string {
    const r = this.run(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Deletes its store (files of subordinate ids: from its namespace) and ends its pause process. */
  destroy(): void {
    this.run(['unshare', 'rm', '-rf', `${this.dir}/root`, `${this.dir}/rr`]);
    const pidFile = `${this.dir}/tmp/pause.pid`;
    if (existsSync(pidFile)) {
      try { process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
