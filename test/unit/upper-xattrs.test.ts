import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { upperXattrs } from '../../src/storage/upper-xattrs.js';

// A getfattr that prints what a test gives it: what is read from its output, and what is refused.
const bin = mkdtempSync(join(tmpdir(), 'upper-xattrs-'));
const path = process.env.PATH;
after(() => { process.env.PATH = path; rmSync(bin, { recursive: true, force: true }); });

function withGetfattr(output: string | undefined, f: () => void): void {
  rmSync(join(bin, 'getfattr'), { force: true });
  if (output !== undefined) {
    // Shell builtins only: PATH holds nothing else.
    writeFileSync(join(bin, 'getfattr'), `#!/bin/sh\nwhile IFS= read -r l; do printf '%s\\n' "$l"; done <<'EOF'\n${output}\nEOF\n`);
    chmodSync(join(bin, 'getfattr'), 0o755);
  }
  process.env.PATH = bin;
  try { f(); } finally { process.env.PATH = path; }
}

describe('upperXattrs: what getfattr says of a container\'s changes', () => {
  test('capabilities byte for byte, opaque directories, names unescaped', () => {
    withGetfattr([
      '# file: /top/usr/bin/ping', 'security.capability=0x0100000280000000000000000000000000000000', '',
      '# file: /top/opq', 'user.overlay.opaque=0x79', '',
      '# file: /top/caf\\303\\251', 'security.capability=0x01000002000400000000000000000000000000ff',
    ].join('\n'), () => {
      const x = upperXattrs('/top', { opaque: true });
      assert.deepEqual([...x.opaque], ['/opq']);
      assert.deepEqual([...x.capped.keys()], ['/usr/bin/ping', '/caf\u00e9']);
      assert.equal(x.capped.get('/usr/bin/ping')!.toString('hex'), '0100000280000000000000000000000000000000');
      assert.equal(x.capped.get('/caf\u00e9')![19], 0xff);
    });
  });

  test('a capability that is not hex is refused, naming the file (not left out of the layer)', () => {
    withGetfattr('# file: /top/bin/x\nsecurity.capability="text"', () => {
      assert.throws(() => upperXattrs('/top', { opaque: false }), /cannot read the file capabilities of \/bin\/x: getfattr printed "security\.capability="text""/);
    });
  });

  test('without getfattr: one line naming the package', () => {
    withGetfattr(undefined, () => {
      assert.throws(() => upperXattrs('/top', { opaque: true }), /getfattr is not installed \(Debian package attr\)/);
    });
  });
});
