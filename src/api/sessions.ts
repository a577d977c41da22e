import { randomBytes } from 'node:crypto';
import type { AttachRequest, AttachResult, CallerContext, ExecRequest } from '../engine/index.js';
import type { RemoteTerminal } from './streams.js';

/** An attach that came before its container started (docker run: attach, wait, then start). */
export interface PendingAttach {
  req: AttachRequest;
  ctx: CallerContext;
  /** Called with how the session ended, or the error of the start. */
  settle(r: AttachResult | Error): void;
}

/** An exec made by `POST /containers/{id}/exec`, run by `POST /exec/{id}/start`. */
export interface ExecSession {
  id: string;
  containerId: string;
  req: ExecRequest;
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
  running: boolean;
  exitCode?: number;
  started: boolean;
  terminal?: RemoteTerminal;
  /** Exec create's ConsoleSize [rows, columns]: the terminal's size until a resize comes. */
  consoleSize?: [number, number];
  created: number;
}

/**
 * What the server keeps between requests: attaches waiting for their
 * container's start, the terminals that resize requests reach, the execs
 * clients made. Lost when the service exits, as Docker loses its execs.
 */
export class Sessions {
  readonly pending = new Map<string, PendingAttach[]>();
  readonly terminals = new Map<string, Set<RemoteTerminal>>();
  readonly execs = new Map<string, ExecSession>();

  addPending(id: string, p: PendingAttach): () => void {
    const list = this.pending.get(id) ?? [];
    list.push(p);
    this.pending.set(id, list);
    return () => {
      const now = (this.pending.get(id) ?? []).filter((x) => x !== p);
      if (now.length) this.pending.set(id, now);
      else this.pending.delete(id);
    };
  }

  takePending(id: string): PendingAttach[] {
    const list = this.pending.get(id) ?? [];
    this.pending.delete(id);
    return list;
  }

  addTerminal(id: string, t: RemoteTerminal): () => void {
    const set = this.terminals.get(id) ?? new Set();
    set.add(t);
    this.terminals.set(id, set);
    return () => {
      set.delete(t);
      if (!set.size) this.terminals.delete(id);
    };
  }

  resize(id: string, rows: number, columns: number): void {
    for (const t of this.terminals.get(id) ?? []) t.resize(rows, columns);
  }

  newExec(containerId: string, req: ExecRequest, attach: ExecSession['attach']): ExecSession {
    // Docker's exec ids are 64 hex digits, like container ids.
    const s: ExecSession = { id: randomBytes(32).toString('hex'), containerId, req, attach, running: false, started: false, created: Date.now() };
    this.execs.set(s.id, s);
    // Finished execs are kept a while for their inspect (the CLI reads the exit code after the stream ends).
    for (const [id, e] of this.execs) if (!e.running && e.started && Date.now() - e.created > 10 * 60_000) this.execs.delete(id);
    return s;
  }
}
