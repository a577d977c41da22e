import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox, type Result } from '../helpers.js';

/**
 * Podman with a store, runtime directory and pause process of its own
 * under the test's directory, so the user's own Podman setup is untouched.
 * Podman 4.3 needs runc here (crun refuses this host's hybrid cgroups).
 */
class Podman {
  private readonly global: string[];
  private readonly env: NodeJS.ProcessEnv;
  constructor(private readonly dir: string) {
    for (const d of ['run', 'config', 'tmp']) mkdirSync(`${dir}/${d}`, { recursive: true, mode: 0o700 });
    this.env = { ...process.env, XDG_RUNTIME_DIR: `${dir}/run`, XDG_CONFIG_HOME: `${dir}/config` };
    this.global = ['--root', `${dir}/root`, '--runroot', `${dir}/rr`, '--tmpdir', `${dir}/tmp`, '--runtime', 'runc',
      '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  }

  run(args: string[]): Result {
    const r = spawnSync('podman', [...this.global, ...args], { env: this.env, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
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

describe('save and load with Podman, both ways', () => {
  let sb: Sandbox;
  let podman: Podman;
  before(() => {
    sb = new Sandbox('image-podman');
    // Podman refuses a runroot path longer than 50 characters.
    podman = new Podman(mkdtempSync('/tmp/rootlet-pm-'));
    sb.ok(['import', '-c', 'CMD ["echo", "made by rootlet"]', busyboxTarball(), 'localhost/from-rootlet:1']);
    podman.ok(['import', '--change', 'CMD ["echo", "made by podman"]', busyboxTarball(), 'localhost/from-podman:1']);
  });
  after(() => {
    podman.destroy();
    sb.destroy();
  });

  for (const format of ['docker-archive', 'oci-archive']) {
    test(`rootlet save --format ${format} loads in podman load, and runs there`, () => {
      const file = sb.path(`rootlet-${format}.tar`);
      sb.ok(['save', '--format', format, '-o', file, 'localhost/from-rootlet:1']);
      const loaded = podman.ok(['load', '-i', file]);
      assert.match(loaded, /Loaded image.*from-rootlet:1/);
      assert.equal(podman.ok(['run', '--rm', '--net', 'none', 'localhost/from-rootlet:1']).trim(), 'made by rootlet');
      podman.ok(['rmi', 'localhost/from-rootlet:1']);
    });

    test(`podman save --format ${format} loads in rootlet, and runs`, () => {
      const file = sb.path(`podman-${format}.tar`);
      podman.ok(['save', '--format', format, '-o', file, 'localhost/from-podman:1']);
      assert.equal(sb.ok(['load', '-i', file]), 'Loaded image: localhost/from-podman:1\n');
      assert.equal(sb.ok(['run', '--rm', 'localhost/from-podman:1']).trim(), 'made by podman');
      assert.equal(sb.ok(['history', '-q', 'localhost/from-podman:1']).trim().split('\n').length, 1);
      sb.ok(['rmi', 'localhost/from-podman:1']);
    });
  }

  test('podman\'s multi-image docker-archive loads in rootlet with every name', () => {
    podman.ok(['tag', 'localhost/from-podman:1', 'localhost/from-podman:2']);
    const file = sb.path('podman-multi.tar');
    podman.ok(['save', '-m', '-o', file, 'localhost/from-podman:1', 'localhost/from-podman:2']);
    const out = sb.ok(['load', '-i', file]);
    assert.match(out, /Loaded image: localhost\/from-podman:1\n/);
    assert.match(out, /Loaded image: localhost\/from-podman:2\n/);
    assert.equal(sb.ok(['images', '-q', 'localhost/from-podman']).trim().split('\n').length, 1, 'one image, two names');
  });
});
