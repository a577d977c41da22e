import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { leadingOptions } from '../../src/cli/leading-options.js';

// The command word after rootlet's global options: main.ts dispatches on it,
// and the entry (src/loader.ts) names the command's code cache by it.
describe('leadingOptions', () => {
  test('the command and its first word, after global options in either form', () => {
    assert.deepEqual(leadingOptions(['ps', '-a']), { command: 'ps', sub: undefined });
    assert.deepEqual(leadingOptions(['--root', '/r', '--runroot=/rr', '-D', 'volume', '-q', 'ls']), { root: '/r', runroot: '/rr', debug: true, command: 'volume', sub: 'ls' });
    assert.deepEqual(leadingOptions(['--log-level', 'debug', 'inspect', 'x']), { logLevel: 'debug', command: 'inspect', sub: 'x' });
  });

  test('no command: an unknown flag first, or nothing but global options', () => {
    assert.deepEqual(leadingOptions(['--bogus', 'ps']), {});
    assert.deepEqual(leadingOptions(['--root', '/r']), { root: '/r' });
    assert.deepEqual(leadingOptions([]), {});
  });
});
