import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxTarball, Sandbox, type Result } from '../helpers.js';
import { gzip, makeTar, sha256, snapshot, tarBody, type TarEntry } from '../tar-fixtures.js';

const HOME = process.env.HOME!;
// The helper crashes on a refused entry that has a body; reported separately so the security checks stay hard.

/** Busybox plus the given entries, in one layer: an image that can run and has the test's files. */
async function withBusybox(entries: TarEntry[]): Promise<Buffer> {
  return Buffer.concat([tarBody(readFileSync(busyboxTarball())), await makeTar(entries)]);
}

/** Everything the store holds; a refused import must leave all of it as it was. */
function storeState(sb: Sandbox) {
  const list = (p: string) => (existsSync(sb.path(p)) ? readdirSync(sb.path(p)).sort() : []);
  const images = sb.ok(['images', '--no-trunc']).split('\n').map((l) => l.split(/\s{2,}/).slice(0, 3).join(' '));
  return {
    images,
    layers: list('data/rootlet/layers'),
    blobs: list('data/rootlet/blobs/sha256'),
    tmp: list('data/rootlet/tmp'),
  };
}

/** Files named `marker` anywhere in $HOME (except this store, where an absolute name legitimately lands) or /tmp. */
function escaped(sb: Sandbox, marker: string): string[] {
  const found: string[] = [];
  for (const [dir, depth] of [[HOME, '12'], ['/tmp', '3'], ['/var/tmp', '3']] as const) {
    const r = spawnSync('find', [dir, '-maxdepth', depth, '-path', sb.path('data'), '-prune', '-o', '-name', marker, '-print'], { encoding: 'utf8' });
    found.push(...r.stdout.split('\n').filter(Boolean));
  }
  return found;
}

describe('import refuses malicious layers and leaves everything as it was', () => {
  const sb = new Sandbox('layers');
  const tars = sb.path('tars');
  const marker = `rootlet-escape-${randomBytes(4).toString('hex')}`;
  let rootBefore: string[] = [];
  const results = new Map<string, Result>();

  interface Case { entries?: TarEntry[]; raw?: () => Promise<Buffer>; why: RegExp }
  const cases: Record<string, Case> = {
    // Six levels up from layers/.tmp-X is $HOME.
    'path traversal': { entries: [{ name: `../../../../../../${marker}`, body: 'pwned\n' }], why: /points outside the layer/ },
    'path traversal after a real directory': {
      entries: [{ name: 'ok/', type: 'directory' }, { name: `ok/../../../../../../../${marker}`, body: 'pwned\n' }],
      why: /points outside the layer/,
    },
    'symlink to an absolute host directory, then a file through it': {
      entries: [{ name: 'evil', type: 'symlink', linkname: sb.path('outside') }, { name: `evil/${marker}`, body: 'pwned\n' }],
      why: new RegExp(`"evil/${marker}" is written through "evil", which is a symlink`),
    },
    'symlink climbing with .., then a file through it': {
      entries: [{ name: 'evil', type: 'symlink', linkname: '../../../../../..' }, { name: `evil/${marker}`, body: 'pwned\n' }],
      why: /which is a symlink/,
    },
    'symlink, then a directory through it': {
      entries: [{ name: 'evil', type: 'symlink', linkname: sb.path('outside') }, { name: `evil/${marker}/`, type: 'directory' }],
      why: /which is a symlink/,
    },
    'hard link with ..': {
      entries: [{ name: 'hl', type: 'link', linkname: '../../../../canary/file' }],
      why: /points outside the layer/,
    },
    'hard link through a symlink': {
      entries: [{ name: 's', type: 'symlink', linkname: sb.path('canary') }, { name: 'hl', type: 'link', linkname: 's/file' }],
      why: /"s\/file" is written through "s", which is a symlink/,
    },
    'hard link to an absolute host path': {
      entries: [{ name: 'hl', type: 'link', linkname: sb.path('canary/file') }],
      why: /hard link "hl" points to .* which is not in the layer/,
    },
    'truncated tar': {
      raw: async () => (await makeTar([{ name: 'big', body: Buffer.alloc(100_000, 7) }, { name: 'after', body: 'x' }])).subarray(0, 50_000),
      why: /truncated/,
    },
    'truncated gzip': {
      raw: async () => {
        const gz = gzip(await makeTar([{ name: 'big', body: randomBytes(100_000) }]));
        return gz.subarray(0, gz.length >> 1);
      },
      why: /truncated/,
    },
    'not a tar': { raw: async () => Buffer.from('this is not a tar archive\n'.repeat(100)), why: /not a valid tar/ },
    'owner outside the subordinate range': {
      entries: [{ name: 'srv/', type: 'directory' }, { name: `srv/${marker}`, body: 'data\n', uid: 200000 }],
      why: new RegExp(`"srv/${marker}".*id 200000.*/etc/subuid`),
    },
  };

  before(async () => {
    sb.importBusybox();
    mkdirSync(tars);
    mkdirSync(sb.path('outside'));
    mkdirSync(sb.path('canary'));
    writeFileSync(sb.path('canary/file'), 'canary\n');
    for (const [name, c] of Object.entries(cases)) {
      writeFileSync(join(tars, `${name}.tar`), c.raw ? await c.raw() : await makeTar(c.entries!));
    }
    rootBefore = snapshot(sb.root, [sb.path('data'), sb.path('run'), sb.path('config')]);
  });
  after(() => sb.destroy());

  /** Imports a case once; each case's tests share the attempt. */
  function attempt(name: string): Result {
    let r = results.get(name);
    if (!r) {
      const state = storeState(sb);
      r = sb.run(['import', join(tars, `${name}.tar`), 'refused:test']);
      // Checked here, right after the import, so no later change can hide a change it made.
      assert.deepEqual(storeState(sb), state, 'the store changed');
      results.set(name, r);
    }
    return r;
  }

  for (const [name, c] of Object.entries(cases)) {
    test(`${name}: exit 125, store unchanged, nothing written outside it`, () => {
      const r = attempt(name);
      assert.equal(r.code, 125, r.stderr);
      assert.deepEqual(escaped(sb, marker), []);
      assert.deepEqual(readdirSync(sb.path('outside')), []);
      assert.equal(readFileSync(sb.path('canary/file'), 'utf8'), 'canary\n');
      assert.equal(statSync(sb.path('canary/file')).nlink, 1);
      assert.deepEqual(snapshot(sb.root, [sb.path('data'), sb.path('run'), sb.path('config')]), rootBefore);
    });

    test(`${name}: one line on stderr that names the problem`, () => {
      const r = attempt(name);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^Error: /);
      assert.match(lines[0]!, c.why);
    });
  }

  test('the image that was there still runs', () => {
    assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'ok']).trim(), 'ok');
    assert.doesNotMatch(sb.ok(['images']), /refused/);
  });
});

