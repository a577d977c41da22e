import type { Engine } from '../engine.js';
import type { SystemdRequest, SystemdUnit } from './units.js';
import type { ApiUnitsRequest } from './api-units.js';

export type { SystemdRequest, SystemdUnit, SystemdRestart } from './units.js';
export type { ApiUnitsRequest } from './api-units.js';
export { SYSTEMD_RESTART } from './units.js';
export { API_UNIT_MARK } from './api-units.js';

/** systemd units for containers and pods (`generate systemd`) and for the API socket (`system service --install`); lingering is judged by `system check`. */
export class SystemdService {
  constructor(private readonly engine: Engine) {}

  async generate(ref: string, req: SystemdRequest): Promise<SystemdUnit> {
    const { generateUnit } = await import('./units.js');
    return generateUnit(this.engine, ref, req);
  }

  /** The socket and service units of `system service --install`. */
  async apiUnits(req: ApiUnitsRequest): Promise<SystemdUnit[]> {
    const { apiUnits } = await import('./api-units.js');
    return apiUnits(req);
  }
}
