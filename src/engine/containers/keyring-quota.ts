import { isKeyringQuotaError, keyQuotaFull, keyQuotaMessage, readKeyQuota } from '../../runtime/keyring.js';
import type { Engine } from '../engine.js';
import { EngineError } from '../../util/errors.js';

/** Whether containers get a session keyring of their own (`[containers] keyring`, default true). */
export function keyringPerContainer(engine: Engine): boolean {
  return engine.config.containers.keyring !== false;
}

/**
 * Refuses a start whose keyring the kernel would refuse, before anything is
 * set up for it: the runtime's own message would also reach the terminal
 * of a foreground run. A start racing another for the last key still fails
 * in the runtime, and explainRuntimeFailure words that alike.
 */
export function checkKeyQuota(engine: Engine): void {
  if (!keyringPerContainer(engine)) return;
  const q = readKeyQuota(engine.id.uid);
  if (q && keyQuotaFull(q)) throw new EngineError(keyQuotaMessage(q));
}

/** The runtime's failure, or for the key quota ours: what is full and how to fix it. */
export function explainRuntimeFailure(engine: Engine, message: string): string {
  return isKeyringQuotaError(message) ? keyQuotaMessage(readKeyQuota(engine.id.uid)) : message;
}
