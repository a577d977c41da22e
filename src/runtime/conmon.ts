import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../util/errors.js';
import { findInPath } from '../util/proc.js';
import type { Runtime } from './runtime.js';

/**
 * conmon, the container monitor Podman and CRI-O use: it stays with a
 * detached container (~0.4 MiB), holds its stdio, writes its log and its
 * exit code, and runs an exit command when it ends. Its protocol: it
 * waits for a byte on the start pipe, runs `runtime create`, and reports
 * the container's pid (or an error) as one JSON line on the sync pipe.
 */
export interface ConmonOptions {
  /** The command (run through nsenter) that ends by exec'ing its arguments: conmon's own. */
  launch: (conmonArgv: string[]) => string[];
  runtime: Runtime;
  runtimeGlobalArgs: string[];
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  exitDir: string;
  socketDir: string;
  tty: boolean;
  stdin: boolean;
  /** The input closes when an attached client closes its own (Docker's StdinOnce), not left open. */
  stdinOnce?: boolean;
  /** false: conmon's --no-new-keyring, passed on to the runtime's create (runtime.ts createArgs). */
  keyring: boolean;
  exitCommand?: string[];
  env: NodeJS.ProcessEnv;
  /** Where the output goes: k8s-file (logPath, the default), none, or journald. */
  logDriver?: 'k8s-file' | 'none' | 'journald';
  /** k8s-file: bytes before conmon starts the log anew. */
  logSizeMax?: number;
}

export interface ConmonStarted {
  conmonPid: number;
  pid: number;
}

export function conmonPath(): string {
  const p = findInPath('conmon');
  if (!p) throw new EngineError('detached containers need conmon: install the Debian package conmon');
  return p;
}

/** conmon's -l: DRIVER:PATH (journald and none take no path). */
function logTarget(o: ConmonOptions): string {
  const driver = o.logDriver ?? 'k8s-file';
  return driver === 'k8s-file' ? `k8s-file:${o.logPath}` : `${driver}:`;
}

/** Starts conmon, which creates (not starts) the container. */
export function createWithConmon(o: ConmonOptions): Promise<ConmonStarted> {
  const args = [
    conmonPath(), '--api-version', '1', '-c', o.id, '-u', o.id, '-n', o.name, '-r', o.runtime.path, '-b', o.bundle,
    '-p', join(o.bundle, 'pidfile'), '-P', join(o.bundle, 'conmon.pid'), '-l', logTarget(o),
    '--exit-dir', o.exitDir, '--socket-dir-path', o.socketDir, '--log-level', 'error', '--syslog',
    ...o.runtimeGlobalArgs.flatMap((a) => ['--runtime-arg', a]),
  ];
  if (o.logSizeMax !== undefined) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (!o.keyring) args.push('--no-new-keyring');
  // As Docker for detached containers: an attach session ending does not close the container's input.
  if (o.stdin) args.push('-i', ...(o.stdinOnce ? [] : ['--leave-stdin-open']));
  if (o.exitCommand?.length) {
    args.push('--exit-command', o.exitCommand[0]!);
    for (const a of o.exitCommand.slice(1)) args.push('--exit-command-arg', a);
  }
  // conmon's (and its exit hook's) own messages go to a file: it outlives every pipe of ours.
  const errFd = openSync(join(o.bundle, 'conmon.log'), 'a', 0o600);
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', o.launch(args), {
      stdio: ['ignore', errFd, errFd, 'pipe', 'pipe'],
      env: { ...o.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
      detached: true,
    });
    child.unref();
    closeSync(errFd);
    const stderr = () => { try { return readFileSync(join(o.bundle, 'conmon.log'), 'utf8'); } catch { return ''; } };
    let sync = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: ConmonStarted) => {
      if (settled) return;
      settled = true;
      for (const s of [child.stdio[3], child.stdio[4]]) (s as NodeJS.ReadableStream & { destroy?: () => void })?.destroy?.();
      if (err) reject(err); else resolve(value!);
    };
    child.on('error', (e) => finish(new EngineError(`cannot start conmon: ${e.message}`)));
    // EPIPE on the start pipe when nsenter or conmon ended before reading it: the sync pipe's end says why.
    // Unhandled, the error would end the process (an exit hook, silently) before that is read.
    for (const s of [child.stdio[3], child.stdio[4]]) s?.on('error', () => {});
    const syncPipe = child.stdio[3] as NodeJS.ReadableStream;
    syncPipe.setEncoding('utf8');
    syncPipe.on('data', (d: string) => {
      sync += d;
      const nl = sync.indexOf('\n');
      if (nl < 0) return;
      let msg: { data?: number; message?: string };
      try { msg = JSON.parse(sync.slice(0, nl)) as typeof msg; } catch { return finish(new EngineError(`conmon answered "${sync.slice(0, nl)}"`)); }
      if (typeof msg.data !== 'number' || msg.data <= 0) {
        return finish(new EngineError(cleanRuntimeMessage(msg.message ?? (stderr().trim() || 'the runtime could not create the container'))));
      }
      let conmonPid = 0;
      try { conmonPid = Number(readFileSync(join(o.bundle, 'conmon.pid'), 'utf8').trim()); } catch { /* read below by the caller if needed */ }
      finish(undefined, { conmonPid, pid: msg.data });
    });
    syncPipe.on('end', () => {
      const why = stderr().trim().split('\n').pop();
      finish(new EngineError(`conmon ended before creating the container${why ? `: ${why}` : ''}`));
    });
    (child.stdio[4] as NodeJS.WritableStream).write('0');
  });
}

/** conmon passes on the runtime's log line; keep its message. */
function cleanRuntimeMessage(m: string): string {
  const j = /"msg":"((?:[^"\\]|\\.)*)"/.exec(m);
  const text = j ? JSON.parse(`"${j[1]}"`) as string : m;
  return text.replace(/^time="[^"]*" level=\w+ msg="?/, '').replace(/"$/, '').trim();
}

/**
 * Sets the terminal of a container under conmon to `size`, through its
 * control FIFO in the bundle (message type 1, "1 ROWS COLUMNS"). Opened
 * without blocking: with no conmon reading (it ended), nothing is sent.
 */
export function resizeConmonTerminal(bundle: string, size: { rows: number; columns: number }): void {
  let fd: number | undefined;
  try {
    fd = openSync(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, `1 ${size.rows} ${size.columns}\n`);
  } catch { /* no conmon (ENXIO), or it went meanwhile */ } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
