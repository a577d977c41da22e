import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, processStartTime } from '../../util/proc.js';
import { runtimeCommand } from './bundle.js';
import { containerDir } from './paths.js';
import type { HealthCheck } from './spec.js';
import { isRunning } from './running.js';
import { ContainerStore, type ContainerRecord, type HealthResult, type HealthState } from './store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

const KEEP_RESULTS = 5;
const MAX_OUTPUT = 4096;

/** Docker's verdict after one probe: failures count only after the start period, `retries` in a row make it unhealthy. */
export function nextHealth(prev: HealthState | undefined, check: HealthCheck, result: HealthResult, startedAt: number): HealthState {
  const log = [...(prev?.log ?? []), result].slice(-KEEP_RESULTS);
  if (result.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  const inStartPeriod = Date.parse(result.start) - startedAt < check.startPeriodMs;
  if (inStartPeriod && prev?.status !== 'healthy') return { status: prev?.status ?? 'starting', failingStreak: prev?.failingStreak ?? 0, log };
  const streak = (prev?.failingStreak ?? 0) + 1;
  return { status: streak >= check.retries ? 'unhealthy' : (prev?.status ?? 'starting'), failingStreak: streak, log };
}

/** Runs the probe in the container (`runc exec` with the container's own env and user), within its timeout. */
function probe(engine: Engine, rec: ContainerRecord, check: HealthCheck): Promise<HealthResult> {
  const argv = check.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', check.test[1] ?? ''] : check.test.slice(1);
  const args = [...engine.ns().nsenterArgs(), '--', ...runtimeCommand(engine, rec, 'exec', rec.id, ...argv)];
  const start = new Date();
  return new Promise((resolve) => {
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer) => { if (output.length < MAX_OUTPUT) output += d.toString('utf8'); };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // runc passes SIGTERM on to the probe; SIGKILL would only end runc.
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 1000).unref();
    }, check.timeoutMs);
    const done = (code: number) => {
      clearTimeout(timer);
      resolve({
        start: start.toISOString(),
        end: new Date().toISOString(),
        exitCode: timedOut ? -1 : code,
        output: timedOut ? `Health check exceeded timeout (${check.timeoutMs / 1000}s)` : output.slice(0, MAX_OUTPUT),
      });
    };
    child.on('error', () => done(125));
    child.on('close', (code) => done(code ?? 1));
  });
}

/** `healthcheck run`: one probe now; records and returns the verdict. */
export async function runHealthcheck(engine: Engine, rec: ContainerRecord): Promise<HealthState> {
  const check = rec.spec.health;
  if (!check) throw new EngineError(`container ${rec.name} has no health check`);
  if (!isRunning(engine, rec)) throw new EngineError(`container ${rec.name} is not running`);
  const result = await probe(engine, rec, check);
  const store = new ContainerStore(engine.db);
  // Read again: another probe or a restart may have changed it meanwhile.
  const cur = store.get(rec.id);
  if (!cur || cur.state !== 'running') return nextHealth(rec.health, check, result, rec.startedAt ?? Date.now());
  const next = nextHealth(cur.health, check, result, cur.startedAt ?? Date.now());
  store.saveHealth(rec.id, next);
  return next;
}

/**
 * Without a daemon, a small shell loop per container runs the probe every
 * interval (a fraction of a MiB; rootlet itself only while probing) and
 * ends with the process it watches: the container's conmon, or the
 * foreground rootlet.
 */
export function startHealthTimer(engine: Engine, rec: ContainerRecord, watchPid: number): void {
  const check = rec.spec.health;
  if (!check) return;
  // Alive means present and not a zombie: an exited conmon may wait a while to be reaped.
  const script = 'alive() { s=$(cat /proc/$1/stat 2>/dev/null) || return 1; s=${s##*) }; [ "${s%% *}" != Z ]; }; ' +
    'while alive "$1"; do sleep "$2"; alive "$1" || exit 0; "$3" "$4" healthcheck run "$5" >/dev/null 2>&1; done';
  const [node, cli] = engine.cliCommand([]);
  const child = spawn('sh', ['-c', script, 'rootlet-health', String(watchPid), (check.intervalMs / 1000).toString(), node!, cli!, rec.id], {
    detached: true,
    stdio: 'ignore',
    env: engine.helperEnv(),
  });
  child.unref();
  // Its process group (it sleeps through long intervals) is ended with the container: see stopHealthTimer.
  if (child.pid) writeFileSync(timerFile(engine, rec.id), `${child.pid} ${processStartTime(child.pid) ?? 0}\n`);
}

function timerFile(engine: Engine, id: string): string {
  return join(containerDir(engine, id), 'health-timer');
}

/** Ends the container's health timer, if it has one, at once rather than at its next wake-up. */
export function stopHealthTimer(engine: Engine, id: string): void {
  let pid = 0;
  let start = 0;
  try {
    [pid, start] = readFileSync(timerFile(engine, id), 'utf8').trim().split(' ').map(Number) as [number, number];
  } catch {
    return;
  }
  if (pid && isProcessAlive(pid, start || undefined)) {
    try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
  }
  rmSync(timerFile(engine, id), { force: true });
}
