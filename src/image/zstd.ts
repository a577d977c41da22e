import { spawn } from 'node:child_process';
import { Duplex, Readable, Writable } from 'node:stream';

/**
 * zstd decompression as a stream, through Debian's `zstd` program (Node 20's
 * zlib has none). Measured faster than a JavaScript decoder on a 50 MB layer
 * (docs/decisions.md), and it costs nothing until a zstd layer arrives: the
 * program is started only then. zstd:chunked layers are zstd with skippable
 * frames, which the program skips, so they need nothing more.
 */

/** A zstd frame's magic, or a skippable frame's (0x184D2A50..5F), little-endian. */
export function isZstd(head: Buffer): boolean {
  if (head.length < 4) return false;
  const magic = head.readUInt32LE(0);
  return magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50;
}

/** Why the zstd stream could not be read: the program's own words, or that it is missing. */
export class ZstdError extends Error {
  constructor(message: string, readonly missing = false) {
    super(message);
  }
}

/**
 * A Duplex that takes zstd bytes and gives the decompressed ones. When the
 * input is not valid zstd the readable side fails with a ZstdError (the
 * writable side swallows the EPIPE of a program that stopped reading, so
 * the error a caller sees is the one that says why).
 */
export function zstdDecompressor(): Duplex {
  const child = spawn('zstd', ['-d', '-c', '-q', '--no-progress'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => { if (stderr.length < 4096) stderr += s; });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT'
        ? new ZstdError('this layer is zstd-compressed and needs the zstd program: install it (apt-get install zstd)', true)
        : new ZstdError(`cannot run zstd: ${e.message}`, true));
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const why = stderr.split('\n').map((l) => l.replace(/^(zstd:\s*)?(\/\*stdin\*\\\s*:\s*)?/, '').trim()).filter(Boolean).pop();
        reject(new ZstdError(why ?? (signal ? `zstd was killed by ${signal}` : `zstd exited with ${code}`)));
      }
    });
  });
  // Handled through `exited` and the readable side.
  exited.catch(() => {});
  child.stdin.on('error', () => {});
  let dead = false;
  void exited.catch(() => { dead = true; });
  const input = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (dead || child.stdin.destroyed) { cb(); return; }
      child.stdin.write(chunk, (err) => cb(err && (err as NodeJS.ErrnoException).code !== 'EPIPE' ? err : null));
    },
    final(cb) {
      if (dead || child.stdin.destroyed) { cb(); return; }
      child.stdin.end(() => cb());
    },
  });
  async function* output(): AsyncGenerator<Buffer> {
    for await (const c of child.stdout) yield c as Buffer;
    await exited;
  }
  const duplex = Duplex.from({ writable: input, readable: Readable.from(output(), { objectMode: false }) });
  // A consumer that fails first (a bad tar) or gives up: the program must not linger.
  duplex.once('close', () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return duplex;
}
