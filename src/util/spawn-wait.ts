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

/**
 * A caller's input or output as a child's stdin/stdout: a descriptor is
 * handed over as is (no relay); a stream is joined through a pipe.
 */
export type CallerEnd = number | Readable | Writable;

/** spawnCollecting with the caller's stream or descriptor as stdin or stdout. */
export function spawnJoined(cmd: string, args: string[], stdin: CallerEnd | StdioNull, stdout: CallerEnd | StdioNull | StdioPipe, env?: NodeJS.ProcessEnv): Spawned {
  const end = (e: CallerEnd | StdioNull | StdioPipe) => (typeof e === 'object' && e !== null ? 'pipe' : e);
  const s = spawnCollecting(cmd, args, end(stdin) as StdioEnd, end(stdout) as StdioEnd, env);
  if (typeof stdin === 'object' && stdin !== null) {
    s.child.stdin!.on('error', () => { /* the child stopped reading */ });
    (stdin as Readable).pipe(s.child.stdin!);
  }
  if (typeof stdout === 'object' && stdout !== null) {
    const out = stdout as Writable;
    s.child.stdout!.on('data', (d: Buffer) => { out.write(d); });
  }
  return s;
}
