import { createRequire } from 'node:module';
import type { Services } from '../engine/index.js';
import { describeError } from './report.js';
import { trace } from '../util/trace.js';

const require = createRequire(import.meta.url);

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

let opened: Services | undefined;

/**
 * The engine's services, opened once per process. A lost or damaged state
 * database is refused (one line naming `system recover`), except for the
 * commands that deal with exactly that (`fresh: 'allow'`).
 */
export async function services(opts: { fresh?: 'refuse' | 'allow' } = {}): Promise<Services> {
  if (!opened) {
    // Loaded here: a command that fails to parse, or needs no engine, does not initialise it.
    const { openServices } = await import('../engine/index.js');
    opened = await openServices(opts);
    trace('engine opened');
  }
  return opened;
}

/**
 * A command over several names, as Docker runs it: each is tried, a failure
 * is reported and the others go on, and the exit status is 1 at the end.
 * `fn` returns what to print for a name, if anything.
 */
export async function eachName(names: string[], fn: (svc: Services, name: string) => Promise<string | undefined> | string | undefined): Promise<void> {
  const svc = await services();
  let failed = false;
  for (const r of await svc.each(names, (name) => fn(svc, name))) {
    if (r.error !== undefined) {
      process.stderr.write(`${describeError(r.error).line}\n`);
      failed = true;
    } else if (r.value !== undefined) {
      process.stdout.write(`${r.value}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

/** Forgets the engine without closing its database (see main.ts). */
export function releaseEngine(): void {
  opened = undefined;
}

/** Reads y/N from stdin (Docker's prompt, e.g. for prune); anything but y or yes is no. */
export async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  // require, not import(): the bundle runs as a script that cannot load modules dynamically; and only prune asks.
  const { createInterface } = require('node:readline') as typeof import('node:readline');
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
