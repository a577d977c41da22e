import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { Podman } from '../podman-helpers.js';

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
