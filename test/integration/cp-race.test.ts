import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox } from '../helpers.js';

const SECRET = 'HOST SECRET, never to be copied';
const ROUNDS = 15;

/** Every file under dir, with its content. */
function contents(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/**
 * A container keeps swapping a directory for a symlink to a host path while
 * `cp` copies into and out of it: no copy may read or write the host path.
 */
describe('cp while the container swaps a directory for a symlink to the host', () => {
  const sb = new Sandbox('cp-race');
  const hostIn = sb.path('host-in');
  const hostOut = sb.path('host-out');

  before(async () => {
    mkdirSync(hostIn);
    mkdirSync(hostOut);
    writeFileSync(join(hostOut, 'f'), SECRET);
    sb.importBusybox();
    // /srv/in and /srv/out are directories one moment, symlinks to the host's directories the next.
    const loop = [
      'mkdir -p /srv',
      'while :; do',
      '  rm -rf /srv/in.d /srv/out.d; mkdir /srv/in.d /srv/out.d; echo container > /srv/out.d/f',
      '  rm -rf /srv/in /srv/out; mv /srv/in.d /srv/in; mv /srv/out.d /srv/out',
      `  rm -rf /srv/in /srv/out; ln -s ${hostIn} /srv/in; ln -s ${hostOut} /srv/out`,
      'done',
    ].join('\n');
    sb.ok(['run', '-d', '--name', 'racer', 'busybox', 'sh', '-c', loop]);
    // The loop runs once the container made its first directory.
    const deadline = Date.now() + 30_000;
    while (sb.run(['exec', 'racer', 'ls', '/srv']).stdout.trim() === '') {
      if (Date.now() > deadline) throw new Error('the swapping loop did not start');
    }
  });
  after(() => {
    sb.run(['rm', '-f', 'racer']);
    sb.destroy();
  });

  test('copies into the container never land in the host directory', () => {
    const file = sb.path('payload.txt');
    writeFileSync(file, 'payload');
    const dir = sb.path('payload-dir');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'deep'), 'payload');
    let ok = 0;
    for (let i = 0; i < ROUNDS; i++) {
      for (const args of [[file, 'racer:/srv/in/'], [dir, 'racer:/srv/in/'], [file, 'racer:/srv/in/renamed'], [dir, 'racer:/srv/in/x']]) {
        const r = sb.run(['cp', ...args]);
        if (r.code === 0) ok++;
        else assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
    }
    assert.deepEqual(readdirSync(hostIn), [], `the host directory stayed empty (${ok} copies succeeded)`);
  });

  test('copies out of the container never read the host directory', () => {
    const dest = sb.path('out');
    mkdirSync(dest);
    for (let i = 0; i < ROUNDS; i++) {
      sb.run(['cp', 'racer:/srv/out/f', join(dest, `f-${i}`)]);
      sb.run(['cp', 'racer:/srv/out/.', join(dest, `dir-${i}`)]);
      sb.run(['cp', 'racer:/srv/out', join(dest, `whole-${i}`)]);
      const tar = spawnSync(process.execPath, ['--', BIN, 'cp', 'racer:/srv/out/f', '-'], { env: sb.env, maxBuffer: 1 << 24 });
      assert.ok(!tar.stdout.includes(SECRET), 'the archive on stdout holds no host file');
    }
    const copied = contents(dest);
    assert.ok(!copied.includes(SECRET), `no copy holds the host's file (${copied.length} files copied)`);
    assert.deepEqual(readdirSync(hostOut), ['f'], 'the host directory is as it was');
    assert.equal(readFileSync(join(hostOut, 'f'), 'utf8'), SECRET);
    rmSync(dest, { recursive: true, force: true });
  });
});
