import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { BIN, Sandbox } from '../helpers.js';
import { runAsync } from '../registry-helpers.js';
import { makeTar, type TarEntry } from '../tar-fixtures.js';

/**
 * rootlet-layer-fetch (src/image/layer-fetch.c) parses what a registry
 * sends in C: every damaged layer must end in exit 0, or 1 with one line
 * and nothing left behind, or 4 (handed back, nothing left). Layers made
 * from one well-formed tar with a seeded generator (the same cases every
 * run): bytes changed, cut short, header fields rewritten with a valid
 * checksum, sizes in base-256, runs of zeros, and the gzip stream itself
 * damaged. A crash (a signal) fails the test.
 */
describe('rootlet-layer-fetch on damaged layers: one line or success, nothing left behind', () => {
  const sb = new Sandbox('layer-fetch-hostile');
  const fetcher = join(dirname(BIN), 'rootlet-layer-fetch');
  let server: http.Server;
  let port = 0;
  let body: Buffer = Buffer.alloc(0);
  let base: Buffer = Buffer.alloc(0);

  // mulberry32: small, seeded, the same sequence on every run.
  let seed = 0x5eed1e;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(rand() * n);

  const headers = (t: Buffer) => {
    const out: number[] = [];
    for (let o = 0; o + 512 <= t.length; o += 512) if (t.toString('latin1', o + 257, o + 262) === 'ustar') out.push(o);
    return out;
  };
  const fixChecksum = (t: Buffer, o: number) => {
    t.fill(0x20, o + 148, o + 156);
    let sum = 0;
    for (let i = o; i < o + 512; i++) sum += t[i]!;
    t.write(`${sum.toString(8).padStart(6, '0')}\0 `, o + 148, 'latin1');
  };
  const FIELDS: Array<[number, number]> = [[0, 100], [100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [156, 1], [157, 100], [329, 8], [345, 155]];
  const VALUES = [0, 0x2f, 0x2e, 0x80, 0xff, 0x37, 0x20, 0x78, 0x4c, 0x53];

  function damaged(): Buffer {
    const t = Buffer.from(base);
    const hs = headers(t);
    switch (int(6)) {
      case 0: for (let i = int(20) + 1; i > 0; i--) t[int(t.length)] = int(256); return gzipSync(t);
      case 1: return gzipSync(t.subarray(0, int(t.length)));
      case 2: {
        const o = hs[int(hs.length)]!;
        const [at, len] = FIELDS[int(FIELDS.length)]!;
        for (let i = at; i < at + len; i++) if (rand() < 0.3) t[o + i] = rand() < 0.8 ? VALUES[int(VALUES.length)]! : int(256);
        fixChecksum(t, o);
        return gzipSync(t);
      }
      case 3: {
        const o = hs[int(hs.length)]!;
        t[o + 124] = rand() < 0.5 ? 0x80 : 0xff;
        for (let i = 125; i < 136; i++) t[o + i] = int(256);
        fixChecksum(t, o);
        return gzipSync(t);
      }
      case 4: { const at = int(t.length); t.fill(0, at, at + int(2000) + 1); return gzipSync(t); }
      default: {
        const gz = gzipSync(t);
        if (rand() < 0.5) return gz.subarray(0, int(gz.length));
        for (let i = int(10) + 1; i > 0; i--) gz[int(gz.length)] = int(256);
        return gz;
      }
    }
  }

  before(async () => {
    const entries: TarEntry[] = [
      { name: 'd/', type: 'directory', mode: 0o750 },
      { name: 'd/f', body: 'x'.repeat(1500), pax: { 'SCHILY.xattr.user.k': 'v' } },
      { name: `d/${'l'.repeat(150)}`, body: 'long name' },
      { name: 'd/s', type: 'symlink', linkname: 'f' },
      { name: 'd/h', type: 'link', linkname: 'd/f' },
      { name: 'd/.wh.gone', body: '' },
      { name: 'e/', type: 'directory' },
      { name: 'e/.wh..wh..opq', body: '' },
      { name: 'e/big', body: Buffer.alloc(70_000, 0x61) },
      { name: 'fifo', type: 'fifo' },
    ];
    base = await makeTar(entries);
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    mkdirSync(sb.path('out'));
  });
  after(() => {
    server?.close();
    sb.destroy();
  });

  test('120 damaged layers', async () => {
    const outcomes = new Map<number, number>();
    for (let i = 0; i < 120; i++) {
      body = i === 0 ? gzipSync(base) : damaged();
      const dest = sb.path('out', `l${i}`);
      const blob = sb.path('out', `b${i}`);
      const r = await runAsync(sb, ['unshare', fetcher, dest, blob, '65536', 'fail', 'sha256:0', String(body.length), '127.0.0.1', String(port), 'http', 'noverify'], {
        input: `GET /blob HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      });
      outcomes.set(r.code, (outcomes.get(r.code) ?? 0) + 1);
      assert.ok([0, 1, 4].includes(r.code), `case ${i}: exit ${r.code}: ${r.stderr}`);
      if (i === 0) assert.equal(r.code, 0, r.stderr);
      if (r.code === 0) {
        assert.match(r.stdout.trim().split('\n').pop()!, /^\{"digest":"sha256:[0-9a-f]{64}","diffId"/);
        sb.ok(['unshare', 'rm', '-rf', dest, blob]);
        continue;
      }
      if (r.code === 1) assert.equal(r.stderr.trim().split('\n').length, 1, `case ${i}: ${r.stderr}`);
      if (r.code === 4) assert.match(r.stdout, /^f \w/m);
      assert.ok(!existsSync(dest) && !existsSync(blob), `case ${i}: exit ${r.code} left ${dest} or ${blob} behind`);
    }
    // The generator reaches every way out, not only the first refusal.
    assert.ok((outcomes.get(0) ?? 0) > 0 && (outcomes.get(1) ?? 0) > 10, JSON.stringify([...outcomes]));
  });
});
