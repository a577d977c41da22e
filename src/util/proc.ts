import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and captures its output; never throws on exit status. */
export function runCapture(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    env: opts.env,
    cwd: opts.cwd,
    timeout: opts.timeoutMs,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    return { code: e.code === 'ENOENT' ? 127 : 125, stdout: '', stderr: `${cmd}: ${e.message}` };
  }
  return { code: r.status ?? 128 + signalNumber(r.signal), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Like runCapture but asynchronous, so several helpers can run at once. */
export function runCaptureAsync(cmd: string, args: string[], opts: SpawnOptions & { input?: string | Buffer } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code === 'ENOENT' ? 127 : 125, stdout, stderr: `${cmd}: ${e.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), stdout, stderr }));
    child.stdin!.on('error', () => { /* the child may exit before reading its input */ });
    child.stdin!.end(opts.input ?? '');
  });
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23,
  SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

export function signalNumber(sig: string | null | undefined): number {
  return (sig && SIGNALS[sig]) || 0;
}

/** Start time of a process in clock ticks since boot: with the pid it identifies a process across pid reuse. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number, startTime?: number): boolean {
  const st = processStartTime(pid);
  return st !== undefined && (startTime === undefined || st === startTime);
}

/** Blocks the thread briefly without spinning; used only while polling short kernel-side transitions. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function findInPath(name: string, extraDirs: string[] = ['/usr/sbin', '/sbin']): string | undefined {
  const dirs = [...(process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':'), ...extraDirs];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch { /* not here */ }
  }
  return undefined;
}
