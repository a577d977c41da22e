import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox } from '../helpers.js';
import { makeImage, pushRaw, startRegistry, type Registry } from '../registry-helpers.js';
import { makeTar, tarBody } from '../tar-fixtures.js';

/**
 * An image of 100 layers (Docker allows 127; overlay stacks up to 500):
 * its layer names no longer fit in the one page of options an overlay
 * mount takes, so the mount names them through short links. It pulls,
 * runs with every layer's files and whiteouts applied, commits, and is
 * removed leaving no layer behind. (Past overlay's 500 layers a container
 * is refused in one line: test/unit/overlay-lowers.test.ts, since pulling
 * 501 layers would take minutes.)
 */

/** Layer i (1..count-1) adds /layers/i; the layer at `whiteoutAt` deletes /layers/10 again. */
async function layeredImage(count: number, whiteoutAt: number): Promise<ReturnType<typeof makeImage>> {
  const tars = [tarBody(readFileSync(busyboxTarball()))];
  for (let i = 1; i < count; i++) {
    const entries = [{ name: 'layers/', type: 'directory' as const }, { name: `layers/${i}`, body: `layer ${i}\n` }];
    if (i === whiteoutAt) entries.push({ name: 'layers/.wh.10', body: '' });
    tars.push(await makeTar(entries));
  }
  return makeImage(tars, { cmd: ['sh'] });
}

describe('images of many layers', () => {
  const sb = new Sandbox('layers-many');
  let reg: Registry;
  before(async () => {
    reg = await startRegistry();
    await pushRaw(reg.host, 'many/hundred', 'v1', await layeredImage(100, 50));
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  test('100 layers: pull, run with every layer and whiteout applied, commit, remove', () => {
    const image = `${reg.host}/many/hundred:v1`;
    sb.ok(['pull', '--tls-verify=false', image]);
    assert.equal(sb.storeState().layers.length, 100);
    assert.equal(sb.ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', image]).trim(), '100');

    const listing = sb.ok(['run', '--rm', image, 'sh', '-c', 'ls /layers | sort -n | tr "\\n" " "; cat /layers/99']);
    const expected = Array.from({ length: 99 }, (_, i) => String(i + 1)).filter((n) => n !== '10');
    assert.equal(listing, `${expected.join(' ')} layer 99\n`);

    // A detached container and a commit of it: the 101st layer.
    const id = sb.ok(['run', '-d', image, 'sh', '-c', 'echo top > /layers/top; sleep 600']).trim();
    sb.ok(['exec', id, 'test', '-f', '/layers/1']);
    sb.ok(['rm', '-f', id]);
    const id2 = sb.ok(['create', image, 'sh', '-c', 'echo top > /layers/top']).trim();
    sb.ok(['start', '-a', id2]);
    sb.ok(['commit', id2, 'many:101']);
    sb.ok(['rm', id2]);
    assert.equal(sb.ok(['run', '--rm', 'many:101', 'cat', '/layers/top', '/layers/1']), 'top\nlayer 1\n');

    sb.ok(['rmi', 'many:101', image]);
    assert.deepEqual(sb.storeState().layers, []);
    assert.equal(sb.ok(['ps', '-aq']), '');
  });
});
