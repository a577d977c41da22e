import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { makeTar, tarBody } from '../tar-fixtures.js';

describe('containers share their image\'s layers', () => {
  let sb: Sandbox;
  before(() => {
    sb = new Sandbox('image-size');
  });
  after(() => sb.destroy());

  /** Bytes the store takes on disk, counted inside the namespace (container files belong to subordinate ids). */
  function storeBytes(): number {
    return Number(sb.ok(['unshare', 'du', '-s', '--block-size=1', sb.path('data/rootlet')]).split('\t')[0]);
  }

  test('10 containers made from one image add less than 5% of the image\'s size to the store', async () => {
    // A ~10 MB image: busybox and 8 MB that does not compress.
    const tarball = sb.path('image.tar');
    writeFileSync(tarball, Buffer.concat([tarBody(readFileSync(busyboxTarball())), await makeTar([{ name: 'data/blob', body: randomBytes(8 << 20) }])]));
    sb.ok(['import', tarball, 'sized']);
    const imageSize = Number(sb.ok(['image', 'inspect', '-f', '{{.Size}}', 'sized']).trim());
    const before = storeBytes();
    for (let i = 0; i < 10; i++) sb.ok(['create', '--name', `c${i}`, 'sized', 'true']);
    const created = storeBytes() - before;
    const share = created / imageSize;
    process.stdout.write(`# 10 containers created: ${created} bytes more in the store, ${(share * 100).toFixed(2)}% of the image's ${imageSize}\n`);
    assert.ok(share < 0.05, `10 containers added ${created} bytes, ${(share * 100).toFixed(1)}% of the image's ${imageSize}`);
    // Started, each gets its writable layer and files (hosts, resolv.conf, logs, and a runtime config that
    // carries the default seccomp filter, ~40 KB as Podman's does): still nothing near a copy of the 8 MiB image.
    for (let i = 0; i < 10; i++) sb.ok(['start', '-a', `c${i}`]);
    const perContainer = (storeBytes() - before) / 10;
    process.stdout.write(`# after one run each: ${perContainer} bytes a container\n`);
    assert.ok(perContainer < 128 << 10, `a container that ran takes ${perContainer} bytes of the store`);
  });
});
