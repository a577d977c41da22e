import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { isSandbox, usesConsoleRelay, type Runtime } from '../../runtime/runtime.js';
import { EngineError } from '../../util/errors.js';
import type { CallerContext, ForwardedSignal } from '../context.js';

/**
 * A process the caller runs in its foreground (`run` without -d, `exec`):
 * its stdio joined to the caller's streams, the caller's signals and
 * window changes passed on. With the CLI's own descriptors the child gets
 * them directly (no relay through node); any other caller's streams are
 * piped.
 */
export interface Foreground {
  stdio: StdioOptions;
  /** Joins the spawned child's pipes to the caller's streams; `tee` also sees each chunk of output (the log). */
  connect(child: ChildProcess, tee?: (stream: 'stdout' | 'stderr', data: Buffer) => void, onEnd?: () => void): void;
}

/** -i/-t checks against the caller's terminal, before anything is created. */
export function checkTerminal(ctx: CallerContext, o: { interactive: boolean; tty: boolean }): void {
  if (o.tty && o.interactive && !ctx.streams.terminal?.input) throw new EngineError('the input device is not a TTY: drop -t, or run from a terminal');
}

export function foreground(ctx: CallerContext, rt: Runtime, o: { interactive: boolean; tty: boolean; capture: boolean; attach?: { stdin: boolean; stdout: boolean; stderr: boolean } }): Foreground {
  // Only what is used is read: a caller's streams may be made on first touch (the CLI's are).
  const fds = ctx.streams.fds;
  if (!o.interactive && o.tty && !usesConsoleRelay(rt) && !ctx.streams.terminal) {
    // runc, with no console relay, opens the caller's terminal itself.
    throw new EngineError('-t needs a terminal on stdin or stdout with runc: run from a terminal, or drop -t');
  }
  const attached = o.attach ?? { stdin: true, stdout: true, stderr: true };
  const input = !o.interactive || !attached.stdin ? 'ignore' : fds ? fds.stdin : ctx.streams.stdin ? 'pipe' : 'ignore';
  // gVisor writes to a donated regular file at an offset of its own, from 0, over what the caller's shell wrote
  // before (`{ echo a; rootlet run --isolation sandbox ...; } > f` lost "a"): a sandbox's output is always relayed.
  const direct = !o.capture && !isSandbox(rt) && fds;
  // A stream not attached (-a) is not the caller's: captured for the log, or dropped.
  const out = (name: 'stdout' | 'stderr') => (!attached[name] ? (o.capture ? 'pipe' : 'ignore') : direct ? fds[name] : 'pipe');
  const stdio: StdioOptions = [input, out('stdout'), out('stderr')];
  return {
    stdio,
    connect(child, tee, onEnd) {
      if (input === 'pipe' && child.stdin) {
        child.stdin.on('error', () => { /* the container closed its input */ });
        ctx.streams.stdin!.pipe(child.stdin);
      }
      let open = 0;
      for (const name of ['stdout', 'stderr'] as const) {
        const from = child[name];
        // Not relayed (the child has the caller's descriptor): the caller's stream is never touched.
        if (!from) continue;
        const to = attached[name] ? ctx.streams[name] : undefined;
        open++;
        from.on('data', (d: Buffer) => {
          tee?.(name, d);
          // A closed output (e.g. `| head`) must not stop the container's logging.
          if (to && writable(to)) to.write(d, () => {});
        });
        from.on('end', () => { if (--open === 0) onEnd?.(); });
      }
      if (!open) onEnd?.();
    },
  };
}

function writable(s: Writable): boolean {
  return s.writable && !s.destroyed;
}

export interface SignalForwarding {
  /** A signal that came before the child existed (the caller decides what it means). */
  pending(): ForwardedSignal | undefined;
  release(): void;
}

/**
 * Passes the caller's signals to a child run in a session of its own
 * (terminal signals reach only the caller, and each is passed on once);
 * with a TTY, window changes too. `child` is read at each signal: it may
 * be spawned later.
 */
export function forwardSignals(ctx: CallerContext, child: () => ChildProcess | undefined, o: { tty: boolean; proxy?: boolean }): SignalForwarding {
  let pending: ForwardedSignal | undefined;
  const send = (sig: ForwardedSignal | 'SIGWINCH') => {
    // --sig-proxy=false: the caller's signals are taken (the run still waits and cleans up) but not passed on.
    if (o.proxy === false && sig !== 'SIGWINCH') return;
    const c = child();
    if (c?.pid) {
      try { c.kill(sig); } catch { /* already gone */ }
    } else if (sig !== 'SIGWINCH') {
      pending = sig;
    }
  };
  const stops = [ctx.signals?.on(send)];
  if (o.tty && ctx.streams.terminal) stops.push(ctx.streams.terminal.onResize(() => send('SIGWINCH')));
  return {
    pending: () => pending,
    release: () => { for (const stop of stops) stop?.(); },
  };
}

/**
 * Whether a console relay learns the window size from us, on a pipe
 * (`passSizes`), rather than from a terminal among its own descriptors: an
 * API client's terminal is not ours to hand over, and a sandbox's output
 * is always relayed (see foreground), so with -t alone the relay would
 * have no terminal to read the size from.
 */
export function sizesByPipe(ctx: CallerContext, rt: Runtime, tty: boolean): boolean {
  return tty && !!ctx.streams.terminal && (!ctx.streams.fds || isSandbox(rt));
}

/** The stdio of a spawn whose relay reads sizes from us: a pipe added at `sizeFd` (the first after stdio). */
export function withSizePipe(stdio: StdioOptions, sizeFd: number | undefined): StdioOptions {
  return sizeFd === undefined ? stdio : [...(stdio as unknown[]), 'pipe'] as StdioOptions;
}

/**
 * A terminal elsewhere (an API client's, or ours when the relay cannot see
 * it): its size, and each change of it, written as "ROWS COLUMNS" lines to
 * the console relay's size descriptor (`rootlet-console --size-fd`).
 * Returns the stop.
 */
export function passSizes(ctx: CallerContext, child: ChildProcess, fd: number): () => void {
  const terminal = ctx.streams.terminal;
  const out = child.stdio[fd] as Writable | null | undefined;
  if (!out) return () => {};
  out.on('error', () => { /* the relay ended */ });
  // No terminal: the pipe's end says so (a relay allocating the terminal waits for a first size or the end).
  if (!terminal) { out.end(); return () => {}; }
  // "0 0" when the size is not known yet: a relay that waits for the first line before starting the runtime goes on.
  const send = () => {
    const size = terminal.size();
    if (writable(out)) out.write(size ? `${size.rows} ${size.columns}\n` : '0 0\n');
  };
  send();
  const stop = terminal.onResize(send);
  return () => { stop(); if (writable(out)) out.end(); };
}
