import { Engine } from '../engine/engine.js';

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

let engine: Engine | undefined;

/** Opens the user's engine once per process. */
export function openEngine(): Engine {
  return (engine ??= Engine.open());
}

export function closeEngine(): void {
  engine?.close();
  engine = undefined;
}
