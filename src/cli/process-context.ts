import { isatty } from 'node:tty';
import type { CallerContext, CallerStreams, ForwardedSignal, Terminal } from '../engine/index.js';

const FORWARDED: ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * The CLI's caller context: this process's stdio (with their descriptors,
 * so a foreground container is handed them directly), cwd, environment,
 * terminal and signals. The one place the engine's callers read the process;
 * the engine itself never does.
 *
 * The streams are getters: node builds process.stdin/stdout/stderr (and
 * loads its stream machinery, ~4 ms) on first touch, which a `run` whose
 * container writes to the descriptors directly never needs.
 */
export function processContext(): CallerContext {
  const streams: CallerStreams = {
    get stdin() { return process.stdin; },
    get stdout() { return process.stdout; },
    get stderr() { return process.stderr; },
    fds: { stdin: 0, stdout: 1, stderr: 2 },
    terminal: isatty(0) || isatty(1) ? terminal() : undefined,
  };
  return {
    cwd: process.cwd(),
    env: process.env,
    streams,
    signals: {
      on: (cb) => {
        const handlers = FORWARDED.map((sig) => [sig, () => cb(sig)] as const);
        for (const [sig, h] of handlers) process.on(sig, h);
        return () => { for (const [sig, h] of handlers) process.off(sig, h); };
      },
    },
    warn: (line) => { process.stderr.write(`${line}\n`); },
  };
}

function terminal(): Terminal {
  return {
    input: isatty(0),
    size: () => (isatty(1) ? { rows: process.stdout.rows, columns: process.stdout.columns } : undefined),
    onResize: (cb) => {
      process.on('SIGWINCH', cb);
      return () => { process.off('SIGWINCH', cb); };
    },
    setRaw: (raw) => { process.stdin.setRawMode(raw); },
  };
}
