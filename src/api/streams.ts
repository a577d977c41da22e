import type { ServerResponse } from 'node:http';
import { PassThrough, Writable, type Duplex, type Readable } from 'node:stream';
import type { CallerContext, Terminal } from '../engine/index.js';

/**
 * The byte streams of attach, exec and logs as Docker sends them: without
 * a TTY each chunk is framed (one byte stream 1 stdout / 2 stderr, three
 * zero bytes, the length as a 32-bit big-endian number); with a TTY the
 * bytes go raw, as a terminal shows them.
 */

export const STDOUT = 1;
export const STDERR = 2;

/** A writable that frames what it is given for stream `n` (or passes it raw) onto `out`. */
export function framed(out: { write(b: Buffer): unknown; writable?: boolean; destroyed?: boolean }, n: number, raw: boolean, enabled = true): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!enabled || !chunk.length || out.destroyed || out.writable === false) return cb();
      if (raw) {
        out.write(chunk);
        return cb();
      }
      const head = Buffer.alloc(8);
      head[0] = n;
      head.writeUInt32BE(chunk.length, 4);
      out.write(Buffer.concat([head, chunk]));
      cb();
    },
  });
}

/**
 * A connection taken over from HTTP: after Docker's `101 UPGRADED` (a
 * client that asked for `Upgrade: tcp`) or a plain 200 (one that did not),
 * the raw bytes. Input is the client's bytes after the request, when it
 * sent any (hijacked only).
 */
export interface RawConnection {
  out: { write(b: Buffer): unknown; writable?: boolean; destroyed?: boolean };
  input?: Readable;
  end(): void;
  /** Resolves when the client went away. */
  closed: Promise<void>;
}

export function openRaw(res: ServerResponse, upgrade: { socket: Duplex; head: Buffer; started: boolean } | undefined, multiplexed: boolean): RawConnection {
  const type = multiplexed ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
  if (upgrade) {
    const { socket, head } = upgrade;
    upgrade.started = true;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    const input = new PassThrough();
    if (head.length) input.write(head);
    socket.on('data', (d: Buffer) => input.write(d));
    // The client closed its sending side (its input ended): the container's input ends, its output still comes.
    socket.on('end', () => input.end());
    socket.on('error', () => { /* the client went away: 'close' follows */ });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    return { out: socket, input, end: () => { if (!socket.destroyed) socket.end(); }, closed };
  }
  res.writeHead(200, { 'Content-Type': type });
  res.flushHeaders();
  const closed = new Promise<void>((r) => res.once('close', () => r()));
  return { out: res, end: () => { if (!res.writableEnded) res.end(); }, closed };
}

/** A terminal whose size the client sets with the resize endpoints. */
export class RemoteTerminal implements Terminal {
  input = true;
  private rows = 0;
  private columns = 0;
  private readonly listeners = new Set<() => void>();

  size(): { rows: number; columns: number } | undefined {
    return this.rows && this.columns ? { rows: this.rows, columns: this.columns } : undefined;
  }

  onResize(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }

  setRaw(): void { /* the client's terminal is the client's to set */ }

  resize(rows: number, columns: number): void {
    this.rows = rows;
    this.columns = columns;
    for (const cb of this.listeners) cb();
  }
}

/** The context of an engine call made for one API request: the connection's streams, no cwd of a caller's own. */
export function apiContext(streams: CallerContext['streams'], signal: AbortSignal, warn: (line: string) => void = () => {}): CallerContext {
  return { cwd: '/', env: {}, streams, signal, warn };
}

/** A writable that drops everything (a stream the client did not ask for). */
export function sink(): Writable {
  return new Writable({ write(_c, _e, cb) { cb(); } });
}
