import type { CallerContext, ForwardedSignal } from '../engine/index.js';

const FORWARDED: ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * The CLI's caller context: this process's stdio (with their descriptors,
 * so a foreground container is handed them directly), cwd, environment,
 * terminal and signals. The one place the engine's callers read the process;
 * the engine itself never does.
 */
export function processContext(): CallerContext {
  const stdin = process.stdin;
  return {
    cwd: process.cwd(),
    env: process.env,
    streams: {
      // A getter: touching process.stdin opens it, which a command without input must not do.
      get stdin() { return stdin; },
      stdout: process.stdout,
      stderr: process.stderr,
      fds: { stdin: 0, stdout: 1, stderr: 2 },
      terminal: process.stdin.isTTY || process.stdout.isTTY ? {
        input: !!process.stdin.isTTY,
        size: () => (process.stdout.isTTY ? { rows: process.stdout.rows, columns: process.stdout.columns } : undefined),
        onResize: (cb) => {
          process.on('SIGWINCH', cb);
          return () => { process.off('SIGWINCH', cb); };
        },
        setRaw: (raw) => { process.stdin.setRawMode(raw); },
      } : undefined,
    },
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
