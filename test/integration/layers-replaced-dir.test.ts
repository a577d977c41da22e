import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Sandbox } from '../helpers.js';
import { makeImage, pushRaw, startRegistry, type Registry } from '../registry-helpers.js';
import { makeTar, snapshot } from '../tar-fixtures.js';

/**
 * A layer that records work under a directory (its mode and time, a
 * whiteout, an opaque marker, an xattr: all applied when the tar ends) and
 * then replaces that directory with a symlink to a host directory. What was
 * recorded left the layer with the directory: acting on the old paths would
 * follow the symlink and change the host. Both extractors are checked: the
 * Node helper (import) and rootlet-layer-fetch (pull from plain HTTP).
 */
describe('a directory replaced by a symlink later in the layer: nothing recorded below it reaches the host', () => {
  const sb = new Sandbox('layers-replaced-dir');
  const outside = sb.path('outside');
  let reg: Registry;
  let tarBuf: Buffer;

  const xattrsOf = (p: string) => spawnSync('getfattr', ['-h', '-d', '-m', '-', p], { encoding: 'utf8' }).stdout.trim();
  const hostState = () => ({
    listing: snapshot(outside),
    sub: lstatSync(`${outside}/sub`).mode & 0o7777,
    subTime: lstatSync(`${outside}/sub`).mtimeMs,
    fileXattrs: xattrsOf(`${outside}/f`),
    opaqueXattrs: xattrsOf(`${outside}/o`),
  });
  let before0: ReturnType<typeof hostState>;

  before(async () => {
    mkdirSync(`${outside}/sub`, { recursive: true, mode: 0o755 });
    mkdirSync(`${outside}/o`, { mode: 0o755 });
    writeFileSync(`${outside}/f`, 'host file\n');
    before0 = hostState();
    tarBuf = await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/sub/', type: 'directory', mode: 0o777, mtime: new Date('2001-01-01T00:00:00Z') },
      { name: 'd/f', body: 'in the layer\n', pax: { 'SCHILY.xattr.user.evil': 'yes' } },
      { name: 'd/.wh.gone', body: '' },
      { name: 'd/o/', type: 'directory' },
      { name: 'd/o/.wh..wh..opq', body: '' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'kept', body: 'kept\n' },
    ]);
    reg = await startRegistry();
    await pushRaw(reg.host, 'replaced/dir', 'latest', makeImage([tarBuf]));
  });
  after(() => {
    reg?.stop();
    sb.destroy();
  });

  const extractors: Array<[string, () => void]> = [
    ['import (the Node helper)', () => {
      writeFileSync(sb.path('layer.tar'), tarBuf);
      sb.ok(['import', sb.path('layer.tar'), 'replaced:import']);
    }],
    ['pull (rootlet-layer-fetch)', () => {
      const r = sb.run(['pull', '-q', '--tls-verify=false', `${reg.host}/replaced/dir`], { env: { ...sb.env, ROOTLET_TRACE: '1' } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /extracted by rootlet-layer-fetch/);
    }],
  ];
  for (const [name, extract] of extractors) {
    test(`${name}: the layer is stored, the host directory unchanged`, () => {
      extract();
      assert.deepEqual(hostState(), before0);
      assert.equal(sb.ok(['images', '--format', '{{.Repository}}']).split('\n').filter((l) => l.includes('replaced')).length >= 1, true);
    });
  }

});
