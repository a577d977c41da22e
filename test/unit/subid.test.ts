import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGetsubids, parseSubIdFile, totalIds } from '../../src/rootless/subid.js';

const FILE = [
  '# subordinate ids',
  'alice:100000:65536',
  'bob:165536:65536',
  '',
  '  # indented comment',
  '1001:231072:1000',
  'alice:300000:10',
  'alice2:400000:65536',
  'broken line',
  'alice:x:10',
  'alice:500000:0',
  'alice:-5:10',
  '  alice:600000:5  ',
].join('\n');

describe('parseSubIdFile', () => {
  test('by name: every range of the user, in file order; other users and bad lines ignored', () => {
    assert.deepEqual(parseSubIdFile(FILE, 'alice', 1000), [
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
      { start: 600000, count: 5 },
    ]);
  });

  test('by numeric uid, combined with the name', () => {
    assert.deepEqual(parseSubIdFile(FILE, 'carol', 1001), [{ start: 231072, count: 1000 }]);
    assert.deepEqual(parseSubIdFile(FILE, 'bob', 1001), [{ start: 165536, count: 65536 }, { start: 231072, count: 1000 }]);
  });

  test('a name that is a prefix of another does not match it', () => {
    assert.deepEqual(parseSubIdFile('alice2:400000:65536\n', 'alice', 5), []);
  });

  test('no entry, empty text, CRLF line endings', () => {
    assert.deepEqual(parseSubIdFile(FILE, 'nobody', 4242), []);
    assert.deepEqual(parseSubIdFile('', 'alice', 1000), []);
    assert.deepEqual(parseSubIdFile('alice:100000:65536\r\n', 'alice', 1000), [{ start: 100000, count: 65536 }]);
  });

  test('totalIds adds the counts', () => {
    assert.equal(totalIds(parseSubIdFile(FILE, 'alice', 1000)), 65551);
    assert.equal(totalIds([]), 0);
  });
});

describe('parseGetsubids', () => {
  test('one range per line, index and name ignored', () => {
    assert.deepEqual(parseGetsubids('0: alice 100000 65536\n1: alice 300000 10\n'), [
      { start: 100000, count: 65536 },
      { start: 300000, count: 10 },
    ]);
  });

  test('noise and empty output give nothing', () => {
    assert.deepEqual(parseGetsubids(''), []);
    assert.deepEqual(parseGetsubids('Error fetching ranges\n'), []);
    assert.deepEqual(parseGetsubids('0: alice 100000\n'), []);
  });
});