describe('import accepts unusual but valid layers', () => {
  const sb = new Sandbox('layers-ok');
  const marker = `rootlet-abs-${randomBytes(4).toString('hex')}`;

  before(() => {
    sb.importBusybox();
    mkdirSync(sb.path('canary'));
    writeFileSync(sb.path('canary/file'), 'canary\n');
  });
  after(() => sb.destroy());

  test('a gzip-compressed tar imports and runs', async () => {
    const tarPath = sb.path('hello.tar.gz');
    writeFileSync(tarPath, gzip(await withBusybox([{ name: 'hello', body: 'hello from gzip\n' }])));
    const id = sb.ok(['import', tarPath, 'hello-gz:v1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.match(sb.ok(['images']), /hello-gz\s+v1/);
    assert.equal(sb.ok(['run', '--rm', 'hello-gz:v1', 'cat', '/hello']), 'hello from gzip\n');
    // The blob kept is the compressed file as given.
    assert.ok(existsSync(sb.path('data/rootlet/blobs/sha256', sha256(readFileSync(tarPath)).slice(7))));
  });

  test('--remap-outside-ids gives files of ids outside the range to root and says how many', async () => {
    const tarPath = sb.path('outside-ids.tar');
    writeFileSync(tarPath, await withBusybox([{ name: 'far', body: 'far\n', uid: 200000, gid: 200000 }]));
    const r = sb.run(['import', '--remap-outside-ids', tarPath, 'remapped']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^2 file owner\(s\) outside your subordinate range were given to root$/m);
    assert.equal(sb.ok(['run', '--rm', 'remapped', 'stat', '-c', '%u:%g', '/far']).trim(), '0:0');
  });

  test('absolute names land inside the image, not on the host', async () => {
    const tarPath = sb.path('abs.tar');
    const hostPath = join(HOME, marker);
    writeFileSync(tarPath, await withBusybox([{ name: hostPath, body: 'inside\n' }, { name: `/${marker}`, body: 'at root\n' }]));
    sb.ok(['import', tarPath, 'abs']);
    assert.equal(existsSync(hostPath), false);
    assert.equal(sb.ok(['run', '--rm', 'abs', 'cat', hostPath]), 'inside\n');
    assert.equal(sb.ok(['run', '--rm', 'abs', 'cat', `/${marker}`]), 'at root\n');
  });

  test('a file replacing a symlink to a host file does not write through it', async () => {
    const tarPath = sb.path('replace.tar');
    writeFileSync(tarPath, await withBusybox([
      { name: 'f', type: 'symlink', linkname: sb.path('canary/file') },
      { name: 'f', body: 'replaced\n' },
    ]));
    sb.ok(['import', tarPath, 'replace']);
    assert.equal(readFileSync(sb.path('canary/file'), 'utf8'), 'canary\n');
    assert.equal(sb.ok(['run', '--rm', 'replace', 'cat', '/f']), 'replaced\n');
    assert.equal(sb.ok(['run', '--rm', 'replace', 'sh', '-c', 'test -L /f || echo regular']).trim(), 'regular');
  });

  test('OCI whiteouts and opaque directories become overlay\'s: a 0/0 device and user.overlay.opaque', async () => {
    const tarBuf = await withBusybox([
      { name: 'opq/', type: 'directory' },
      { name: 'opq/.wh..wh..opq', body: '' },
      { name: 'opq/kept', body: 'kept\n' },
      { name: '.wh.gone', body: '' },
      { name: 'sub/.wh.nested', body: '' },
    ]);
    const tarPath = sb.path('whiteouts.tar');
    writeFileSync(tarPath, tarBuf);
    sb.ok(['import', tarPath, 'whiteouts']);
    const layer = sb.path('data/rootlet/layers', sha256(tarBuf).slice(7));
    // Layer files belong to namespace ids: look at them from inside.
    assert.equal(sb.ok(['unshare', 'stat', '-c', '%F %t:%T', join(layer, 'gone'), join(layer, 'sub/nested')]),
      'character special file 0:0\ncharacter special file 0:0\n');
    // The markers themselves are not files of the layer.
    assert.notEqual(sb.run(['unshare', 'stat', join(layer, '.wh.gone')]).code, 0);
    assert.notEqual(sb.run(['unshare', 'stat', join(layer, 'opq/.wh..wh..opq')]).code, 0);
    assert.equal(sb.ok(['unshare', 'getfattr', '--absolute-names', '--only-values', '-n', 'user.overlay.opaque', join(layer, 'opq')]), 'y');
    assert.equal(sb.ok(['run', '--rm', 'whiteouts', 'cat', '/opq/kept']), 'kept\n');
    assert.equal(sb.ok(['run', '--rm', 'whiteouts', 'sh', '-c', 'test -e /gone || echo hidden']).trim(), 'hidden');
  });
});

describe('import: whiteout names that point at "." or ".."', () => {
  const WHY: Record<string, string> = {
    '.wh...': 'extract.ts whiteout branch: ".wh..." targets join(parent, ".."); at the top of the layer that is the store\'s layers directory, which is rm -rf\'d and replaced by a 0/0 device',
    '.wh..': 'extract.ts whiteout branch: ".wh.." targets the layer directory itself, which becomes a 0/0 device; the import succeeds with that as the layer',
  };
  for (const [name, why] of Object.entries(WHY)) {
    test(`${name} is refused and the store's other layers survive (${why.split(':')[0]})`, async () => {
      const sb = new Sandbox('layers-wh');
      try {
        sb.importBusybox();
        const layers = sb.path('data/rootlet/layers');
        const layersBefore = readdirSync(layers).sort();
        const tarPath = sb.path('dotdot.tar');
        writeFileSync(tarPath, await makeTar([{ name: 'x', body: 'x' }, { name, body: '' }]));
        const r = sb.run(['import', tarPath, 'dotdot']);
        const layersAfter = existsSync(layers) && statSync(layers).isDirectory() ? readdirSync(layers).sort() : ['<layers directory is gone>'];
        assert.deepEqual(layersAfter, layersBefore);
        assert.equal(r.code, 125);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.doesNotMatch(sb.ok(['images']), /dotdot/);
        assert.equal(sb.ok(['run', '--rm', 'busybox', 'echo', 'ok']).trim(), 'ok');
      } finally {
        sb.destroy();
      }
    });
  }
});
