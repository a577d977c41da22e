import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkOverlayDepth, containerDirs, mountScript, overlayLowers, OVERLAY_MAX_LAYERS } from '../../src/storage/rootfs.js';
import { EngineError } from '../../src/util/errors.js';

// An overlay mount's options must fit in one page: layer directories named
// by 64-hex diff ids stop fitting at about 55 layers, and then the mount
// names them through short links (test/integration/layers-many.test.ts runs
// a 100-layer image for real).

const dir = mkdtempSync(join(tmpdir(), 'overlay-lowers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const hex = (i: number) => i.toString(16).padStart(64, '0');

describe('overlay lower layers', () => {
  test('a few layers are named as they are, from the layer directory', () => {
    const d = containerDirs(join(dir, 'c1'));
    const names = [hex(1), hex(2), hex(3)];
    assert.deepEqual(overlayLowers('/store/layers', names, d), { cwd: '/store/layers', names });
  });

  test('many layers are named through short links, bottom layer first, and the options fit in a page', () => {
    const d = containerDirs(join(dir, 'c2'));
    mkdirSync(d.dir);
    const names = Array.from({ length: 120 }, (_, i) => hex(i));
    const lowers = overlayLowers('/store/layers', names, d);
    assert.equal(lowers.cwd, join(d.dir, 'lower'));
    assert.deepEqual(lowers.names, names.map((_, i) => String(i)));
    assert.equal(readdirSync(lowers.cwd).length, 120);
    assert.equal(readlinkSync(join(lowers.cwd, '0')), `/store/layers/${hex(0)}`);
    assert.equal(readlinkSync(join(lowers.cwd, '119')), `/store/layers/${hex(119)}`);
    const script = mountScript('overlay', '/store/layers', lowers.names, d);
    const options = /-o (\S+)/.exec(script)![1]!;
    assert.ok(options.length < 4096, `${options.length} bytes of options`);
    assert.match(options, /^'?lowerdir=119:118:/); // the top layer first, as overlay reads them
    // Made anew on the next start: links left by an earlier one do not get in the way.
    assert.deepEqual(overlayLowers('/store/layers', names.slice(0, 100), d).names.length, 100);
    assert.equal(readdirSync(lowers.cwd).length, 100);
  });

  test('deeper than overlay stacks: one clear refusal', () => {
    assert.doesNotThrow(() => checkOverlayDepth(OVERLAY_MAX_LAYERS));
    assert.throws(() => checkOverlayDepth(OVERLAY_MAX_LAYERS + 1), (err: unknown) =>
      err instanceof EngineError && /^the image has 501 layers; an overlay mount stacks at most 500: squash the image/.test(err.message));
  });
});
