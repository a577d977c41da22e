import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { startRegistry, type Registry } from '../registry-helpers.js';

interface RawManifest { layers: Array<{ mediaType: string; digest: string }> }

/**
 * The busybox tarball without the record padding GNU tar adds after its two
 * end blocks. skopeo (Debian 12's 1.9) rewrites the tar of a zstd:chunked
 * layer without that padding yet keeps the config's diff id: from an
 * unpadded source its image is consistent, as current tools make them.
 */
function unpaddedBusybox(file: string): void {
  const b = readFileSync(busyboxTarball());
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  writeFileSync(file, b.subarray(0, Math.ceil(end / 512) * 512 + 1024));
}

describe('zstd layers, as quay.io and Fedora serve them', () => {
  const sb = new Sandbox('registry-zstd');
  let reg: Registry;
  const skopeo = (args: string[]) => spawnSync('skopeo', args, {
    encoding: 'utf8', timeout: 120_000,
    // A blob-info cache of its own per copy: skopeo would otherwise reuse the uncompressed blob the registry has.
    env: { ...process.env, XDG_DATA_HOME: mkdtempSync(sb.path('skopeo-')) },
  });
  before(async () => {
    reg = await startRegistry();
    unpaddedBusybox(sb.path('src.tar'));
    sb.ok(['import', sb.path('src.tar'), 'src']);
    sb.ok(['push', '--tls-verify=false', 'src', `${reg.host}/zstd/src:1`]);
    // Nothing of it stays here: the pulls below must decompress every layer.
    sb.ok(['rmi', 'src']);
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  for (const format of ['zstd', 'zstd:chunked']) {
    test(`an image compressed by skopeo with ${format} pulls and runs`, () => {
      const dest = `${reg.host}/zstd/${format.replace(':', '-')}:1`;
      const c = skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--format', 'oci',
        '--dest-compress-format', format, `docker://${reg.host}/zstd/src:1`, `docker://${dest}`]);
      assert.equal(c.status, 0, c.stderr);
      const i = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${dest}`]);
      assert.equal(i.status, 0, i.stderr);
      const raw = JSON.parse(i.stdout) as RawManifest;
      assert.ok(raw.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'), JSON.stringify(raw.layers));
      sb.ok(['pull', '-q', '--tls-verify=false', dest]);
      assert.equal(sb.ok(['run', '--rm', dest, 'sh', '-c', 'echo zstd-ok']).trim(), 'zstd-ok');
      sb.ok(['rmi', dest]);
    });
  }
});
