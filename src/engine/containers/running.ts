import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../../util/proc.js';
import { hasRuntimeState, runtimeCommand } from './bundle.js';
import type { ContainerRecord } from './store.js';
import type { Engine } from '../engine.js';

// Whether a container runs, asked without changing anything: removal and the
// health timer ask it, and state.ts (which settles records and so removes
// --rm containers) builds on it; kept apart so neither imports the other.

/** The exit code conmon wrote when the container ended, and when. */
export function readExitFile(engine: Engine, id: string): { code: number; at: number } | undefined {
  const file = join(engine.paths.exits, id);
  try {
    const code = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(code) ? { code, at: statSync(file).mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process that watches the container (its foreground rootlet and the shell that records its exit, or its conmon) is alive. */
export function watcherAlive(rec: ContainerRecord): boolean {
  if (rec.ownerPid && isProcessAlive(rec.ownerPid, rec.ownerStart)) return true;
  return !!rec.conmonPid && isProcessAlive(rec.conmonPid, rec.conmonStart);
}

/** True while the container's processes exist, whoever started it. */
export function isRunning(engine: Engine, rec: ContainerRecord): boolean {
  if (rec.state !== 'running') return false;
  if (watcherAlive(rec)) return !(rec.runToken && readExitFile(engine, rec.id));
  // Its watcher died (kill -9): ask the runtime.
  return runtimeStatus(engine, rec) === 'running';
}

export function runtimeStatus(engine: Engine, rec: ContainerRecord): string | undefined {
  if (!hasRuntimeState(engine, rec)) return undefined;
  const r = engine.ns().run(runtimeCommand(engine, rec, 'state', rec.id));
  if (r.code !== 0) return undefined;
  try { return (JSON.parse(r.stdout) as { status?: string }).status; } catch { return undefined; }
}
