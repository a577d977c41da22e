import type { ChildProcess } from 'node:child_process';

/** What a user sends to a foreground rootlet, meant for the process it runs. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface SignalForwarding {
  /** A signal that came before the child existed (the caller decides what it means). */
  pending(): NodeJS.Signals | undefined;
  release(): void;
}

/**
 * Forwards signals to a child rootlet runs in the foreground in a session
 * of its own (terminal signals reach only us, and each is passed on once);
 * with a TTY, window changes too. `child` is read at each signal: it may be
 * spawned later.
 */
export function forwardSignals(child: () => ChildProcess | undefined, opts: { tty: boolean }): SignalForwarding {
  let pending: NodeJS.Signals | undefined;
  const send = (sig: NodeJS.Signals) => {
    const c = child();
    if (c?.pid) {
      try { c.kill(sig); } catch { /* already gone */ }
    } else if (sig !== 'SIGWINCH') {
      pending = sig;
    }
  };
  const handlers = [...FORWARDED, ...(opts.tty ? ['SIGWINCH' as const] : [])].map((sig) => {
    const h = () => send(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return {
    pending: () => pending,
    release: () => { for (const [sig, h] of handlers) process.off(sig, h); },
  };
}
