import type { runningLimit } from '../policy/evaluate.js';
import type { ContainerRecord, ContainerStore } from './store.js';

export { runningAdmission } from '../policy/check.js';

/**
 * After a start move that did not apply under the policy's running limit:
 * the policy's refusal when the limit was why (another start took the last
 * place meanwhile); otherwise nothing, and the caller goes on as before.
 */
export function refuseOverLimit(store: ContainerStore, rec: ContainerRecord, limit: ReturnType<typeof runningLimit>, what = `start ${rec.name}`): void {
  if (!limit) return;
  const running = store.countRunning(rec.id);
  if (running >= limit.max) throw limit.refuse(running, what);
}
