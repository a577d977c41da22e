import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseLogLine, readLog, type LogRecord } from '../../src/engine/containers/logs.js';

// `logs --tail N` scans the log backwards from its end; it must give what
// reading the whole file and counting from the end gives, also where a
// record is cut by the scan's 64 KiB chunks and where P records continue a
// line across records.

const dir = mkdtempSync(join(tmpdir(), 'log-tail-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The reference: the whole file read, records kept, N full records counted from the end with the parts before them. */
function expected(text: string, tail: number, keep: (r: LogRecord) => boolean): string[] {
  const recs = text.split('\n').filter(Boolean).map(parseLogLine).filter((r): r is LogRecord => !!r && keep(r));
  let full = 0;
  let start = recs.length;
  while (start > 0 && full < tail) {
    start--;
    if (!recs[start]!.partial) full++;
  }
  while (start > 0 && recs[start - 1]!.partial) start--;
  if (tail === 0) start = recs.length;
  return recs.slice(start).map((r) => `${r.stream} ${r.partial ? 'P' : 'F'} ${r.text}`);
}

async function actual(path: string, tail: number, since?: number, until?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readLog(path, { follow: false, tail, since, until, ended: () => true })) out.push(`${r.stream} ${r.partial ? 'P' : 'F'} ${r.text}`);
  return out;
}

/** A deterministic pseudo-random source, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function makeLog(seed: number, records: number, maxText: number): { text: string; times: number[] } {
  const rand = rng(seed);
  const base = Date.parse('2026-12-01T10:00:00Z');
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < records; i++) {
    const ms = base + i * 1000;
    times.push(ms);
    const stream = rand() < 0.3 ? 'stderr' : 'stdout';
    const flag = rand() < 0.25 ? 'P' : 'F';
    const body = `rec${i}-` + 'x'.repeat(Math.floor(rand() * maxText));
    text += `${new Date(ms).toISOString()} ${stream} ${flag} ${body}\n`;
  }
  return { text, times };
}

describe('logs --tail', () => {
  test('matches counting over the whole file, for records shorter and longer than a chunk', async () => {
    for (const [seed, records, maxText] of [[1, 200, 80], [2, 60, 150_000], [3, 500, 3000], [4, 1, 10], [5, 30, 70_000]] as const) {
      const { text, times } = makeLog(seed, records, maxText);
      const path = join(dir, `log-${seed}`);
      writeFileSync(path, text);
      for (const tail of [0, 1, 2, 5, 17, records - 1, records, records + 10]) {
        assert.deepEqual(await actual(path, tail), expected(text, tail, () => true), `seed ${seed} tail ${tail}`);
      }
      // --since/--until filter before counting, as Docker does.
      const since = times[Math.floor(records / 3)]!;
      const until = times[Math.floor((2 * records) / 3)]!;
      const keep = (r: LogRecord) => r.ms >= since && r.ms <= until;
      for (const tail of [1, 3, records]) {
        assert.deepEqual(await actual(path, tail, since, until), expected(text, tail, keep), `seed ${seed} tail ${tail} since/until`);
      }
    }
  });

  test('a last line still being written (no newline yet) is neither shown nor counted', async () => {
    const path = join(dir, 'open-line');
    writeFileSync(path, '2026-12-01T10:00:00.000Z stdout F one\n2026-12-01T10:00:01.000Z stdout F two\n2026-12-01T10:00:02.000Z stdout F three');
    assert.deepEqual(await actual(path, 1), ['stdout F two']);
    assert.deepEqual(await actual(path, 2), ['stdout F one', 'stdout F two']);
  });

  test('a large log: the last lines without reading it into memory', async () => {
    // 128 MB: a whole-file read would show in the memory it takes (a
    // 1 GB log would not even fit in one string).
    const path = join(dir, 'big');
    const fd = openSync(path, 'w');
    const line = Buffer.from(`2026-12-01T10:00:00.000000000+00:00 stdout F ${'y'.repeat(200)}\n`);
    const block = Buffer.concat(Array.from({ length: 4096 }, () => line));
    for (let written = 0; written < 128 * 2 ** 20; written += block.length) writeSync(fd, block);
    for (let i = 0; i < 12; i++) writeSync(fd, `2026-12-01T10:00:01.000000000+00:00 stdout F last-${i}\n`);
    closeSync(fd);
    const before = process.memoryUsage().rss;
    assert.deepEqual(await actual(path, 10), Array.from({ length: 10 }, (_, i) => `stdout F last-${i + 2}`));
    assert.ok(process.memoryUsage().rss - before < 50 * 2 ** 20, 'tail read far more of the file than its last lines');
    rmSync(path);
  });
});
