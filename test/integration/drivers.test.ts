import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { mountsMentioning, Sandbox } from '../helpers.js';

// Native overlay is what this host uses; the fallbacks must work too where a
// kernel or /dev/fuse leaves no choice. The config file forces each.
for (const driver of ['fuse-overlayfs', 'vfs']) {
  describe(`storage driver ${driver}`, () => {
    test('runs containers, keeps their writes private, and leaves no mount', () => {
      const sb = new Sandbox(`driver-${driver}`);
      try {
        mkdirSync(sb.path('config/rootlet'), { recursive: true });
        writeFileSync(sb.path('config/rootlet/rootlet.toml'), `[storage]\ndriver = "${driver}"\n`);
        sb.importBusybox();
        assert.match(sb.ok(['info']), new RegExp(`Storage:\\s+${driver}`));
        assert.equal(sb.ok(['run', '--rm', 'busybox', 'sh', '-c', 'echo hi > /etc/new && cat /etc/new && rm /bin/ls && test ! -e /bin/ls && echo gone']), 'hi\ngone\n');
        // The image is untouched by the previous container.
        assert.equal(sb.ok(['run', '--rm', 'busybox', 'sh', '-c', 'test -e /bin/ls && test ! -e /etc/new && echo pristine']).trim(), 'pristine');
        assert.equal(sb.run(['run', '--name', 'kept', 'busybox', 'true']).code, 0);
        sb.ok(['rm', 'kept']);
        assert.deepEqual(mountsMentioning(sb.path('data/rootlet/containers')), []);
      } finally {
        sb.destroy();
      }
    });
  });
}

describe('the storage driver probe', () => {
  // Every process that finds no driver recorded probes; on a fresh store many
  // do at once. They once shared one scratch directory, so one process's
  // cleanup broke another's overlay mount: that one settled on
  // fuse-overlayfs for good and left the probe's fuse daemon running.
  test('parallel first runs on a fresh store agree on native overlay and leave no probe behind', async () => {
    const sb = new Sandbox('driver-probe');
    try {
      sb.importBusybox();
      const runs = Array.from({ length: 6 }, () => new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = sb.spawn(['run', '--rm', '--net', 'none', 'busybox', 'true']);
        let stderr = '';
        child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
        child.on('close', (code) => resolve({ code, stderr }));
      }));
      for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
      assert.match(sb.ok(['info']), /Storage:\s+overlay\b/);
      assert.deepEqual(readdirSync(sb.path('data/rootlet/tmp')).filter((n) => n.includes('probe')), []);
      assert.equal(spawnSync('pgrep', ['-f', `fuse-overlayfs.*${sb.root}`]).status, 1, 'a probe left fuse-overlayfs running');
      assert.deepEqual(mountsMentioning(sb.path('data/rootlet/tmp')), []);
    } finally {
      sb.destroy();
    }
  });
});

describe('a malformed config file', () => {
  test('is one clear error naming the file', () => {
    const sb = new Sandbox('badconfig');
    try {
      mkdirSync(sb.path('config/rootlet'), { recursive: true });
      writeFileSync(sb.path('config/rootlet/rootlet.toml'), '[storage\ndriver = \n');
      const r = sb.run(['images']);
      assert.equal(r.code, 125);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /rootlet\.toml/);
      writeFileSync(sb.path('config/rootlet/rootlet.toml'), '[storage]\ndriver = "zfs"\n');
      sb.run(['import', '/dev/null', 'x']);
      const bad = sb.run(['run', '--rm', 'x', 'true']);
      assert.equal(bad.code, 125);
      assert.match(bad.stderr, /storage\.driver: "zfs" is not a storage driver/);
    } finally {
      sb.destroy();
    }
  });
});
