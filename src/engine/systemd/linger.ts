import { existsSync } from 'node:fs';
import type { Identity } from '../../rootless/identity.js';

/** Where logind keeps the users whose manager runs without a login (loginctl enable-linger). */
export const LINGER_DIR = '/var/lib/systemd/linger';

/**
 * `system check`'s lingering item: without it the user's systemd manager,
 * and every container it runs (generate systemd's units, or a container
 * started in a login session), ends at logout and does not come back at
 * boot.
 */
export function checkLinger(id: Identity): { item: string; status: 'ok' | 'warn'; required: boolean; detail: string; fix?: string } {
  if (id.uid === 0) return { item: 'lingering', status: 'ok', required: false, detail: 'root: the system manager runs its units' };
  if (existsSync(`${LINGER_DIR}/${id.name}`)) return { item: 'lingering', status: 'ok', required: false, detail: `on for ${id.name}: your systemd user manager runs without a login, from boot` };
  return {
    item: 'lingering',
    status: 'warn',
    required: false,
    detail: `off for ${id.name}: your containers and their systemd units stop when you log out, and do not start at boot`,
    fix: `loginctl enable-linger ${id.name}`,
  };
}
