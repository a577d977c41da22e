import type { Readable, Writable } from 'node:stream';

/**
 * Who is asking, and where their input and output go. Every engine
 * operation that depends on the caller takes one of these instead of
 * reading the process it runs in: the CLI passes its own stdio, cwd and
 * environment (cli/process-context.ts); an API server passes a connection's
 * streams and its request's values; a test passes in-memory streams.
 */
export interface CallerContext {
  /** Relative paths (`-v ./x`, `--env-file f`, `cp`) are resolved against this. */
  cwd: string;
  /** `-e KEY` (no value) takes KEY from here. */
  env: Readonly<Record<string, string | undefined>>;
  streams: CallerStreams;
  /** Aborts a long operation (a follow, a wait, a pull): the caller went away. */
  signal?: AbortSignal;
  /** Signals the caller receives that are meant for the container's process (foreground run, exec). */
  signals?: SignalSource;
  /** One-line warnings the caller should show (e.g. "WARNING: ..."), on stderr for the CLI. */
  warn(line: string): void;
}

export interface CallerStreams {
  /** Absent: the caller has no input to give (a container's stdin is then empty). */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  /**
   * Descriptors of the same streams, when they are plain descriptors (the
   * CLI's own stdio): a foreground runtime is then handed them directly,
   * with no relay through node. A server leaves this out.
   */
  fds?: { stdin: number; stdout: number; stderr: number };
  /** The caller's terminal, when its input or output is one: raw mode, size and size changes. */
  terminal?: Terminal;
}

export interface Terminal {
  /** Whether the input is the terminal (raw mode and -it need it), not just the output. */
  input: boolean;
  size(): { rows: number; columns: number } | undefined;
  /** Calls back on each change of size; returns the function that stops it. */
  onResize(cb: () => void): () => void;
  setRaw(raw: boolean): void;
}

export type ForwardedSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2';

export interface SignalSource {
  /** Calls back for each signal the caller got; returns the function that stops it. */
  on(cb: (sig: ForwardedSignal) => void): () => void;
}

/** A context with no input, output collected nowhere: for engine work no user watches (the exit hook, recovery). */
export function quietContext(base: { cwd: string; env?: Record<string, string | undefined>; stdout: Writable; stderr: Writable }): CallerContext {
  return {
    cwd: base.cwd,
    env: base.env ?? {},
    streams: { stdout: base.stdout, stderr: base.stderr },
    warn: (line) => { base.stderr.write(`${line}\n`); },
  };
}
