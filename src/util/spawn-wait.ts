import { spawn, type ChildProcess, type StdioNull, type StdioPipe } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { signalNumber } from './proc.js';

type StdioEnd = StdioNull | StdioPipe | 'inherit' | number | Readable | Writable;

export interface Spawned {
  child: ChildProcess;
  /** Its exit status and what it wrote on stderr (kept, not shown). */
  done: Promise<{ code: number; stderr: string }>;
}

/** Starts a command of a pipeline: stdin and stdout as given, stderr collected. */
export function spawnCollecting(cmd: string, args: string[], stdin: StdioEnd, stdout: StdioEnd, env?: NodeJS.ProcessEnv): Spawned {
  const child = spawn(cmd, args, { stdio: [stdin, stdout, 'pipe'], env });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<{ code: number; stderr: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: 127, stderr: `${cmd}: ${e.message}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), stderr }));
  });
  return { child, done };
}
