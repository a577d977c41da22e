import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpName } from '../../image/store.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/**
 * RUN --mount=type=cache's `sharing`, across builds of any process.
 * Each step using a cache directory holds a flock(2) on `DIR.lock` while
 * it runs: shared users a shared lock, `locked` users an exclusive one
 * (so a second `locked` build waits for the first, as BuildKit's does).
 * `private` takes the directory only when nobody uses it; otherwise the
 * step gets a fresh empty directory of its own, dropped after the step.
 * The lock is held by a small `flock` process (util-linux) whose stdin is
 * ours: when the step ends, or this process dies, the pipe closes and the
 * kernel releases the lock, so a crash leaves no stale lock behind.
 */

export type Sharing = 'shared' | 'private' | 'locked';

export interface HeldCache {
  /** The directory to bind (the cache's own, or a private fresh one). */
  dir: string;
  release(): Promise<void>;
}

const SCRIPTS: Record<Sharing, string> = {
  shared: 'flock -s 9 && echo held',
  locked: 'flock -x 9 && echo held',
  // Alone (an exclusive lock is free) it keeps a shared one, so others see it in use.
  private: 'if flock -n -x 9; then flock -s 9 && echo held; else echo busy; fi',
};

export async function holdCacheDir(engine: Engine, dir: string, sharing: Sharing, signal?: AbortSignal): Promise<HeldCache> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const child = spawn('sh', ['-c', `exec 9>>"$1"; ${SCRIPTS[sharing]} || exit 1; exec cat >/dev/null`, 'sh', `${dir}.lock`], { stdio: ['pipe', 'pipe', 'pipe'] });
  const answer = await lockAnswer(child, signal);
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.stdin!.end();
  });
  if (answer === 'held') return { dir, release: stop };
  await stop();
  // In use and private: a directory of this step's own, in the namespace's hands (its files are container users').
  const fresh = join(engine.paths.tmp, tmpName('build-cache-private'));
  mkdirSync(fresh, { mode: 0o755 });
  return {
    dir: fresh,
    release: async () => { await engine.ns().runAsync(['rm', '-rf', fresh]); },
  };
}

function lockAnswer(child: ChildProcess, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onAbort = () => { child.kill('SIGKILL'); };
    signal?.addEventListener('abort', onAbort);
    child.stdin!.on('error', () => { /* the lock holder ended: its status says why */ });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        signal?.removeEventListener('abort', onAbort);
        resolve(out.trim());
      }
    });
    child.on('error', (e) => reject(new EngineError(`cannot lock the cache mount: ${e.message}`)));
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new EngineError('build interrupted', 130));
      else if (!out.includes('\n')) reject(new EngineError(`cannot lock the cache mount: ${err.trim().split('\n').pop() || `flock exit ${code}`}`));
    });
  });
}
