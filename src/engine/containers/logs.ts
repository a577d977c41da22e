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
  // --tail counts lines as the user sees them: full records.
  if (fd !== undefined && opts.tail !== undefined) {
    const all = readAll(fd);
    pos = all.length;
    const recs = all.toString('utf8').split('\n').filter(Boolean).map(parseLogLine).filter((r): r is LogRecord => !!r && keep(r));
    let full = 0;
    let start = recs.length;
    while (start > 0 && full < opts.tail) {
      start--;
      if (!recs[start]!.partial) full++;
    }
    while (start > 0 && recs[start - 1]!.partial) start--;
    if (opts.tail === 0) start = recs.length;
    for (const r of recs.slice(start)) yield r;
  }
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

function readAll(fd: number): Buffer {
  const size = statSync(`/proc/self/fd/${fd}`).size;
  const out = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, out, off, size - off, off);
    if (n <= 0) break;
    off += n;
  }
  return out.subarray(0, off);
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
