import type { Engine } from '../engine.js';
import type { SystemdRequest, SystemdUnit } from './units.js';

export type { SystemdRequest, SystemdUnit, SystemdRestart } from './units.js';
export { SYSTEMD_RESTART } from './units.js';

/** systemd units for containers and pods (`generate systemd`); lingering is judged by `system check`. */
export class SystemdService {
  constructor(private readonly engine: Engine) {}

  async generate(ref: string, req: SystemdRequest): Promise<SystemdUnit> {
    const { generateUnit } = await import('./units.js');
    return generateUnit(this.engine, ref, req);
  }
}
