import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { ImagePullEvent, PullResult } from '../../src/engine/index.js';
import { pullRenderer } from '../../src/cli/pull-output.js';

/** Renders events to a stream that is not a terminal (one plain line per change) and returns what was written. */
function render(events: ImagePullEvent[], quiet = false): string {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const on = pullRenderer({ quiet, out: out as unknown as NodeJS.WriteStream });
  for (const e of events) on(e);
  return Buffer.concat(chunks).toString('utf8');
}

const digest = `sha256:${'a'.repeat(64)}`;
const result: PullResult = { name: 'docker.io/library/busybox:latest', id: `sha256:${'b'.repeat(64)}`, digest: `sha256:${'c'.repeat(64)}`, upToDate: false, remapped: 0 };
const pull: ImagePullEvent[] = [
  { type: 'begin', name: 'busybox', defaultTag: 'latest', missingLocally: 'busybox' },
  { type: 'resolved', name: result.name, host: 'registry.example', path: 'library/busybox', tag: 'latest' },
  { type: 'layer', digest, state: 'waiting' },
  { type: 'progress', digest, bytes: 10, total: 20 },
  { type: 'layer', digest, state: 'complete' },
  { type: 'pulled', result },
];

describe('pull output from the image service\'s events', () => {
  test('Docker\'s lines, headers first, the name last', () => {
    assert.equal(render(pull), [
      'Unable to find image \'busybox\' locally',
      'Using default tag: latest',
      'latest: Pulling from library/busybox',
      'aaaaaaaaaaaa: Pulling fs layer',
      'aaaaaaaaaaaa: Pull complete',
      `Digest: ${result.digest}`,
      'Status: Downloaded newer image for busybox:latest',
      'docker.io/library/busybox:latest',
      '',
    ].join('\n'));
  });

  test('quiet: only the name', () => {
    assert.equal(render(pull, true), 'docker.io/library/busybox:latest\n');
  });

  test('a pull that fails before the registry answers prints nothing (the error is the one line)', () => {
    assert.equal(render(pull.slice(0, 1)), '');
  });
});
