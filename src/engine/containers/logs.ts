import type { Writable } from 'node:stream';
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from 'node:fs';

/**
 * Container logs in conmon's k8s-file format, one record a line:
 * `2026-11-23T14:32:08.398882777+00:00 stdout F hello` (F: a full line,
 * P: part of a longer one, continued by the next record).
 */
export interface LogRecord {
  time: string;
  ms: number;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  text: string;
}

export function parseLogLine(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const flag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  const time = line.slice(0, a);
  return { time, ms: Date.parse(time), stream, partial: flag === 'P', text: c < 0 ? '' : line.slice(c + 1) };
}

export interface ReadOptions {
  follow: boolean;
  tail?: number;
  since?: number;
  until?: number;
  /** While following: true once the container has ended (the rest of the file is then read, and reading stops). */
  ended: () => boolean;
}

/** Reads a log file; with follow, keeps reading what conmon appends until the container ends. */
export async function* readLog(path: string, opts: ReadOptions): AsyncGenerator<LogRecord> {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
  } catch {
    if (!opts.follow) return;
  }
  let pos = 0;
  let rest = '';
  const buf = Buffer.alloc(1 << 16);
  const keep = (r: LogRecord) => (opts.since === undefined || r.ms >= opts.since) && (opts.until === undefined || r.ms <= opts.until);
  if (fd !== undefined && opts.tail !== undefined) pos = tailStart(fd, opts.tail, keep);
  for (;;) {
    if (fd === undefined) {
      try { fd = openSync(path, 'r'); } catch { /* not yet written */ }
    }
    let n = 0;
    if (fd !== undefined) {
      while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
        pos += n;
        rest += buf.subarray(0, n).toString('utf8');
        const lines = rest.split('\n');
        rest = lines.pop()!;
        for (const l of lines) {
          const r = parseLogLine(l);
          if (r && keep(r)) yield r;
        }
      }
    }
    if (!opts.follow) break;
    if (opts.ended()) {
      // One more read: conmon may have written the last lines as the container ended.
      if (fd !== undefined && statSync(path).size > pos) continue;
      break;
    }
    if (opts.until !== undefined && Date.now() > opts.until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (fd !== undefined) closeSync(fd);
}

/**
 * Where `--tail N` starts reading: just after the (N+1)-th record from the
 * end that is shown and ends a line (a P record belongs to the full record
 * after it, so the first of the N lines starts with its parts). The file is
 * read backwards a chunk at a time, so a log of gigabytes costs what its
 * last lines cost, not a read of the whole file into memory (which would
 * not even fit in a string).
 */
export function tailStart(fd: number, tail: number, keep: (r: LogRecord) => boolean): number {
  const size = fstatSync(fd).size;
  if (tail <= 0) return size;
  const chunk = Buffer.alloc(1 << 16);
  let end = size;
  // The bytes from `end` to the first newline after it: a line split by the chunk boundary.
  let carry = Buffer.alloc(0);
  let full = 0;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const block = Buffer.concat([chunk.subarray(0, n), carry]);
    // Walk the complete lines of this block from the last to the first.
    let lineEnd = block.length;
    for (let i = block.length - 1; i >= -1; i--) {
      if (i >= 0 && block[i] !== 0x0a) continue;
      if (i === -1 && start > 0) break; // the first line may begin in the previous chunk
      // A last line with no newline yet is still being written: reading shows it once it is whole, so it is not counted.
      const whole = block[lineEnd - 1] === 0x0a;
      const r = whole && lineEnd - 1 > i + 1 ? parseLogLine(block.subarray(i + 1, lineEnd - 1).toString('utf8')) : undefined;
      if (r && keep(r) && !r.partial && ++full > tail) return start + lineEnd;
      lineEnd = i + 1;
    }
    carry = block.subarray(0, lineEnd);
    end = start;
  }
  return 0;
}

/** Writes records as `logs` prints them. */
export function printRecord(r: LogRecord, timestamps: boolean, out: Writable, err: Writable): void {
  const s = r.stream === 'stderr' ? err : out;
  s.write(`${timestamps ? `${r.time} ` : ''}${r.text}${r.partial ? '' : '\n'}`);
}

/**
 * Writes a foreground container's output in the same k8s-file format conmon
 * writes for detached ones, so `logs` works for both. Partial lines (no
 * newline yet) are P records, as conmon writes them.
 */
export class LogWriter {
  private readonly fd: number;
  private size: number;

  /** maxSize: as conmon's --log-size-max, the log is started anew when a write would take it beyond. */
  constructor(path: string, private readonly maxSize?: number) {
    this.fd = openSync(path, 'a', 0o600);
    this.size = maxSize === undefined ? 0 : fstatSync(this.fd).size;
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const time = new Date().toISOString();
    const text = chunk.toString('utf8');
    const lines = text.split('\n');
    const last = lines.pop()!;
    let out = '';
    for (const l of lines) out += `${time} ${stream} F ${l}\n`;
    if (last) out += `${time} ${stream} P ${last}\n`;
    if (this.maxSize !== undefined) {
      const bytes = Buffer.byteLength(out);
      if (this.size + bytes > this.maxSize) {
        ftruncateSync(this.fd, 0);
        this.size = 0;
      }
      this.size += bytes;
    }
    writeSync(this.fd, out);
  }

  close(): void {
    closeSync(this.fd);
  }
}
