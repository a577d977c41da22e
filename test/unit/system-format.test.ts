import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dfRows, dfText, dockerVersion, formatOne, versionText } from '../../src/cli/system-format.js';
import { VOLUME_LS, volumeRow } from '../../src/cli/volume.js';
import { volumeDoc } from '../../src/docker/volume.js';
import { formatList } from '../../src/cli/list-format.js';
import { EngineError } from '../../src/util/errors.js';

const row = (count: number, active: number, size: number, reclaimable: number) => ({ count, active, size, reclaimable });
const usage = {
  images: row(5, 2, 16_430_000, 11_630_000),
  containers: row(2, 0, 2, 2),
  volumes: row(2, 1, 36, 0),
  buildCache: row(0, 0, 0, 0),
  detail: { images: [], containers: [], volumes: [] },
};

describe('system and volume formatters', () => {
  test('system df: Docker\'s table and reclaimable percentages', () => {
    assert.equal(dfText(usage, undefined), [
      'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE',
      'Images          5         2         16.4MB    11.6MB (71%)',
      'Containers      2         0         2B        2B (100%)',
      'Local Volumes   2         1         36B       0B (0%)',
      'Build Cache     0         0         0B        0B',
      '',
    ].join('\n'));
    assert.deepEqual(dfRows(usage)[3], { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' });
  });

  test('version: Client and Server blocks, the runtime a component', () => {
    const doc = dockerVersion({ version: '1.2.3', apiVersion: '1.43', os: 'linux', arch: 'x64', kernel: '6.1.0', nodeVersion: '20.1.0', runtime: { name: 'crun', path: '/usr/bin/crun', version: 'crun version 1.8.1' } });
    assert.equal(doc.Client.Arch, 'x86_64');
    assert.deepEqual((doc.Server.Components as Array<{ Name: string; Version: string }>).map((c) => `${c.Name} ${c.Version}`), ['Engine 1.2.3', 'crun 1.8.1']);
    const text = versionText(doc);
    assert.match(text, /^Client:\n Version:     1\.2\.3\n API version: 1\.43\n/);
    assert.match(text, /\nServer:\n Engine:\n  Version:      1\.2\.3\n/);
    assert.match(text, /\n crun:\n  Version: 1\.8\.1\n  Path:    \/usr\/bin\/crun\n$/);
    assert.equal(formatOne('{{.Server.Version}}', doc), '1.2.3\n');
    assert.throws(() => formatOne('{{.Server.Nope}}', doc), (e: unknown) => e instanceof EngineError && e.exitCode === 125);
  });

  test('volume rows and inspect documents', () => {
    const v = { name: 'data', driver: 'local' as const, mountpoint: '/s/volumes/data/_data', createdAt: Date.UTC(2024, 0, 2, 3, 4, 5, 678), labels: { a: 'b' }, options: {}, scope: 'local' as const, anonymous: false, usedBy: [{ id: 'x', name: 'c' }] };
    assert.deepEqual(volumeDoc(v), { CreatedAt: '2024-01-02T03:04:05Z', Driver: 'local', Labels: { a: 'b' }, Mountpoint: '/s/volumes/data/_data', Name: 'data', Options: {}, Scope: 'local' });
    assert.equal(formatList(undefined, [volumeRow(v)], VOLUME_LS), 'DRIVER    VOLUME NAME\nlocal     data\n');
    assert.equal(formatList('{{.Name}} {{.Links}} {{.Label "a"}}', [volumeRow(v)], VOLUME_LS), 'data 1 b\n');
  });
});
