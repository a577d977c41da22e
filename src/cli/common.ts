import { Engine } from '../engine/engine.js';
import { trace } from '../util/trace.js';

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

let engine: Engine | undefined;

/** Opens the user's engine once per process. */
export async function openEngine(): Promise<Engine> {
  if (!engine) {
    engine = await Engine.open();
    trace('engine opened');
  }
  return engine;
}

/** Forgets the engine without closing its database (see main.ts). */
export function releaseEngine(): void {
  engine = undefined;
}
